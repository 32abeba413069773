package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.HostileValues;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.NextHop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The typed builders on a real namespace: valid values make the same routes, rules and nft table as before;
 * the hostile shape of issue 14 (a CIDR carrying {@code \nnetns exec <ns> <command>}) cannot be written
 * into a batch, so the command never runs and no namespace is touched.
 */
@Tag("privileged")
class IpBatchPrivilegedTest {
  private final CommandRunner cmd = new CommandRunner();
  private final String sfx = Privileged.suffix();
  private final NetnsName ns = NetnsName.parse("egwt-batch-" + sfx);
  private final Path marker = Path.of(System.getProperty("java.io.tmpdir"), "egwt-pwned-" + sfx);

  @BeforeEach
  void setUp() {
    Privileged.require();
    Net.ensureNetns(cmd, ns.value());
  }

  @AfterEach
  void tearDown() throws Exception {
    Net.deleteNetns(cmd, ns.value());
    Files.deleteIfExists(marker);
  }

  @Test
  void validValuesProgramTheNamespaceAndHostileOnesNeverReachIt() {
    cmd.run(Net.ip(ns.value(), "link", "add", "egwt0", "type", "veth", "peer", "name", "egwt1"));
    cmd.run(Net.ip(ns.value(), "link", "set", "egwt0", "up"));
    cmd.run(Net.ip(ns.value(), "addr", "add", Ipv4Address.parse("169.254.1.2").host().toString(), "dev", "egwt0"));
    IpBatch b = new IpBatch()
        .ruleAddFwmark(8738, 0x2222, 8738)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, IfName.parse("egwt0"), 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.20.0/24"), NextHop.parse("169.254.1.1"), IfName.parse("egwt0"), 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"), IfName.parse("egwt0"), 8738, 77);
    b.run(cmd, ns);
    String routes = cmd.run(Net.ip(ns.value(), "-4", "route", "show", "table", "all", "proto", "77")).stdout();
    assertTrue(routes.contains("198.18.20.0/24 via 169.254.1.1 dev egwt0"), routes);
    assertTrue(routes.contains("default via 169.254.1.1 dev egwt0 table 8738"), routes);
    assertTrue(cmd.run(Net.ip(ns.value(), "rule", "show", "pref", "8738")).stdout().contains("fwmark 0x2222 lookup 8738"));

    Nft.replaceTable(cmd, ns.value(), "ip", "egwt_snat", Nft.snatBody(IfName.parse("egwt0"), Ipv4Address.parse("169.254.1.2")));
    assertTrue(Nft.listTable(cmd, ns.value(), "ip", "egwt_snat").contains("snat to 169.254.1.2"));

    List<String> before = Net.listNetns(cmd);
    String attack = "198.18.21.0/24\nnetns exec " + ns.value() + " touch " + marker;
    assertThrows(IllegalArgumentException.class, () -> Ipv4Cidr.parse(attack));
    for (String bad : HostileValues.around("198.18.21.0/24")) {
      assertThrows(IllegalArgumentException.class, () -> new IpBatch().route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse(bad), null,
          IfName.parse("egwt0"), 254, 77), bad);
      if (bad.chars().anyMatch(c -> c <= ' ' || Character.isSpaceChar(c))) {
        assertThrows(IllegalArgumentException.class, () -> cmd.run(Net.ip(ns.value(), "route", "replace", bad, "dev", "egwt0")), bad);
      }
    }
    assertFalse(Files.exists(marker), "no command of a hostile value ran");
    assertEquals(before, Net.listNetns(cmd));
    assertEquals(routes, cmd.run(Net.ip(ns.value(), "-4", "route", "show", "table", "all", "proto", "77")).stdout(),
        "the namespace's routes are what the valid batch made");
  }
}
