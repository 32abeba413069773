package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import com.fasterxml.jackson.databind.JsonNode;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.azure.infra.SimPool;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.PoolRef;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pool entity driving the real SDK over HTTPS against the ARM simulator. */
class GatewayPoolSimTest extends GatewayPoolSimBase {
  @Test
  void configsAzureWouldRejectGetAClearErrorAndNoWrites() {
    env = new SimPool(3);
    String theirs = env.sim.seedPublicIpPrefix("rg-byo", "their-prefix", 29);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    TestProbe<StatusReply<ConfigResult>> small = kit.createTestProbe();
    pool.tell(new GatewayPool.EnsureConfig(new ConfigSpec("ns/small", "uid-small", true, 31, ""), small.getRef()));
    StatusReply<ConfigResult> r = small.expectMessageClass(StatusReply.class, WAIT);
    assertTrue(r.isError());
    assertTrue(r.getError().getMessage().contains("3 instances"), r.getError().getMessage());
    TestProbe<StatusReply<ConfigResult>> wrongSize = kit.createTestProbe();
    pool.tell(new GatewayPool.EnsureConfig(new ConfigSpec("ns/byo", "uid-byo", true, 30, theirs), wrongSize.getRef()));
    StatusReply<ConfigResult> w = wrongSize.expectMessageClass(StatusReply.class, WAIT);
    assertTrue(w.isError());
    assertTrue(w.getError().getMessage().contains("/29"), w.getError().getMessage());
    assertEquals(0, env.sim.writes(), "nothing was written for configs Azure would reject");

    // the same BYO prefix at its real size works, and removing the config leaves the prefix alone
    ConfigResult ok = ensure(pool, new ConfigSpec("ns/byo2", "uid-byo2", true, 29, theirs));
    assertEquals(theirs, ok.prefixId());
    remove(pool, "uid-byo2");
    assertTrue(env.sim.resource(theirs).isPresent(), "a BYO prefix is never deleted");
  }


  private static ConfigSpec spec(String uid) {
    return new ConfigSpec("ns/" + uid, uid, true, 30, "");
  }

  @Test
  void createMakesExactlyTheExpectedResourcesAndDeleteRestoresTheInventory() {
    env = new SimPool(3);
    Map<String, JsonNode> initial = env.sim.snapshot();
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());

    ConfigResult r = ensure(pool, spec("uid-a"));
    System.out.printf("BENCH first-create: 1 config, 3 instances: reads=%d writes=%d (%s)%n", env.sim.reads(), env.sim.writes(), writeSummary());

    assertEquals(6000, r.port());
    JsonNode lb = env.sim.resource(ArmSimulator.rgId(SimPool.RG) + "/providers/Microsoft.Network/loadBalancers/kubeegressgateway-ilb").orElseThrow();
    JsonNode props = lb.path("properties");
    String uniqueId = env.sim.resource(env.vmssId).orElseThrow().path("properties").path("uniqueId").asText();
    assertEquals(1, props.path("frontendIPConfigurations").size());
    assertEquals(uniqueId, props.path("frontendIPConfigurations").path(0).path("name").asText());
    assertEquals(r.frontendIp(), props.path("frontendIPConfigurations").path(0).path("properties").path("privateIPAddress").asText());
    assertTrue(props.path("frontendIPConfigurations").path(0).path("properties").path("subnet").path("id").asText().endsWith("/subnets/gateway"));
    assertEquals(uniqueId, props.path("backendAddressPools").path(0).path("name").asText());
    JsonNode rule = props.path("loadBalancingRules").path(0);
    assertEquals(1, props.path("loadBalancingRules").size());
    assertEquals("uid-a", rule.path("name").asText());
    assertEquals("Udp", rule.path("properties").path("protocol").asText());
    assertTrue(rule.path("properties").path("enableFloatingIP").asBoolean());
    assertEquals(6000, rule.path("properties").path("frontendPort").asInt());
    assertEquals(6000, rule.path("properties").path("backendPort").asInt());
    JsonNode probe = props.path("probes").path(0);
    assertEquals("/gw/uid-a", probe.path("properties").path("requestPath").asText());
    assertEquals(8082, probe.path("properties").path("port").asInt());
    assertEquals("Http", probe.path("properties").path("protocol").asText());

    List<JsonNode> prefixes = env.sim.resources("Microsoft.Network/publicIPPrefixes");
    assertEquals(1, prefixes.size());
    assertEquals("egressgateway-uid-a", prefixes.get(0).path("name").asText());
    assertEquals(30, prefixes.get(0).path("properties").path("prefixLength").asInt());
    assertEquals(prefixes.get(0).path("properties").path("ipPrefix").asText(), r.egressPrefix());

    JsonNode model = env.sim.resource(env.vmssId).orElseThrow().path("properties").path("virtualMachineProfile")
        .path("networkProfile").path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    assertEquals(2, model.size());
    assertEquals("egressgateway-uid-a", model.path(1).path("name").asText());
    assertTrue(model.path(0).path("properties").path("loadBalancerBackendAddressPools").path(0).path("id").asText().endsWith("/" + uniqueId));

    List<JsonNode> nics = env.sim.resources("Microsoft.Network/networkInterfaces");
    assertEquals(3, nics.size());
    assertEquals(3, r.nodes().size());
    Set<String> secondaries = new HashSet<>();
    for (JsonNode nic : nics) {
      JsonNode cfgs = nic.path("properties").path("ipConfigurations");
      assertEquals(2, cfgs.size());
      assertEquals("egressgateway-uid-a", cfgs.path(1).path("name").asText());
      secondaries.add(cfgs.path(1).path("properties").path("privateIPAddress").asText());
    }
    Set<String> reported = new HashSet<>();
    r.nodes().forEach(n -> {
      reported.add(n.secondaryIp());
      assertFalse(n.primaryIp().isEmpty());
      assertTrue(n.node().startsWith("aks-gwpool-vmss"));
    });
    assertEquals(secondaries, reported);

    // a repeated ensure is answered from memory: no ARM call, nothing journaled
    env.sim.clearCalls();
    assertEquals(r, ensure(pool, spec("uid-a")));
    assertEquals(0, env.sim.calls().size());

    remove(pool, "uid-a");
    System.out.printf("BENCH delete: 1 config, 3 instances: reads=%d writes=%d (%s)%n", env.sim.reads(), env.sim.writes(), writeSummary());
    assertEquals(initial, env.sim.snapshot());
  }

  @Test
  void tenConfigsTogetherCostAtMostTwoModelWritesAndOneRollout() {
    env = new SimPool(4);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.scaleSet(SimPool.RG, "aks-gwpool-vmss").entityId());
    List<TestProbe<StatusReply<ConfigResult>>> probes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      TestProbe<StatusReply<ConfigResult>> p = kit.createTestProbe();
      pool.tell(new GatewayPool.EnsureConfig(new ConfigSpec("ns/c" + i, "cfg-" + i, i % 3 != 0, 30, ""), p.getRef()));
      probes.add(p);
    }
    Set<Integer> ports = new HashSet<>();
    for (var p : probes) {
      StatusReply<ConfigResult> r = p.expectMessageClass(StatusReply.class, WAIT);
      assertTrue(r.isSuccess(), () -> String.valueOf(r.getError()));
      ports.add(r.getValue().port());
      assertEquals(4, r.getValue().nodes().size());
    }
    assertEquals(10, ports.size());
    assertTrue(ports.stream().allMatch(p -> p >= 6000 && p < 6010));
    long modelWrites = env.sim.count("PUT", "/virtualMachineScaleSets/[^/]+$");
    long rollouts = env.sim.count("POST", "/manualupgrade$");
    long lbWrites = env.sim.count("PUT", "/loadBalancers/");
    System.out.printf("BENCH ten-configs: model PUTs=%d, rollouts=%d, LB PUTs=%d, prefix PUTs=%d, total writes=%d, reads=%d%n",
        modelWrites, rollouts, lbWrites, env.sim.count("PUT", "/publicIPPrefixes/"), env.sim.writes(), env.sim.reads());
    assertTrue(modelWrites <= 2, "model writes: " + modelWrites);
    assertTrue(rollouts <= 2, "rollouts: " + rollouts);
    assertEquals(6, env.sim.resources("Microsoft.Network/publicIPPrefixes").size(), "one prefix per public config");
  }

  @Test
  void crashBetweenIntentAndResultAdoptsInsteadOfDuplicating() throws Exception {
    env = new SimPool(2);
    env.sim.addLatency("PUT", "/publicIPPrefixes/", Duration.ofMillis(1500));
    String id = PoolRef.nodepool(SimPool.NODEPOOL).entityId();
    ActorRef<GatewayPool.Command> first = spawn(id);
    TestProbe<StatusReply<ConfigResult>> lost = kit.createTestProbe();
    first.tell(new GatewayPool.EnsureConfig(spec("uid-crash"), lost.getRef()));
    // the prefix PUT is in flight (intent journaled, result not): the controller dies
    Eventually.await(WAIT, () -> env.sim.inFlight("PUT", "/publicIPPrefixes/") > 0, "the prefix PUT in flight");
    kit.stop(first, Duration.ofSeconds(5));
    Eventually.await(WAIT, () -> env.sim.inFlight("PUT", "/publicIPPrefixes/") == 0, "the interrupted PUT answered");
    env.sim.clearFaults();
    assertEquals(1, env.sim.resources("Microsoft.Network/publicIPPrefixes").size(), "the interrupted PUT reached ARM");

    ActorRef<GatewayPool.Command> second = spawn(id);
    ConfigResult r = ensure(second, spec("uid-crash"));

    assertEquals(1, env.sim.resources("Microsoft.Network/publicIPPrefixes").size());
    assertEquals(1, env.sim.count("PUT", "/publicIPPrefixes/"), "the prefix was adopted, not created again");
    assertEquals(env.sim.resources("Microsoft.Network/publicIPPrefixes").get(0).path("properties").path("ipPrefix").asText(), r.egressPrefix());
  }

  @Test
  void etagConflictFromAConcurrentWriterIsReReadAndConverges() {
    env = new SimPool(2);
    String lbId = ArmSimulator.rgId(SimPool.RG) + "/providers/Microsoft.Network/loadBalancers/kubeegressgateway-ilb";
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    ensure(pool, spec("uid-one"));
    // someone else adds a probe to the shared LB between our GET and our PUT
    env.sim.beforeNextPut("/loadBalancers/", s -> s.mutate(lbId, lb -> {
      var probe = ((com.fasterxml.jackson.databind.node.ArrayNode) lb.path("properties").path("probes")).addObject();
      probe.put("name", "foreign-probe").put("id", lbId + "/probes/foreign-probe");
      probe.putObject("properties").put("protocol", "Tcp").put("port", 22);
    }));
    env.sim.clearCalls();
    ConfigResult two = ensure(pool, spec("uid-two"));

    assertEquals(6001, two.port());
    assertTrue(env.sim.calls().stream().anyMatch(c -> c.status() == 412), "the first PUT met the concurrent change");
    JsonNode probes = env.sim.resource(lbId).orElseThrow().path("properties").path("probes");
    Set<String> names = new HashSet<>();
    probes.forEach(p -> names.add(p.path("name").asText()));
    assertEquals(Set.of("uid-one", "uid-two", "foreign-probe"), names, "the foreign change survived our write");
  }

  @Test
  void throttlingStormConvergesHonouringRetryAfter() {
    env = new SimPool(2);
    env.sim.failNext("PUT", "/loadBalancers/", 429, 5, 1);
    env.sim.failNext("PUT", "/virtualMachineScaleSets/[^/]+$", 503, 2, 0);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    ensure(pool, spec("uid-429"));

    List<ArmSimulator.Call> lbPuts = env.sim.calls().stream().filter(c -> c.method().equals("PUT") && c.path().contains("loadBalancers")).toList();
    assertEquals(6, lbPuts.size(), "five throttled attempts, then success");
    for (int i = 1; i < lbPuts.size(); i++) {
      if (lbPuts.get(i - 1).status() == 429) {
        Duration gap = Duration.between(lbPuts.get(i - 1).at(), lbPuts.get(i).at());
        assertTrue(gap.toMillis() >= 950, "retry after " + gap.toMillis() + " ms despite Retry-After: 1");
      }
    }
    assertTrue(lbPuts.get(lbPuts.size() - 1).status() < 300, "the last attempt went through");
    assertEquals(3, env.sim.count("PUT", "/virtualMachineScaleSets/[^/]+$"), "two 503s retried with backoff, then success");
    assertEquals(2, env.sim.resources("Microsoft.Network/networkInterfaces").stream()
        .filter(n -> n.path("properties").path("ipConfigurations").size() == 2).count(), "converged on every instance");
  }

  @Test
  void steadyStateOverASimulatedHourMakesNoWrites() {
    env = new SimPool(3);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    ensure(pool, spec("uid-s1"));
    ConfigResult priv = ensure(pool, new ConfigSpec("ns/s2", "uid-s2", false, 0, ""));
    assertEquals("", priv.prefixId(), "private mode has no prefix");
    assertEquals(String.join(",", priv.nodes().stream().map(n -> n.secondaryIp()).toList()), priv.egressPrefix());
    env.sim.clearCalls();
    long readsBefore = env.clients.reads();
    // 12 drift checks = one hour at the 5 minute resync interval
    // passes run one at a time: a check's reads begin only after the one before it has ended, so a
    // thirteenth check's reads show that the twelfth (and anything it might have written) is over
    long reads = 0;
    long counted = 0;
    for (int i = 0; i < 13; i++) {
      if (i == 12) {
        reads = env.sim.reads();
        counted = env.clients.reads() - readsBefore;
      }
      long before = env.sim.calls().size();
      pool.tell(new GatewayPool.Resync());
      Eventually.await(Duration.ofSeconds(10), () -> env.sim.calls().size() >= before + 5, "drift check " + i + " read ARM");
    }
    System.out.printf("BENCH steady-hour: 2 configs, 3 instances: reads=%d writes=%d%n", reads, env.sim.writes());
    assertEquals(0, env.sim.writes());
    assertEquals(reads, counted, "the call metric counts what ARM saw");
    assertEquals(12 * 5, reads, "five reads per drift check whatever the number of configs");
  }

  @Test
  void driftRemovedIpConfigIsRepaired() {
    env = new SimPool(2);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    ensure(pool, spec("uid-d"));
    // an out-of-band rollout strips our ipConfig from one instance
    String nic = env.sim.resources("Microsoft.Network/networkInterfaces").get(0).path("id").asText();
    env.sim.mutate(nic, n -> ((com.fasterxml.jackson.databind.node.ArrayNode) n.path("properties").path("ipConfigurations")).remove(1));
    pool.tell(new GatewayPool.Resync());
    Eventually.await(Duration.ofSeconds(20), () -> env.sim.resource(nic).orElseThrow().path("properties").path("ipConfigurations").size() >= 2,
        "the ipConfig put back");
    assertEquals(2, env.sim.resource(nic).orElseThrow().path("properties").path("ipConfigurations").size());
  }
}
