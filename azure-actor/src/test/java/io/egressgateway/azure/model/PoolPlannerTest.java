package io.egressgateway.azure.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

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
    return new Desired(m, Set.of(), BASE);
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
    Desired removing = new Desired(Map.of(), Set.of("a"), BASE);
    Plan first = PoolPlanner.plan(removing, attached);
    // the rule goes at once (traffic stops), the pool section stays while the model still references it
    assertEquals(List.of(new ArmAction.WriteLb(true, Map.of(), Set.of("a")), new ArmAction.WriteModel(Map.of(), false),
        new ArmAction.Rollout(List.of("0"))), first.actions());

    Observed detached = new Observed(attached.lb(), new Observed.ScaleSet(U, 1, Map.of(), false),
        List.of(instance("0", Map.of(), false)), attached.prefixes(), Map.of());
    Plan second = PoolPlanner.plan(removing, detached);
    assertEquals(List.of(new ArmAction.DeletePrefix("egressgateway-a"), new ArmAction.DeleteLb()), second.actions());

    Plan done = PoolPlanner.plan(removing, empty(1));
    assertTrue(done.converged());
    assertEquals(Set.of("a"), done.removed());
  }

  @Test
  void foreignRulesAndFrontendsKeepTheSharedLb() {
    Observed obs = new Observed(new Observed.Lb("10.0.0.100", true, true, Map.of("a", 6000), Map.of("a", "/gw/a"), 2, 2),
        new Observed.ScaleSet(U, 1, Map.of(), false), List.of(instance("0", Map.of(), false)), Map.of(), Map.of());
    Plan p = PoolPlanner.plan(new Desired(Map.of(), Set.of("a"), BASE), obs);
    assertEquals(List.of(new ArmAction.WriteLb(false, Map.of(), Set.of("a"))), p.actions());
  }

  @Test
  void invalidConfigsAreReportedWithoutWrites() {
    ConfigSpec tooSmall = pub("small", 31);
    ConfigSpec byoMissing = new ConfigSpec("ns/b", "b", true, 30, BASE + "nope");
    ConfigSpec byoWrongSize = new ConfigSpec("ns/c", "c", true, 29, BASE + "theirs");
    Observed obs = new Observed(null, new Observed.ScaleSet(U, 3, Map.of(), false),
        List.of(instance("0", Map.of(), false), instance("1", Map.of(), false), instance("2", Map.of(), false)), Map.of(),
        Map.of((BASE + "theirs").toLowerCase(), new Observed.Prefix(BASE + "theirs", "theirs", "20.1.0.0/28", 28)));
    Plan p = PoolPlanner.plan(want(tooSmall, byoMissing, byoWrongSize), obs);
    assertEquals(Set.of("small", "b", "c"), p.errors().keySet());
    assertTrue(p.errors().get("small").contains("3 instances"));
    assertTrue(p.errors().get("c").contains("/28"));
    assertTrue(p.converged(), "nothing to write for configs that cannot be served: " + p.actions());
  }

  @Test
  void privateModeHasNoPrefixAndReportsSecondaryIps() {
    ConfigSpec priv = new ConfigSpec("ns/p", "p", false, 0, "");
    Plan p = PoolPlanner.plan(want(priv), empty(1));
    assertFalse(p.actions().stream().anyMatch(a -> a instanceof ArmAction.CreatePrefix));
    ArmAction.WriteModel m = (ArmAction.WriteModel) p.actions().stream().filter(a -> a instanceof ArmAction.WriteModel).findFirst().orElseThrow();
    assertEquals(Map.of("egressgateway-p", ""), m.egressIpConfigs());
  }

  @Test
  void lowestFreePortSkipsTakenOnesAndReportsExhaustion() {
    assertEquals(6000, PoolPlanner.lowestFreePort(Set.of(), 6000, 6999));
    assertEquals(6002, PoolPlanner.lowestFreePort(Set.of(6000, 6001, 6003), 6000, 6999));
    assertEquals(-1, PoolPlanner.lowestFreePort(Set.of(6000, 6001), 6000, 6001));
  }

  @Test
  void specValidation() {
    assertEquals("", pub("ok", 30).validationError());
    assertTrue(pub("bad uid!", 30).validationError().contains("uid"));
    assertTrue(pub("x", 0).validationError().contains("between 1 and 31"));
    assertTrue(new ConfigSpec("k", "x", false, 0, BASE + "p").validationError().contains("not allowed"));
    assertEquals(PoolRef.nodepool("gw"), PoolRef.parse(PoolRef.nodepool("gw").entityId()));
    assertEquals(PoolRef.scaleSet("rg", "v"), PoolRef.parse("vmss:rg/v"));
  }

  /** The model package stays pure: java.* and other model types only. */
  @Test
  void modelImportsOnlyJava() throws IOException {
    Path dir = Path.of("src/main/java/io/egressgateway/azure/model");
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        for (String line : Files.readAllLines(f)) {
          if (line.startsWith("import ")) {
            assertTrue(line.startsWith("import java.") || line.startsWith("import static java."), f + ": " + line);
          }
        }
      }
    }
  }
}
