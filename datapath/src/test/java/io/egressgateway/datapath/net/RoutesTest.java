package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NextHop;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rtnetlink route and rule messages as {@code linux/rtnetlink.h} and {@code fib_rules.h} lay them out (no socket). */
class RoutesTest {
  private static final IfName WG0 = IfName.parse("wg0");
  private static final IfName ETH0 = IfName.parse("eth0");

  private static Netlink.Message one(byte[] request) {
    List<Netlink.Message> m = Netlink.split(ByteBuffer.wrap(request));
    assertEquals(1, m.size());
    return m.get(0);
  }

  private static Map<Integer, Netlink.Attr> attrs(Netlink.Message m) {
    Map<Integer, Netlink.Attr> out = new java.util.LinkedHashMap<>();
    m.attrs(Routes.RTMSG).forEach(a -> out.put(a.type(), a));
    return out;
  }

  @Test
  void aReplaceThroughTheTunnelIsAUnicastRouteWithAnIpv6NextHop() {
    IpBatch.RouteOp op = new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.TUNNEL, WG0, 254, 77);
    Netlink.Message m = one(Routes.request(5, op, 9));
    assertEquals(Routes.RTM_NEWROUTE, m.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | Routes.NLM_F_CREATE | Routes.NLM_F_REPLACE, m.flags());
    ByteBuffer p = m.payload();
    assertEquals(Routes.AF_INET, p.get(0));
    assertEquals(0, p.get(1), "dst_len of the default");
    assertEquals(254, Byte.toUnsignedInt(p.get(4)));
    assertEquals(77, p.get(5), "protocol: our marker");
    assertEquals(Routes.RT_SCOPE_UNIVERSE, p.get(6), "a route with a next hop");
    assertEquals(Routes.RTN_UNICAST, p.get(7));
    Map<Integer, Netlink.Attr> a = attrs(m);
    assertFalse(a.containsKey(Routes.RTA_DST), "the default carries no destination, as ip sends it");
    byte[] via = a.get(Routes.RTA_VIA).bytes();
    assertEquals(18, via.length);
    assertEquals("inet6 fe80::1", Routes.via(via));
    assertEquals(9, a.get(Routes.RTA_OIF).u32());
    assertEquals(254, a.get(Routes.RTA_TABLE).u32());
  }

  @Test
  void anOnLinkRouteHasScopeLinkAndATableAbove255GoesInTheAttributeOnly() {
    IpBatch.RouteOp op = new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, ETH0, 8738, 77);
    Netlink.Message m = one(Routes.request(6, op, 2));
    assertEquals(32, m.payload().get(1));
    assertEquals(0, m.payload().get(4), "rtm_table: unspecified, RTA_TABLE says which");
    assertEquals((byte) Routes.RT_SCOPE_LINK, m.payload().get(6));
    Map<Integer, Netlink.Attr> a = attrs(m);
    assertEquals(8738, a.get(Routes.RTA_TABLE).u32());
    assertEquals("169.254.1.1", ipv4(a.get(Routes.RTA_DST)));
    assertFalse(a.containsKey(Routes.RTA_GATEWAY));
  }

  @Test
  void aDeleteLeavesTypeAndScopeOpenUnlessOnLink() {
    IpBatch.RouteOp via = new IpBatch.RouteOp(IpBatch.RouteVerb.DEL, Ipv4Cidr.parse("198.18.20.0/24"),
        NextHop.parse("169.254.1.1"), ETH0, 254, 77);
    Netlink.Message m = one(Routes.request(7, via, 2));
    assertEquals(Routes.RTM_DELROUTE, m.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, m.flags());
    assertEquals(0, m.payload().get(7), "any type");
    assertEquals((byte) Routes.RT_SCOPE_NOWHERE, m.payload().get(6), "any scope");
    assertEquals(77, m.payload().get(5), "only ours");
    assertEquals("169.254.1.1", ipv4(attrs(m).get(Routes.RTA_GATEWAY)));
    IpBatch.RouteOp onLink = new IpBatch.RouteOp(IpBatch.RouteVerb.DEL, Ipv4Cidr.parse("169.254.1.1/32"), null, ETH0, 254, 77);
    assertEquals((byte) Routes.RT_SCOPE_LINK, one(Routes.request(8, onLink, 2)).payload().get(6));
  }

  @Test
  void rulesAreAddedExclusivelyAndDeletedByPreference() {
    Netlink.Message add = one(Routes.request(1, new IpBatch.RuleAdd(8738, 0x2222, 8738), 0));
    assertEquals(Routes.RTM_NEWRULE, add.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | Routes.NLM_F_CREATE | Routes.NLM_F_EXCL, add.flags());
    assertEquals(Routes.FR_ACT_TO_TBL, add.payload().get(7));
    Map<Integer, Netlink.Attr> a = attrs(add);
    assertEquals(8738, a.get(Routes.FRA_PRIORITY).u32());
    assertEquals(0x2222, a.get(Routes.FRA_FWMARK).u32());
    assertEquals(8738, a.get(Routes.FRA_TABLE).u32());
    Netlink.Message del = one(Routes.request(2, new IpBatch.RuleDel(8738), 0));
    assertEquals(Routes.RTM_DELRULE, del.type());
    assertEquals(List.of(Routes.FRA_PRIORITY), del.attrs(Routes.RTMSG).stream().map(Netlink.Attr::type).toList());
  }

  /** A dump message as the kernel sends one: the request's body under RTM_NEWROUTE. */
  private static Netlink.Message answer(IpBatch.RouteOp op, int oif) {
    byte[] r = Routes.request(1, op, oif);
    ByteBuffer b = ByteBuffer.wrap(r).order(java.nio.ByteOrder.nativeOrder());
    b.putShort(4, (short) Routes.RTM_NEWROUTE);
    return one(r);
  }

  @Test
  void aRouteDumpIsReadAsIpNamesTheRoutesOfOurProtocolOnly() {
    List<Netlink.Message> dump = new ArrayList<>();
    dump.add(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.TUNNEL, WG0, 254, 77), 3));
    dump.add(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"), ETH0, 8738, 77), 2));
    dump.add(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, ETH0, 254, 77), 2));
    dump.add(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("192.0.2.0/24"), NextHop.parse("169.254.1.1"), ETH0, 254, 3), 2));
    dump.add(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("198.18.0.0/15"), null, ETH0, 254, 77), 99));
    assertEquals(List.of(
        new Routes.Entry("0.0.0.0/0", "inet6 fe80::1", "wg0", 254),
        new Routes.Entry("0.0.0.0/0", "169.254.1.1", "eth0", 8738),
        new Routes.Entry("169.254.1.1/32", "", "eth0", 254),
        new Routes.Entry("198.18.0.0/15", "", "", 254)),
        Routes.parseRoutes(dump, 77, Map.of(2, "eth0", 3, "wg0")),
        "another protocol's route is not ours; a device with no name is left empty, as ip leaves no dev");
  }

  /** A rule dump as the kernel sends one: an RTM_NEWRULE per rule, laid out as the request that adds it. */
  private static List<Netlink.Message> ruleDump(IpBatch.RuleAdd... rules) {
    List<Netlink.Message> dump = new ArrayList<>();
    for (IpBatch.RuleAdd r : rules) {
      dump.add(one(Routes.request(dump.size() + 1, r, 0)));
    }
    return dump;
  }

  @Test
  void aRuleIsFoundByItsPreference() {
    List<Netlink.Message> dump = ruleDump(new IpBatch.RuleAdd(32766, 0, 254), new IpBatch.RuleAdd(8738, 0x2222, 8738));
    assertTrue(Routes.parseRule(dump, 8738));
    assertFalse(Routes.parseRule(dump, 8739));
    assertFalse(Routes.parseRule(dump.subList(0, 1), 8738));
  }

  /** An RTM_NEWADDR message for link {@code index}: IFA_ADDRESS {@code peer}, IFA_LOCAL {@code local} (null: left out). */
  private static Netlink.Message address(int index, int len, String peer, String local) {
    ByteBuffer h = Netlink.order(ByteBuffer.allocate(Routes.IFADDRMSG));
    h.put((byte) Routes.AF_INET).put((byte) len).put((byte) 0).put((byte) 0).putInt(index);
    List<byte[]> parts = new ArrayList<>(List.of(h.array()));
    parts.add(Netlink.attr(Routes.IFA_ADDRESS, bytes(peer)));
    if (local != null) {
      parts.add(Netlink.attr(Routes.IFA_LOCAL, bytes(local)));
    }
    return one(Netlink.request(Routes.RTM_NEWADDR, 0, 1, parts.toArray(byte[][]::new)));
  }

  private static byte[] bytes(String ip) {
    return ByteBuffer.allocate(4).putInt(io.egressgateway.datapath.model.Ipv4Address.parse(ip).bits()).array();
  }

  @Test
  void addressesAreTheLocalOnesByDeviceInTheKernelsOrder() {
    Map<String, List<String>> a = Routes.parseAddresses(List.of(
        address(2, 32, "10.224.0.15", null),
        address(3, 24, "10.0.0.2", "10.0.0.1"),
        address(2, 32, "10.224.0.16", "10.224.0.16")), Map.of(2, "host0", 3, "ptp0"));
    assertEquals(List.of("10.224.0.15/32", "10.224.0.16/32"), a.get("host0"));
    assertEquals(List.of("10.0.0.1/24"), a.get("ptp0"), "the local address, not the peer's, as ip shows it");
    assertEquals("10.224.0.15", new Routes.Snapshot(List.of(), List.of(), a).firstAddress("host0"));
    assertEquals("", new Routes.Snapshot(List.of(), List.of(), a).firstAddress("eth9"));
  }

  @Test
  void everyRuleIsReadWithItsPreferenceAndTable() {
    List<Netlink.Message> dump = ruleDump(new IpBatch.RuleAdd(100, 0x1, 100), new IpBatch.RuleAdd(8738, 0x2222, 8738));
    assertEquals(List.of(new Routes.RuleEntry(100, 100), new Routes.RuleEntry(8738, 8738)), Routes.parseRules(dump));
    assertEquals(List.of(new Routes.RouteEntry(new Routes.Entry("0.0.0.0/0", "169.254.1.1", "eth0", 254), Routes.RTN_UNICAST)),
        Routes.parseAllRoutes(List.of(answer(new IpBatch.RouteOp(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"),
            ETH0, 254, 3), 2)), Map.of(2, "eth0")), "any protocol");
  }

  @Test
  void ipv6AddressesAreWrittenAsRfc5952AndInetNtopWriteThem() {
    for (String[] c : List.of(
        new String[] {"fe80::1", "fe80::1"},
        new String[] {"::1", "::1"},
        new String[] {"::", "::"},
        new String[] {"2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
        new String[] {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
        new String[] {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
        new String[] {"fe80:0:0:0:0:0:0:0", "fe80::"})) {
      assertEquals(c[1], Routes.ipv6Text(Routes.ipv6Bytes(c[0])), c[0]);
    }
  }

  private static String ipv4(Netlink.Attr a) {
    return new io.egressgateway.datapath.model.Ipv4Address(a.value().order(java.nio.ByteOrder.BIG_ENDIAN).getInt(0)).toString();
  }
}
