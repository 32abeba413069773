package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class GatewayPlannerTest {
  private static final String A = "aaaaaaaa-0001";
  private static final String B = "bbbbbbbb-0002";

  private static ConfigDatapath want(String uid, Map<String, String> peers) {
    return new ConfigDatapath(uid, 6000, "10.224.0.5", "10.224.0.15", "", "GWPUB", "sgw-" + uid, peers);
  }

  private static ObservedConfig seen(String uid, Map<String, String> peers) {
    return new ObservedConfig(uid, "10.224.0.15", "10.224.0.5", "10.224.0.15", true, true, true, true, 6000, "GWPUB", peers);
  }

  @Test
  void nothingToDoWhenEverythingMatches() {
    Map<String, String> p = Map.of("k1", "10.244.0.1/32");
    assertEquals(List.of(), GatewayPlanner.plan(Map.of(A, want(A, p)), Map.of(A, seen(A, p)), 8, true));
  }

  private static final Map<String, String> TWO_PEERS = Map.of("k1", "10.244.0.1/32", "k2", "10.244.0.2/32");

  private static ObservedConfig seen(String hostIp, String via, String snat, boolean tunnelRoute, boolean hostRoute,
      boolean masqueradeExempt, boolean device, int port, String key, Map<String, String> peers) {
    return new ObservedConfig(A, hostIp, via, snat, tunnelRoute, hostRoute, masqueradeExempt, device, port, key, peers);
  }

  /** What a gateway can find of a config it should serve, each a reason to program it again with all its peers. */
  static Stream<Arguments> missingOrBroken() {
    ObservedConfig ok = seen(A, TWO_PEERS);
    String host = ok.hostIp();
    String via = ok.gatewayVia();
    String snat = ok.snatIp();
    return Stream.of(
        Arguments.of("absent", null),
        Arguments.of("empty namespace", ObservedConfig.empty(A)),
        Arguments.of("device dead", seen(host, via, snat, true, true, true, false, 0, "", Map.of())),
        Arguments.of("wrong port", seen(host, via, snat, true, true, true, true, 6001, "GWPUB", TWO_PEERS)),
        Arguments.of("wrong key", seen(host, via, snat, true, true, true, true, 6000, "OTHER", TWO_PEERS)),
        Arguments.of("snat missing", seen(host, via, "", true, true, true, true, 6000, "GWPUB", TWO_PEERS)),
        Arguments.of("wrong secondary ip", seen("10.224.0.99", via, snat, true, true, true, true, 6000, "GWPUB", TWO_PEERS)),
        Arguments.of("no tunnel route", seen(host, via, snat, false, true, true, true, 6000, "GWPUB", TWO_PEERS)),
        Arguments.of("no host route", seen(host, via, snat, true, false, true, true, 6000, "GWPUB", TWO_PEERS)),
        Arguments.of("host masquerade not exempted", seen(host, via, snat, true, true, false, true, 6000, "GWPUB", TWO_PEERS)),
        Arguments.of("wrong next hop", seen(host, "10.224.0.6", snat, true, true, true, true, 6000, "GWPUB", TWO_PEERS)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void missingOrBroken(String what, ObservedConfig observed) {
    ConfigDatapath w = want(A, TWO_PEERS);
    assertEquals(List.of(new DatapathAction.Program(w)),
        GatewayPlanner.plan(Map.of(A, w), observed == null ? Map.of() : Map.of(A, observed), 8, true), what);
  }

  @Test
  void unknownGatewayKeyIsNotAMismatch() {
    ConfigDatapath w = new ConfigDatapath(A, 6000, "10.224.0.5", "10.224.0.15", "", "", "s", Map.of());
    assertEquals(List.of(), GatewayPlanner.plan(Map.of(A, w), Map.of(A, seen(A, Map.of())), 8, true));
  }

  /** Peers held and wanted, and the plan: up to the bulk threshold (8) one operation a peer, beyond it one bulk sync. */
  static Stream<Arguments> peerDiffs() {
    Map<String, String> twenty = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      twenty.put("k" + i, "10.244.1." + i + "/32");
    }
    return Stream.of(
        Arguments.of("small diffs are single peer operations",
            Map.of("k1", "10.244.0.1/32", "k2", "10.244.0.2/32", "k3", "10.244.0.3/32"),
            Map.of("k1", "10.244.0.1/32", "k3", "10.244.0.33/32", "k4", "10.244.0.4/32"),
            List.of(new DatapathAction.RemovePeer(A, "k2"), new DatapathAction.AddPeer(A, "k3", "10.244.0.33/32"),
                new DatapathAction.AddPeer(A, "k4", "10.244.0.4/32"))),
        Arguments.of("large diffs are one bulk sync", Map.of(), twenty, List.of(new DatapathAction.SyncPeers(want(A, twenty)))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void peerDiffs(String what, Map<String, String> have, Map<String, String> wantPeers, List<DatapathAction> expected) {
    assertEquals(expected, GatewayPlanner.plan(Map.of(A, want(A, wantPeers)), Map.of(A, seen(A, have)), 8, true));
  }

  static final ConfigDatapath FRONTEND_A = new ConfigDatapath(A, 6000, "10.224.0.5", "10.224.0.15", "10.224.0.100", "", "s", Map.of());
  static final ConfigDatapath FRONTEND_B = new ConfigDatapath(B, 6001, "10.224.0.5", "10.224.0.16", "10.224.0.100", "", "s", Map.of());

  /** Frontends (ILB IPs on the node) are added once, removed only when unused and only while collecting. */
  static Stream<Arguments> frontends() {
    Map<String, ConfigDatapath> both = Map.of(A, FRONTEND_A, B, FRONTEND_B);
    return Stream.of(
        Arguments.of("missing: added once for both configs", both, Set.of(), true, List.of(new DatapathAction.AddFrontend("10.224.0.100"))),
        Arguments.of("present: nothing", both, Set.of("10.224.0.100"), true, List.of()),
        Arguments.of("unused: removed", both, Set.of("10.224.0.100", "10.224.0.101"), true,
            List.of(new DatapathAction.RemoveFrontend("10.224.0.101"))),
        Arguments.of("unused but not collecting: kept", both, Set.of("10.224.0.100", "10.224.0.101"), false, List.of()),
        Arguments.of("no ILB IP, no frontend", Map.of(A, want(A, Map.of())), Set.of(), true, List.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void frontends(String what, Map<String, ConfigDatapath> desired, Set<String> present, boolean collecting, List<DatapathAction> expected) {
    assertEquals(expected, GatewayPlanner.planFrontends(desired, present, collecting), what);
  }

  @ParameterizedTest(name = "collecting: {0}")
  @CsvSource({"true", "false"})
  void undesiredConfigsAreRemovedOnlyWhenCollecting(boolean collecting) {
    Map<String, ObservedConfig> observed = Map.of(A, seen(A, Map.of()), B, ObservedConfig.empty(B));
    Map<String, ConfigDatapath> desired = Map.of(A, want(A, Map.of()));
    assertEquals(collecting ? List.of(new DatapathAction.Remove(B)) : List.of(), GatewayPlanner.plan(desired, observed, 8, collecting));
  }

  @Test
  void removalsComeFirstThenProgramsThenPeers() {
    Map<String, ObservedConfig> observed = Map.of(A, seen(A, Map.of()), "cccccccc-3", ObservedConfig.empty("cccccccc-3"));
    Map<String, ConfigDatapath> desired = Map.of(A, want(A, Map.of("k1", "10.244.0.1/32")), B, want(B, Map.of()));
    List<DatapathAction> plan = GatewayPlanner.plan(desired, observed, 8, true);
    assertEquals(3, plan.size());
    assertTrue(plan.get(0) instanceof DatapathAction.Remove);
    assertTrue(plan.get(1) instanceof DatapathAction.Program);
    assertTrue(plan.get(2) instanceof DatapathAction.AddPeer);
  }

  @Test
  void reconciliationReportsPerConfigErrorsAndKeepsGoing() {
    FakeGatewayDatapath dp = new FakeGatewayDatapath();
    GatewayKeys keys = name -> {
      if (name.equals("sgw-" + B)) {
        throw new IllegalStateException("no gateway private key in secret 'sgw-" + B + "'");
      }
      return "PRIV";
    };
    Reconciliation r = Reconciliation.run(dp, keys,
        Map.of(A, want(A, Map.of("k1", "10.244.0.1/32")), B, want(B, Map.of())), 8, true);
    assertEquals(java.util.Set.of(A), r.serving());
    assertTrue(r.errors().get(B).contains("no gateway private key"), r.errors().toString());
    assertEquals(Map.of("k1", "10.244.0.1/32"), dp.peers(A));
    assertTrue(!dp.has(B));
  }

  @Test
  void namesAreShortUniquePerNodeAndRecognisable() {
    GatewayNames n1 = new GatewayNames("gw-1", "egw-");
    GatewayNames n2 = new GatewayNames("gw-2", "egw-");
    String uid = "0f9b7c1e-5d7a-4c4e-9d49-7a8e0b3c2f11";
    assertTrue(n1.device(uid).length() <= 15);
    assertTrue(!n1.device(uid).equals(n2.device(uid)));
    assertEquals(uid, n1.uidOf(n1.netns(uid)));
    assertEquals(null, n1.uidOf("cni-1234"));
    assertEquals(null, n1.uidOf("egw-Not_A_Uid"));
  }

  @Test
  void wgDumpParsesWithoutKeepingThePrivateKey() {
    String dump = "PRIVATEKEY\tPUBKEY\t6000\toff\n"
        + "PEER1\t(none)\t10.224.0.4:51820\t10.244.1.10/32\t1700000000\t100\t200\t2\n"
        + "PEER2\t(none)\t(none)\t(none)\t0\t0\t0\toff\n";
    WgDump d = WgDump.parse(dump);
    assertEquals("PUBKEY", d.publicKey());
    assertEquals(6000, d.listenPort());
    assertEquals(List.of("10.244.1.10/32"), d.peers().get("PEER1").allowedIps());
    assertEquals(2, d.peers().get("PEER1").keepaliveSeconds());
    assertEquals(List.of(), d.peers().get("PEER2").allowedIps());
    assertTrue(!d.toString().contains("PRIVATEKEY"));
  }

  @Test
  void wgConfigNeverPrintsItsPrivateKey() {
    var secret = io.egressgateway.datapath.wireguard.WgKeys.generate();
    var peer = io.egressgateway.datapath.wireguard.WgKeys.generate().publicKey();
    WgConfig c = new WgConfig(secret.privateKey(), 6000, List.of(WgPeer.of(peer, "10.0.0.1/32")));
    assertTrue(!c.toString().contains(secret.privateKey()));
    assertTrue(c.toConf().contains("PrivateKey = " + secret.privateKey()) && c.toConf().contains("AllowedIPs = 10.0.0.1/32"));
  }
}
