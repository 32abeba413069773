package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.Netlink;
import io.egressgateway.datapath.net.NetlinkSocket;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Netlink sockets opened in a namespace of the test's own, against the running kernel: a route socket there
 * lists that namespace's links (not the host's), the generic netlink controller answers there, the calling
 * thread stays where it was, and WireGuard devices read over netlink read as {@code wg show} reads them
 * where the kernel has WireGuard; where it has none, the reader says so and the kernel backend falls back.
 */
@Tag("privileged")
class WgNetlinkPrivilegedTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final Path NETNS_DIR = Path.of("/var/run/netns");
  private static final int RTM_GETLINK = 18;
  private static final int RTM_NEWLINK = 16;
  private static final int IFLA_IFNAME = 3;
  private final CommandRunner cmd = new CommandRunner();
  private final String ns = "egwt-nl-" + Privileged.suffix();

  @BeforeEach
  void setUp() {
    Privileged.namespaceWithVeth(cmd, ns, "egwtnl0", "egwtnl1");
  }

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, ns);
  }

  private static Path threadNetns() throws Exception {
    return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"));
  }

  @Test
  void aRouteSocketOpenedInTheNamespaceListsItsLinksOnly() throws Exception {
    Path before = threadNetns();
    Set<String> names = new TreeSet<>();
    try (NetlinkSocket s = NetlinkSocket.open(NETNS_DIR.resolve(ns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      for (Netlink.Message m : s.exchange(seq -> Netlink.request(RTM_GETLINK, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP,
          seq, new byte[16]), TIMEOUT)) {
        assertEquals(RTM_NEWLINK, m.type());
        for (Netlink.Attr a : m.attrs(16)) { // after struct ifinfomsg
          if (a.type() == IFLA_IFNAME) {
            names.add(a.string());
          }
        }
      }
    }
    assertEquals(Set.of("egwtnl0", "egwtnl1", "lo"), names);
    assertEquals(before, threadNetns(), "the calling thread did not move");
  }

  @Test
  void theControllerAnswersInTheNamespaceAndAMissingNamespaceIsNamed() throws Exception {
    try (NetlinkSocket s = NetlinkSocket.open(NETNS_DIR.resolve(ns), NetlinkSocket.NETLINK_GENERIC, TIMEOUT)) {
      assertEquals(Netlink.GENL_ID_CTRL, Netlink.familyId(s.exchange(seq -> Netlink.familyRequest(seq, "nlctrl"), TIMEOUT)));
      NetlinkException none = assertThrows(NetlinkException.class,
          () -> s.exchange(seq -> Netlink.familyRequest(seq, "egwtnofamily"), TIMEOUT));
      assertEquals(NetlinkSocket.ENOENT, none.errno());
      // the socket goes on answering after a refusal
      assertEquals(Netlink.GENL_ID_CTRL, Netlink.familyId(s.exchange(seq -> Netlink.familyRequest(seq, "nlctrl"), TIMEOUT)));
    }
    NetlinkException missing = assertThrows(NetlinkException.class,
        () -> NetlinkSocket.open(NETNS_DIR.resolve(ns + "-missing"), NetlinkSocket.NETLINK_GENERIC, TIMEOUT));
    assertEquals(NetlinkSocket.ENOENT, missing.errno());
    assertTrue(missing.getMessage().contains(ns + "-missing"), missing.getMessage());
  }

  @Test
  void wireGuardDevicesReadAsWgShowReadsThemOrTheKernelSaysItHasNone() throws Exception {
    AtomicLong now = new AtomicLong();
    try (WgNetlink netlink = new WgNetlink(NETNS_DIR, TIMEOUT, Duration.ofSeconds(3), now::get)) {
      boolean kernelWireGuard = cmd.attempt(Net.ip(ns, "link", "add", "egwtkwg0", "type", "wireguard")).ok();
      if (!kernelWireGuard) {
        assertThrows(WgNetlink.NoWireGuard.class, () -> netlink.dump(ns, "egwtkwg0"));
        assertEquals(0, netlink.openCount(), "a socket that cannot read WireGuard is not kept");
        KernelWireGuard kernel = new KernelWireGuard(cmd, netlink);
        // falls back to wg show, which fails for want of the device as it always did
        assertThrows(RuntimeException.class, () -> kernel.dump(WgDevice.created("egwtkwg0", ns)));
        return;
      }
      // a peer on the namespace's own loopback: nothing leaves the namespace
      Path key = Files.createTempFile("egwt-nl", ".key");
      try {
        Files.writeString(key, WgKeys.generate().privateKey());
        String peer = WgKeys.generate().publicKey();
        cmd.run(CommandRunner.inNetns(ns, java.util.List.of("wg", "set", "egwtkwg0", "private-key", key.toString(),
            "listen-port", "40123", "peer", peer, "endpoint", "127.0.0.1:40124", "allowed-ips", "10.244.0.0/16,10.245.1.1/32",
            "persistent-keepalive", "1")));
      } finally {
        Files.deleteIfExists(key);
      }
      WgDump byWg = WgDump.parse(cmd.run(CommandRunner.inNetns(ns, java.util.List.of("wg", "show", "egwtkwg0", "dump"))).stdout());
      WgDump byNetlink = netlink.dump(ns, "egwtkwg0");
      assertEquals(byWg.publicKey(), byNetlink.publicKey());
      assertEquals(40123, byNetlink.listenPort());
      assertEquals(byWg.peers().keySet(), byNetlink.peers().keySet());
      byWg.peers().forEach((k, p) -> {
        WgDump.Peer q = byNetlink.peers().get(k);
        assertEquals(p.endpoint(), q.endpoint());
        assertEquals(Set.copyOf(p.allowedIps()), Set.copyOf(q.allowedIps()));
        assertEquals(p.keepaliveSeconds(), q.keepaliveSeconds());
      });
      assertEquals(1, netlink.openCount(), "one socket kept for the namespace");
      netlink.dump(ns, "egwtkwg0");
      assertEquals(1, netlink.openCount());
      assertThrows(NetlinkException.class, () -> netlink.dump(ns, "egwtnl0"), "a link that is not WireGuard");
      netlink.dump(ns, "egwtkwg0");
      now.addAndGet(Duration.ofSeconds(4).toNanos());
      netlink.sweep();
      assertEquals(0, netlink.openCount(), "an idle socket is closed (it would hold the namespace)");
      netlink.dump(ns, "egwtkwg0");
      netlink.forget(ns);
      assertEquals(0, netlink.openCount());
    }
  }
}
