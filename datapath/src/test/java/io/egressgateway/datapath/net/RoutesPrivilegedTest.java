package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.NextHop;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Routes and rules over rtnetlink against {@code ip} on the same kernel: the same batch made both ways leaves two
 * namespaces with the same routes and rules; the read finds what {@code ip} lists; the kernel's refusals stop a
 * batch as they stop {@code ip -batch}, and a forced batch goes past them as {@code ip -force -batch} does.
 */
@Tag("privileged")
class RoutesPrivilegedTest {
  private final CommandRunner cmd = new CommandRunner();
  private final String sfx = Privileged.suffix();
  private final NetnsName viaNetlink = NetnsName.parse("egwt-rtn-" + sfx);
  private final NetnsName viaIp = NetnsName.parse("egwt-rti-" + sfx);
  private static final Path NETNS = Path.of("/var/run/netns");
  private static final IfName DEV = IfName.parse("egwt0");

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, viaNetlink.value());
    Net.deleteNetns(cmd, viaIp.value());
  }

  private void namespace(NetnsName ns) {
    Privileged.namespaceWithVeth(cmd, ns.value(), "egwt0", "egwt1");
    cmd.run(Net.ip(ns.value(), "link", "set", "egwt0", "up"));
    cmd.run(Net.ip(ns.value(), "link", "set", "egwt1", "up"));
    cmd.run(Net.ip(ns.value(), "addr", "add", "10.244.1.5/32", "dev", "egwt0"));
    // a route of someone else's, which nothing here may touch
    cmd.run(Net.ip(ns.value(), "route", "add", "192.0.2.0/24", "dev", "egwt1"));
  }

  /** A pod's batch: the reply rule, on-link gateway, a route via it, the tunnel default (IPv6 next hop), the reply table. */
  private static IpBatch podBatch() {
    return new IpBatch()
        .ruleAddFwmark(8738, 0x2222, 8738)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, DEV, 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.20.0/24"), NextHop.parse("169.254.1.1"), DEV, 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.169.254/32"), NextHop.parse("169.254.1.1"), DEV, 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.TUNNEL, IfName.parse("egwt1"), 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"), DEV, 8738, 77);
  }

  private String state(NetnsName ns) {
    return cmd.run(Net.ip(ns.value(), "-4", "route", "show", "table", "all")).stdout()
        + cmd.run(Net.ip(ns.value(), "-4", "rule", "show")).stdout();
  }

  @Test
  void aBatchOverNetlinkLeavesWhatIpLeavesAndIsReadBackAsIpListsIt() throws Exception {
    namespace(viaNetlink);
    namespace(viaIp);
    IpBatch batch = podBatch();
    List<Routes.Outcome> out = Routes.apply(NETNS, viaNetlink.value(), batch.ops(), false, n -> { });
    assertTrue(out.stream().allMatch(Routes.Outcome::done), out.toString());
    // a runner whose commands act elsewhere gets them: Net's fallback, one ip -batch
    CommandRunner elsewhere = cmd.within(List.of("env"));
    Net.changeRoutes(elsewhere, viaIp, batch, false);
    assertEquals(Optional.empty(), Net.ownedRoutes(elsewhere, viaIp, 8738, 77), "read with ip by the caller");
    assertEquals(state(viaIp), state(viaNetlink));
    assertTrue(state(viaNetlink).contains("default via inet6 fe80::1 dev egwt1 proto 77"), state(viaNetlink));

    Routes.Owned read = Routes.read(NETNS, viaNetlink.value(), 8738, 77);
    assertTrue(read.rule());
    assertEquals(List.of(
        new Routes.Entry("0.0.0.0/0", "inet6 fe80::1", "egwt1", 254),
        new Routes.Entry("169.254.1.1/32", "", "egwt0", 254),
        new Routes.Entry("169.254.169.254/32", "169.254.1.1", "egwt0", 254),
        new Routes.Entry("198.18.20.0/24", "169.254.1.1", "egwt0", 254),
        new Routes.Entry("0.0.0.0/0", "169.254.1.1", "egwt0", 8738)).stream().sorted(ORDER).toList(),
        read.routes().stream().sorted(ORDER).toList());
    assertEquals(cmd.run(Net.ip(viaNetlink.value(), "-4", "route", "show", "table", "all", "proto", "77")).stdout().strip().lines().count(),
        read.routes().size(), "as many as ip lists");
    assertFalse(Routes.read(NETNS, viaNetlink.value(), 8739, 77).rule());
    assertEquals(List.of(), Routes.read(NETNS, viaNetlink.value(), -1, 78).routes());
    assertEquals(Optional.of(read), Net.ownedRoutes(cmd, viaNetlink, 8738, 77));
  }

  private static final java.util.Comparator<Routes.Entry> ORDER =
      java.util.Comparator.comparing(Routes.Entry::dst).thenComparing(Routes.Entry::table);

  @Test
  void aRefusalStopsTheBatchAndAForcedOneGoesPastIt() throws Exception {
    namespace(viaNetlink);
    namespace(viaIp);
    Net.changeRoutes(cmd, viaNetlink, podBatch(), false);
    podBatch().run(cmd, viaIp);
    // the rule again: EEXIST stops the batch before the route after it, as ip -batch stops
    IpBatch again = new IpBatch().ruleAddFwmark(8738, 0x2222, 8738)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.30.0/24"), NextHop.parse("169.254.1.1"), DEV, 254, 77);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Net.changeRoutes(cmd, viaNetlink, again, false));
    assertTrue(e.getMessage().contains("rule add pref 8738") && e.getMessage().contains("File exists"), e.getMessage());
    assertFalse(again.attempt(cmd, viaIp).ok());
    assertEquals(state(viaIp), state(viaNetlink));
    assertFalse(state(viaNetlink).contains("198.18.30.0"));

    // a forced delete of everything of ours, then again with all of it already gone: nothing thrown either time
    IpBatch delete = new IpBatch().ruleDel(8738);
    for (Routes.Entry r : Routes.read(NETNS, viaNetlink.value(), -1, 77).routes()) {
      delete.route(IpBatch.RouteVerb.DEL, Ipv4Cidr.parse(r.dst()), r.via().isEmpty() ? null : NextHop.parse(r.via()),
          IfName.parse(r.dev()), r.table(), 77);
    }
    Net.changeRoutes(cmd, viaNetlink, delete, true);
    Net.changeRoutes(cmd, viaNetlink, delete, true);
    delete.attempt(cmd, viaIp, "-force");
    assertEquals(state(viaIp), state(viaNetlink));
    assertEquals(new Routes.Owned(false, List.of()), Net.ownedRoutes(cmd, viaNetlink, 8738, 77).orElseThrow());
    assertTrue(state(viaNetlink).contains("192.0.2.0/24 dev egwt1"), "the route that is not ours stays");

    // a route through a device that is not there: refused with the kernel's word, nothing made
    IpBatch noDevice = new IpBatch().route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.40.0/24"), null, IfName.parse("egwt9"), 254, 77);
    assertThrows(IllegalStateException.class, () -> Net.changeRoutes(cmd, viaNetlink, noDevice, false));

    // a namespace that is gone: forced, nothing to do; else the failure is thrown, as ip -n fails
    NetnsName gone = NetnsName.parse("egwt-rtg-" + sfx);
    Net.changeRoutes(cmd, gone, delete, true);
    assertThrows(IllegalStateException.class, () -> Net.changeRoutes(cmd, gone, again, false));
    assertThrows(IllegalStateException.class, () -> Net.ownedRoutes(cmd, gone, 8738, 77));
  }
}
