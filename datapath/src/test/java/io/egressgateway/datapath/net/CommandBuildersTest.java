package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.HostileValues;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.NextHop;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.KernelWireGuard;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WgUapi;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command and batch builders refuse hostile values before any process starts (every case below fails
 * in the builder; a refused value never reaches {@code ip}, {@code nft} or {@code wg}), and keep the text
 * they made before for valid ones.
 */
class CommandBuildersTest {
  /** Never runs anything here: every call below is refused before a process would start. */
  private final CommandRunner cmd = new CommandRunner();

  @Test
  void ipBatchLinesAreTheSameAsBeforeForValidValues() {
    IpBatch b = new IpBatch()
        .ruleAddFwmark(8738, 0x2222, 8738)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.20.0/24"), NextHop.parse("169.254.1.1"), IfName.parse("eth0"), 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, IfName.parse("eth0"), 254, 77)
        .route(IpBatch.RouteVerb.DEL, Ipv4Cidr.ANY, NextHop.TUNNEL, IfName.parse("wg0"), 254, 77)
        .ruleDel(8738)
        .ruleShow(8738)
        .routesOfProto(77);
    assertEquals("""
        rule add pref 8738 fwmark 0x2222 lookup 8738
        route replace 198.18.20.0/24 via 169.254.1.1 dev eth0 table 254 proto 77
        route replace 169.254.1.1/32 dev eth0 scope link table 254 proto 77
        route del 0.0.0.0/0 via inet6 fe80::1 dev wg0 table 254 proto 77
        rule del pref 8738
        rule show pref 8738
        route show table all proto 77
        """, b.text());
    assertEquals(7, b.size());
    assertEquals(List.of("ip", "-n", "egwt-a", "-4", "-force", "-batch", "-"), IpBatch.argv(NetnsName.parse("egwt-a"), "-force"));
  }

  @Test
  void ipBatchNumbersOutOfRangeAreRefused() {
    IpBatch b = new IpBatch();
    assertThrows(IllegalArgumentException.class, () -> b.ruleDel(-1));
    assertThrows(IllegalArgumentException.class, () -> b.ruleShow(40000));
    assertThrows(IllegalArgumentException.class, () -> b.routesOfProto(256));
    assertThrows(IllegalArgumentException.class,
        () -> b.route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, null, IfName.parse("eth0"), 0, 77));
    assertTrue(b.isEmpty(), "nothing half-added");
  }

  @Test
  void ipRefusesHostileNamespacesAndArguments() {
    for (String bad : HostileValues.around("egwt-a")) {
      assertThrows(IllegalArgumentException.class, () -> Net.ip(bad, "link", "show"), bad);
      assertThrows(IllegalArgumentException.class, () -> CommandRunner.inNetns(bad, List.of("nft", "list", "ruleset")), bad);
      assertThrows(IllegalArgumentException.class, () -> Net.netnsExists(bad), bad);
      assertThrows(IllegalArgumentException.class, () -> Net.ensureNetns(cmd, bad), bad);
      assertThrows(IllegalArgumentException.class, () -> Net.deleteNetns(cmd, bad), bad);
    }
    for (String bad : List.of("10.0.0.1/32\nnetns exec x id", "eth0 up", "a\tb", "a\u0000", "\r", " ")) {
      assertThrows(IllegalArgumentException.class, () -> Net.ip("egwt-a", "addr", "replace", bad), bad);
    }
    for (String bad : HostileValues.around("wg0")) {
      assertThrows(IllegalArgumentException.class, () -> Net.link(cmd, "egwt-a", bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> Net.sysctl(cmd, "egwt-a", "net.ipv4.ip_forward", "1\nkernel.x=1"));
    assertThrows(IllegalArgumentException.class, () -> Net.sysctl(cmd, "egwt-a", "../../x", "1"));
    assertThrows(IllegalArgumentException.class, () -> Net.ip("egwt-a", "-4", "-batch", "-"), "batches only through IpBatch");
    assertThrows(IllegalArgumentException.class, () -> Net.ip("egwt-a", "-b", "-"));
    assertThrows(IllegalArgumentException.class, () -> IpBatch.argv(NetnsName.parse("egwt-a"), "-batch", "/tmp/x"));
    assertEquals(List.of("ip", "-n", "egwt-a", "addr", "replace", "10.0.0.1/32", "dev", "host0"),
        Net.ip("egwt-a", "addr", "replace", "10.0.0.1/32", "dev", "host0"));
  }

  @Test
  void anyCommandWithAControlCharacterInAnArgumentIsRefusedBeforeItStarts() {
    for (String bad : List.of("x\ny", "x\u0000", "\u001b[2J", "x\ry", "\u007f")) {
      assertThrows(IllegalArgumentException.class, () -> cmd.attempt(List.of("true", bad)), bad);
      assertThrows(IllegalArgumentException.class, () -> cmd.run(List.of("true", bad)), bad);
    }
  }

  @Test
  void nftTakesOurTableNamesAndTypedSnatValuesOnly() {
    for (String bad : HostileValues.around("egress_gateway")) {
      assertThrows(IllegalArgumentException.class, () -> Nft.replaceTable(cmd, "egwt-a", "ip", bad, ""), bad);
      assertThrows(IllegalArgumentException.class, () -> Nft.listTable(cmd, "egwt-a", "ip", bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> Nft.replaceTable(cmd, "egwt-a", "ip\nflush ruleset", "t", ""));
    assertEquals("  chain postrouting {\n"
        + "    type nat hook postrouting priority srcnat; policy accept;\n"
        + "    oifname \"host0\" ip saddr != 10.224.0.15 snat to 10.224.0.15\n"
        + "  }", Nft.snatBody(IfName.parse("host0"), Ipv4Address.parse("10.224.0.15")));
  }

  @Test
  void dropCountersAreSummedFromTheTableListing() {
    String listing = """
        table ip egress_gateway {
        	chain postrouting {
        		type nat hook postrouting priority srcnat; policy accept;
        		oifname "host0" ip saddr != 10.224.0.15 snat to 10.224.0.15
        	}
        	chain forward {
        		type filter hook forward priority filter; policy accept;
        		ct state invalid counter packets 12 bytes 960 drop
        		iifname "wg0" counter packets 30 bytes 9000 accept
        		ip daddr 10.0.0.1 counter packets 5 bytes 300 drop
        	}
        }
        """;
    assertEquals(17, Nft.droppedPackets(listing), "drop rules only, not the accept rule's counter");
    assertEquals(0, Nft.droppedPackets(""));
    assertTrue(Nft.dropInvalidBody().contains("ct state invalid counter drop"));
  }

  @Test
  void wireGuardPathsRefuseHostileKeysNamesAndNamespaces() {
    String key = WgKeys.generate().publicKey();
    for (String bad : HostileValues.around("egwt-a")) {
      assertThrows(IllegalArgumentException.class, () -> WgDevice.created("egw0", bad), bad);
    }
    for (String bad : HostileValues.around("egw0")) {
      assertThrows(IllegalArgumentException.class, () -> WgDevice.created(bad, ""), bad);
      assertThrows(IllegalArgumentException.class, () -> new GoWireGuard(cmd).create("", bad), bad);
    }
    WgDevice d = WgDevice.created("egw0", "egwt-a");
    for (WireGuardBackend wg : List.<WireGuardBackend>of(new GoWireGuard(cmd), new KernelWireGuard(cmd))) {
      for (String bad : HostileValues.around(key)) {
        assertThrows(IllegalArgumentException.class, () -> wg.removePeer(d, bad), wg.kind() + " " + bad);
      }
    }
    for (String bad : HostileValues.around(key)) {
      assertThrows(IllegalArgumentException.class, () -> WgUapi.removeBody(bad), bad);
    }
    String body = WgUapi.peerBody(new WgPeer(key, List.of("10.244.1.10/32"), "10.224.0.100:6000", 5));
    assertTrue(body.lines().allMatch(l -> l.matches("[a-z_]+=[0-9a-f.:/]+|replace_allowed_ips=true")), body);
    assertThrows(IllegalArgumentException.class,
        () -> WgUapi.peerBody(new WgPeer(key, List.of(), "gw.example.com:6000", 0)), "UAPI takes literal endpoints only");
  }
}
