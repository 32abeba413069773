package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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

  @Test
  void missingOrBrokenDatapathIsProgrammedWithAllPeers() {
    Map<String, String> p = Map.of("k1", "10.244.0.1/32", "k2", "10.244.0.2/32");
    ConfigDatapath w = want(A, p);
    ObservedConfig ok = seen(A, p);
    Map<String, ObservedConfig> cases = new HashMap<>();
    cases.put("absent", null);
    cases.put("empty namespace", ObservedConfig.empty(A));
    cases.put("device dead", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), true, true, true, false, 0, "", Map.of()));
    cases.put("wrong port", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), true, true, true, true, 6001, "GWPUB", p));
    cases.put("wrong key", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), true, true, true, true, 6000, "OTHER", p));
    cases.put("snat missing", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), "", true, true, true, true, 6000, "GWPUB", p));
    cases.put("wrong secondary ip", new ObservedConfig(A, "10.224.0.99", ok.gatewayVia(), ok.snatIp(), true, true, true, true, 6000, "GWPUB", p));
    cases.put("no tunnel route", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), false, true, true, true, 6000, "GWPUB", p));
    cases.put("no host route", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), true, false, true, true, 6000, "GWPUB", p));
    cases.put("host masquerade not exempted", new ObservedConfig(A, ok.hostIp(), ok.gatewayVia(), ok.snatIp(), true, true, false, true, 6000, "GWPUB", p));
    cases.put("wrong next hop", new ObservedConfig(A, ok.hostIp(), "10.224.0.6", ok.snatIp(), true, true, true, true, 6000, "GWPUB", p));
    cases.forEach((name, obs) -> {
      Map<String, ObservedConfig> observed = obs == null ? Map.of() : Map.of(A, obs);
      assertEquals(List.of(new DatapathAction.Program(w)), GatewayPlanner.plan(Map.of(A, w), observed, 8, true), name);
    });
  }

  @Test
  void unknownGatewayKeyIsNotAMismatch() {
    ConfigDatapath w = new ConfigDatapath(A, 6000, "10.224.0.5", "10.224.0.15", "", "", "s", Map.of());
    assertEquals(List.of(), GatewayPlanner.plan(Map.of(A, w), Map.of(A, seen(A, Map.of())), 8, true));
  }

  @Test
  void smallPeerDiffsAreSinglePeerOperations() {
    Map<String, String> have = Map.of("k1", "10.244.0.1/32", "k2", "10.244.0.2/32", "k3", "10.244.0.3/32");
    Map<String, String> wantPeers = Map.of("k1", "10.244.0.1/32", "k3", "10.244.0.33/32", "k4", "10.244.0.4/32");
    List<DatapathAction> plan = GatewayPlanner.plan(Map.of(A, want(A, wantPeers)), Map.of(A, seen(A, have)), 8, true);
    assertEquals(List.of(
        new DatapathAction.RemovePeer(A, "k2"),
        new DatapathAction.AddPeer(A, "k3", "10.244.0.33/32"),
        new DatapathAction.AddPeer(A, "k4", "10.244.0.4/32")), plan);
  }

  @Test
  void largePeerDiffsAreOneBulkSync() {
    Map<String, String> wantPeers = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      wantPeers.put("k" + i, "10.244.1." + i + "/32");
    }
    ConfigDatapath w = want(A, wantPeers);
    assertEquals(List.of(new DatapathAction.SyncPeers(w)),
        GatewayPlanner.plan(Map.of(A, w), Map.of(A, seen(A, Map.of())), 8, true));
  }

  @Test
  void frontendsAreAddedOnceAndRemovedOnlyWhenUnusedAndCollecting() {
    ConfigDatapath a = new ConfigDatapath(A, 6000, "10.224.0.5", "10.224.0.15", "10.224.0.100", "", "s", Map.of());
    ConfigDatapath b = new ConfigDatapath(B, 6001, "10.224.0.5", "10.224.0.16", "10.224.0.100", "", "s", Map.of());
    Map<String, ConfigDatapath> both = Map.of(A, a, B, b);
    assertEquals(List.of(new DatapathAction.AddFrontend("10.224.0.100")),
        GatewayPlanner.planFrontends(both, java.util.Set.of(), true));
    assertEquals(List.of(), GatewayPlanner.planFrontends(both, java.util.Set.of("10.224.0.100"), true));
    assertEquals(List.of(new DatapathAction.RemoveFrontend("10.224.0.101")),
        GatewayPlanner.planFrontends(both, java.util.Set.of("10.224.0.100", "10.224.0.101"), true));
    assertEquals(List.of(), GatewayPlanner.planFrontends(both, java.util.Set.of("10.224.0.100", "10.224.0.101"), false));
    assertEquals(List.of(), GatewayPlanner.planFrontends(Map.of(A, want(A, Map.of())), java.util.Set.of(), true),
        "no ILB IP, no frontend");
  }

  @Test
  void undesiredConfigsAreRemovedOnlyWhenCollecting() {
    Map<String, ObservedConfig> observed = Map.of(A, seen(A, Map.of()), B, ObservedConfig.empty(B));
    Map<String, ConfigDatapath> desired = Map.of(A, want(A, Map.of()));
    assertEquals(List.of(new DatapathAction.Remove(B)), GatewayPlanner.plan(desired, observed, 8, true));
    assertEquals(List.of(), GatewayPlanner.plan(desired, observed, 8, false));
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
