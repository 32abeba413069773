package io.egressgateway.azure.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PoolPlannerTest {
  private static final String BASE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/";
  private static final String U = "pool-uid";

  private static Observed.Instance instance(String id, Map<String, String> egress, boolean inPool) {
    return new Observed.Instance(id, "vm" + id, true, "10.0.0." + (10 + Integer.parseInt(id)), egress, inPool);
  }

  private static Observed empty(int instances) {
    List<Observed.Instance> is = Stream.iterate(0, i -> i + 1).limit(instances).map(i -> instance(String.valueOf(i), Map.of(), false)).toList();
    return new Observed(null, new Observed.ScaleSet(U, instances, Map.of(), false), is, Map.of(), Map.of());
  }

  private static Desired want(ConfigSpec... specs) {
    Map<String, Desired.Wanted> m = new java.util.HashMap<>();
    int port = 6000;
    for (ConfigSpec s : specs) {
      m.put(s.uid(), new Desired.Wanted(s, port++));
    }
    return new Desired(m, Map.of(), BASE, 31);
  }

  private static ConfigSpec pub(String uid, int len) {
    return new ConfigSpec("ns/" + uid, uid, true, len, "");
  }

  @Test
  void firstCreateWritesEverythingInDependencyOrder() {
    Plan p = PoolPlanner.plan(want(pub("a", 30), pub("b", 30)), empty(2));
    List<Class<?>> kinds = p.actions().stream().<Class<?>>map(Object::getClass).toList();
    assertEquals(List.of(ArmAction.CreatePrefix.class, ArmAction.CreatePrefix.class, ArmAction.WriteLb.class, ArmAction.WriteModel.class,
        ArmAction.Rollout.class), kinds);
    ArmAction.WriteModel model = (ArmAction.WriteModel) p.actions().get(3);
    assertEquals(Map.of("egressgateway-a", BASE + "egressgateway-a", "egressgateway-b", BASE + "egressgateway-b"), model.egressIpConfigs());
    assertTrue(model.primaryInPool());
    assertEquals(List.of("0", "1"), ((ArmAction.Rollout) p.actions().get(4)).instanceIds());
    assertTrue(p.ready().isEmpty());
  }

  @Test
  void convergedPoolPlansNothingAndReportsAddresses() {
    Observed obs = new Observed(new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 1, 1),
        new Observed.ScaleSet(U, 1, Map.of("egressgateway-a", BASE + "egressgateway-a"), true),
        List.of(instance("0", Map.of("egressgateway-a", "10.0.0.50"), true)),
        Map.of("egressgateway-a", new Observed.Prefix(BASE + "egressgateway-a", "egressgateway-a", "20.0.0.0/30", 30)), Map.of());
    Plan p = PoolPlanner.plan(want(pub("a", 30)), obs);
    assertTrue(p.converged());
    ConfigResult r = p.ready().get("a");
    assertEquals("10.0.0.100", r.frontendIp());
    assertEquals(6000, r.port());
    assertEquals("20.0.0.0/30", r.egressPrefix());
    assertEquals(List.of(new NodeAddress("vm0", "10.0.0.10", "10.0.0.50")), r.nodes());
  }

  @Test
  void removalDetachesFirstAndDeletesOnlyOnceNothingReferencesIt() {
    Observed attached = new Observed(new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 1, 1),
        new Observed.ScaleSet(U, 1, Map.of("egressgateway-a", BASE + "egressgateway-a"), true),
        List.of(instance("0", Map.of("egressgateway-a", "10.0.0.50"), true)),
        Map.of("egressgateway-a", new Observed.Prefix(BASE + "egressgateway-a", "egressgateway-a", "20.0.0.0/30", 30)), Map.of());
    Desired removing = new Desired(Map.of(), Map.of("a", pub("a", 30)), BASE, 31);
    Plan first = PoolPlanner.plan(removing, attached);
    // the rule goes at once (traffic stops), the pool section stays while the model still references it
    assertEquals(List.of(new ArmAction.WriteLb(true, Map.of(), Set.of("a")), new ArmAction.WriteModel(Map.of(), Set.of("egressgateway-a"), false),
        new ArmAction.Rollout(List.of("0"))), first.actions());

    Observed detached = new Observed(attached.lb(), new Observed.ScaleSet(U, 1, Map.of(), false),
        List.of(instance("0", Map.of(), false)), attached.prefixes(), Map.of());
    Plan second = PoolPlanner.plan(removing, detached);
    assertEquals(List.of(new ArmAction.DeletePrefix("egressgateway-a"), new ArmAction.DeleteLb()), second.actions());

    Plan done = PoolPlanner.plan(removing, empty(1));
    assertTrue(done.converged());
    assertEquals(Set.of("a"), done.removed());
  }

  /**
   * During a migration a Go config's ipConfig may sit on the scale set before its SGC was ensured here: a name
   * the pool does not know is neither compared, nor dropped, nor a reason to roll instances out.
   */
  @Test
  void scaleSetPoolTouchesOnlyIpConfigsOfNamesItKnows() {
    String other = "egressgateway-other-uid";
    Observed.Lb lb = new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 1, 1);
    Map<String, Observed.Prefix> prefixA = Map.of("egressgateway-a",
        new Observed.Prefix(BASE + "egressgateway-a", "egressgateway-a", "20.0.0.0/30", 30));
    Observed withOther = new Observed(lb,
        new Observed.ScaleSet(U, 1, Map.of("egressgateway-a", BASE + "egressgateway-a", other, BASE + other), true),
        List.of(instance("0", Map.of("egressgateway-a", "10.0.0.50", other, "10.0.0.51"), true)), prefixA, Map.of());

    Plan steady = PoolPlanner.plan(want(pub("a", 30)), withOther);
    assertTrue(steady.converged(), "an unknown ipConfig is no difference: " + steady.actions());

    Plan added = PoolPlanner.plan(want(pub("a", 30), pub("b", 30)), withOther);
    ArmAction.WriteModel model = (ArmAction.WriteModel) added.actions().stream().filter(a -> a instanceof ArmAction.WriteModel)
        .findFirst().orElseThrow();
    assertEquals(Set.of("egressgateway-a", "egressgateway-b"), model.egressIpConfigs().keySet());
    assertEquals(Set.of(), model.drop());

    Desired removing = new Desired(Map.of(), Map.of("a", pub("a", 30)), BASE, 31);
    Plan first = PoolPlanner.plan(removing, withOther);
    assertTrue(first.actions().contains(new ArmAction.WriteModel(Map.of(), Set.of("egressgateway-a"), false)), first.actions().toString());
    assertTrue(first.actions().contains(new ArmAction.Rollout(List.of("0"))));
    Observed detached = new Observed(lb, new Observed.ScaleSet(U, 1, Map.of(other, BASE + other), false),
        List.of(instance("0", Map.of(other, "10.0.0.51"), false)), prefixA, Map.of());
    Plan second = PoolPlanner.plan(removing, detached);
    assertEquals(List.of(new ArmAction.DeletePrefix("egressgateway-a"), new ArmAction.DeleteLb()), second.actions(),
        "the other ipConfig is no reason to roll out again or keep our prefix");
    Observed gone = new Observed(null, detached.scaleSet(), detached.instances(), Map.of(), Map.of());
    Plan done = PoolPlanner.plan(removing, gone);
    assertTrue(done.converged(), done.actions().toString());
    assertEquals(Set.of("a"), done.removed());
  }

  @Test
  void foreignRulesAndFrontendsKeepTheSharedLb() {
    Observed obs = new Observed(new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 2, 2),
        new Observed.ScaleSet(U, 1, Map.of(), false), List.of(instance("0", Map.of(), false)), Map.of(), Map.of());
    Plan p = PoolPlanner.plan(new Desired(Map.of(), Map.of("a", pub("a", 30)), BASE, 31), obs);
    assertEquals(List.of(new ArmAction.WriteLb(false, Map.of(), Set.of("a"))), p.actions());
  }

  /** Configs a pool of three instances cannot serve, and what their error says; nothing is written for them. */
  static Stream<Arguments> invalidConfigs() {
    return Stream.of(
        Arguments.of("a /31 prefix for 3 instances", pub("small", 31), "3 instances"),
        Arguments.of("a BYO prefix that does not exist", new ConfigSpec("ns/b", "b", true, 30, BASE + "nope"), ""),
        Arguments.of("a BYO prefix of another size", new ConfigSpec("ns/c", "c", true, 29, BASE + "theirs"), "/28"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void invalidConfigs(String what, ConfigSpec spec, String says) {
    Observed obs = new Observed(null, new Observed.ScaleSet(U, 3, Map.of(), false),
        List.of(instance("0", Map.of(), false), instance("1", Map.of(), false), instance("2", Map.of(), false)), Map.of(),
        Map.of((BASE + "theirs").toLowerCase(), new Observed.Prefix(BASE + "theirs", "theirs", "20.1.0.0/28", 28)));
    Plan p = PoolPlanner.plan(want(spec), obs);
    assertEquals(Set.of(spec.uid()), p.errors().keySet());
    assertTrue(p.errors().get(spec.uid()).contains(says), p.errors().get(spec.uid()));
    assertTrue(p.converged(), "nothing to write for configs that cannot be served: " + p.actions());
  }

  @Test
  void invalidConfigsAreReportedTogether() {
    Observed obs = new Observed(null, new Observed.ScaleSet(U, 3, Map.of(), false),
        List.of(instance("0", Map.of(), false), instance("1", Map.of(), false), instance("2", Map.of(), false)), Map.of(),
        Map.of((BASE + "theirs").toLowerCase(), new Observed.Prefix(BASE + "theirs", "theirs", "20.1.0.0/28", 28)));
    Plan p = PoolPlanner.plan(want(pub("small", 31), new ConfigSpec("ns/b", "b", true, 30, BASE + "nope"),
        new ConfigSpec("ns/c", "c", true, 29, BASE + "theirs")), obs);
    assertEquals(Set.of("small", "b", "c"), p.errors().keySet());
    assertTrue(p.converged(), p.actions().toString());
  }

  @Test
  void privateModeHasNoPrefixAndReportsSecondaryIps() {
    ConfigSpec priv = new ConfigSpec("ns/p", "p", false, 0, "");
    Plan p = PoolPlanner.plan(want(priv), empty(1));
    assertFalse(p.actions().stream().anyMatch(a -> a instanceof ArmAction.CreatePrefix));
    ArmAction.WriteModel m = (ArmAction.WriteModel) p.actions().stream().filter(a -> a instanceof ArmAction.WriteModel).findFirst().orElseThrow();
    assertEquals(Map.of("egressgateway-p", ""), m.egressIpConfigs());
  }

  @ParameterizedTest(name = "taken {0} in {1}-{2}: {3}")
  @CsvSource(delimiter = '|', value = {
      "''             | 6000 | 6999 | 6000",
      "6000 6001 6003 | 6000 | 6999 | 6002",
      "6000 6001      | 6000 | 6001 | -1",
  })
  void lowestFreePortSkipsTakenOnesAndReportsExhaustion(String taken, int from, int to, int expected) {
    Set<Integer> ports = taken.isBlank() ? Set.of()
        : Stream.of(taken.trim().split(" +")).map(Integer::valueOf).collect(java.util.stream.Collectors.toSet());
    assertEquals(expected, PoolPlanner.lowestFreePort(ports, from, to));
  }

  /** A config's own checks: the error names what is wrong ("" for none). */
  static Stream<Arguments> specValidation() {
    return Stream.of(
        Arguments.of("valid", pub("ok", 30), ""),
        Arguments.of("0: the pool decides the length", pub("x", 0), ""),
        Arguments.of("a bad uid", pub("bad uid!", 30), "uid"),
        Arguments.of("a /32 prefix", pub("x", 32), "between 1 and 31"),
        Arguments.of("a prefix id without public IPs", new ConfigSpec("k", "x", false, 0, BASE + "p"), "not allowed"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void specValidation(String what, ConfigSpec spec, String says) {
    String error = spec.validationError();
    if (says.isEmpty()) {
      assertEquals("", error, what);
    } else {
      assertTrue(error.contains(says), what + ": " + error);
    }
  }

  @Test
  void poolRefsRoundTrip() {
    assertEquals(PoolRef.nodepool("gw"), PoolRef.parse(PoolRef.nodepool("gw").entityId()));
    assertEquals(PoolRef.scaleSet("rg", "v"), PoolRef.parse("vmss:rg/v"));
  }

  @Test
  void vmPoolIdAndPublicIpNamesAreUpstreams() {
    // uuid3(2c96e82c-842f-11f0-8ea5-6bee14278ecd, "gwpool") and FNV-1a 64, as Go's uuid.NewMD5 and hash/fnv give them
    assertEquals("0ac85383-8182-3559-8e40-dd91da42e59e", AzureNames.vmPoolUniqueId("gwpool"));
    assertEquals("egressgateway-x-eee05c1c819734d5", AzureNames.publicIpName("egressgateway-x", "aks-vmpool-vm0-gwnic"));
    assertEquals("p-cbf29ce484222325", AzureNames.publicIpName("p", ""));
    assertEquals("p-af63dc4c8601ec8c", AzureNames.publicIpName("p", "a"));
  }

  @Test
  void prefixLengthComesFromThePoolTagElseTheDefault() {
    ConfigSpec fromPool = new ConfigSpec("ns/a", "a", true, 0, "");
    assertEquals(new PoolPlanner.PoolLength(30, true, ""), PoolPlanner.poolLength("30", 31));
    assertEquals(new PoolPlanner.PoolLength(31, false, ""), PoolPlanner.poolLength(null, 31));
    Observed tagged = withTag(empty(2), "30");
    ArmAction.CreatePrefix made = (ArmAction.CreatePrefix) PoolPlanner.plan(want(fromPool), tagged).actions().get(0);
    assertEquals(30, made.length());
    assertEquals(31, ((ArmAction.CreatePrefix) PoolPlanner.plan(want(fromPool), empty(2)).actions().get(0)).length());
    assertEquals(29, ((ArmAction.CreatePrefix) PoolPlanner.plan(want(pub("a", 29)), tagged).actions().get(0)).length(),
        "a length the config names (VMSS profile) wins");

    Plan bad = PoolPlanner.plan(want(fromPool, new ConfigSpec("ns/p", "p", false, 0, "")), withTag(empty(2), "abc"));
    assertTrue(bad.errors().get("a").contains(AzureNames.PREFIX_SIZE_TAG));
    assertFalse(bad.errors().containsKey("p"), "private mode needs no length");
    assertTrue(bad.actions().stream().noneMatch(a -> a instanceof ArmAction.CreatePrefix));

    // a prefix made earlier keeps its size whatever the tag says now
    Observed made30 = new Observed(null, new Observed.ScaleSet(U, 2, Map.of(), false), empty(2).instances(),
        Map.of("egressgateway-a", new Observed.Prefix(BASE + "egressgateway-a", "egressgateway-a", "20.0.0.0/30", 30)), Map.of(), Map.of(), "abc");
    Plan kept = PoolPlanner.plan(want(fromPool), made30);
    assertTrue(kept.errors().isEmpty(), kept.errors().toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "27", "32", ""})
  void aBadPoolTagIsAnErrorNamingIt(String bad) {
    assertTrue(PoolPlanner.poolLength(bad, 31).error().contains("'" + bad + "'"), bad);
  }

  private static Observed withTag(Observed o, String tag) {
    return new Observed(o.lb(), o.scaleSet(), o.instances(), o.prefixes(), o.byoPrefixes(), o.publicIps(), tag);
  }

  private static final String PIP_BASE = BASE.replace("/publicIPPrefixes/", "/publicIPAddresses/");

  private static Observed.Instance nic(String name, Map<String, String> ips, Map<String, String> pips, boolean inPool) {
    return new Observed.Instance(name, "node-" + name, true, "10.0.0." + name.length(), ips, inPool, pips);
  }

  @Test
  void vmPoolCreatesPublicIpsThenWritesEachNicAndRemovesInReverse() {
    Observed bare = new Observed(null, null, List.of(nic("n1", Map.of(), Map.of(), false), nic("n2", Map.of(), Map.of(), false),
        nic("spare", Map.of("egressgateway-foreign", "10.0.0.9"), Map.of("egressgateway-foreign", ""), false)), Map.of(), Map.of(), Map.of(), null);
    Plan first = PoolPlanner.plan(want(pub("a", 30)), bare);
    List<Class<?>> kinds = first.actions().stream().<Class<?>>map(Object::getClass).toList();
    assertEquals(List.of(ArmAction.CreatePrefix.class, ArmAction.WriteLb.class, ArmAction.CreatePublicIp.class, ArmAction.CreatePublicIp.class,
        ArmAction.CreatePublicIp.class, ArmAction.WriteNic.class, ArmAction.WriteNic.class, ArmAction.WriteNic.class), kinds);
    String pip1 = AzureNames.publicIpName("egressgateway-a", "n1");
    assertTrue(first.actions().contains(new ArmAction.CreatePublicIp("a", pip1, BASE + "egressgateway-a")));
    assertTrue(first.actions().contains(new ArmAction.WriteNic("n1", Map.of("egressgateway-a", PIP_BASE + pip1), Set.of(), true)));
    assertTrue(first.actions().stream().anyMatch(a -> a instanceof ArmAction.WriteNic w && w.nic().equals("spare") && w.drop().isEmpty()),
        "an ipConfig of a name this pool does not know is kept");

    // converged: every NIC has the ipConfig with its public IP
    Map<String, Observed.PublicIp> pips = new java.util.TreeMap<>();
    List<Observed.Instance> nics = new java.util.ArrayList<>();
    for (String n : List.of("n1", "n2")) {
      String name = AzureNames.publicIpName("egressgateway-a", n);
      pips.put(name, new Observed.PublicIp(PIP_BASE + name, name, BASE + "egressgateway-a", "ipc-" + n));
      nics.add(nic(n, Map.of("egressgateway-a", "10.0.1." + n.charAt(1)), Map.of("egressgateway-a", PIP_BASE + name), true));
    }
    Observed.Lb lb = new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 1, 1);
    Map<String, Observed.Prefix> prefix = Map.of("egressgateway-a", new Observed.Prefix(BASE + "egressgateway-a", "egressgateway-a", "20.0.0.0/30", 30));
    Observed done = new Observed(lb, null, nics, prefix, Map.of(), pips, null);
    Plan steady = PoolPlanner.plan(want(pub("a", 30)), done);
    assertTrue(steady.converged(), steady.actions().toString());
    assertEquals(List.of("10.0.1.1", "10.0.1.2"), steady.ready().get("a").nodes().stream().map(NodeAddress::secondaryIp).toList());

    // removal: NICs let go first, then public IPs, then prefix and ILB
    Desired removing = new Desired(Map.of(), Map.of("a", pub("a", 30)), BASE, 31);
    assertTrue(PoolPlanner.plan(removing, done).actions().stream().allMatch(a -> a instanceof ArmAction.WriteNic || a instanceof ArmAction.WriteLb),
        "nothing is deleted while NICs hold it");
    List<Observed.Instance> detached = List.of(nic("n1", Map.of(), Map.of(), false), nic("n2", Map.of(), Map.of(), false));
    Map<String, Observed.PublicIp> free = new java.util.TreeMap<>();
    pips.forEach((k, v) -> free.put(k, new Observed.PublicIp(v.id(), v.name(), v.prefixId(), "")));
    Plan second = PoolPlanner.plan(removing, new Observed(lb, null, detached, prefix, Map.of(), free, null));
    assertEquals(Set.of(new ArmAction.DeletePublicIp(AzureNames.publicIpName("egressgateway-a", "n1")),
        new ArmAction.DeletePublicIp(AzureNames.publicIpName("egressgateway-a", "n2"))), Set.copyOf(second.actions().subList(0, 2)));
    assertFalse(second.actions().contains(new ArmAction.DeletePrefix("egressgateway-a")), "the prefix waits for its public IPs");
    Plan third = PoolPlanner.plan(removing, new Observed(lb, null, detached, prefix, Map.of(), Map.of(), null));
    assertEquals(List.of(new ArmAction.DeletePrefix("egressgateway-a"), new ArmAction.DeleteLb()), third.actions());
  }

  @Test
  void legacyNamesAdoptWhatTheGoOriginalMade() {
    ConfigSpec legacy = new ConfigSpec("ns/a", "sgc-uid", true, 30, "", "lb-uid", "egressgateway-vm-uid");
    assertEquals("lb-uid", legacy.ruleName());
    assertEquals("egressgateway-vm-uid", legacy.ipConfigName());
    assertEquals("", legacy.validationError());
    assertTrue(new ConfigSpec("k", "u", true, 30, "", "", "vm-uid").validationError().contains("egressgateway-"));
    assertEquals(legacy, new ConfigSpec("ns/a", "sgc-uid", true, 30, "").withNamesOf(legacy), "names accepted once stay");

    Observed go = new Observed(new Observed.Lb("10.0.0.100", true, true, Map.of("lb-uid", 6003), Map.of("lb-uid", "/gw/sgc-uid"), 1, 1),
        new Observed.ScaleSet(U, 1, Map.of("egressgateway-vm-uid", BASE + "egressgateway-vm-uid"), true),
        List.of(instance("0", Map.of("egressgateway-vm-uid", "10.0.0.50"), true)),
        Map.of("egressgateway-vm-uid", new Observed.Prefix(BASE + "egressgateway-vm-uid", "egressgateway-vm-uid", "20.0.0.0/30", 30)), Map.of());
    Desired before = new Desired(Map.of("sgc-uid", new Desired.Wanted(legacy, 6000)), Map.of(), BASE, 31);
    assertEquals(Map.of("sgc-uid", 6003), PoolPlanner.adoptablePorts(before, go, Set.of("sgc-uid")));
    assertEquals(Map.of(), PoolPlanner.adoptablePorts(before, go, Set.of()), "only once");
    Desired adopted = new Desired(Map.of("sgc-uid", new Desired.Wanted(legacy, 6003)), Map.of(), BASE, 31);
    Plan p = PoolPlanner.plan(adopted, go);
    assertTrue(p.converged(), p.actions().toString());
    assertEquals(6003, p.ready().get("sgc-uid").port());

    Plan gone = PoolPlanner.plan(new Desired(Map.of(), Map.of("sgc-uid", legacy), BASE, 31), go);
    assertTrue(gone.actions().contains(new ArmAction.WriteLb(true, Map.of(), Set.of("lb-uid"))), gone.actions().toString());
    assertTrue(gone.actions().contains(new ArmAction.WriteModel(Map.of(), Set.of("egressgateway-vm-uid"), false)), gone.actions().toString());
  }
}
