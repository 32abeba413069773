package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import com.fasterxml.jackson.databind.JsonNode;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.azure.infra.SimPool;
import io.egressgateway.azure.model.AzureNames;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.NodeAddress;
import io.egressgateway.azure.model.PoolRef;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The pool entity on an AKS "VirtualMachines" pool, with the real SDK over HTTPS against the ARM simulator:
 * tagged VMs whose pre-created gateway NICs get the per-config ipConfigs and public IPs. Also the pool's
 * prefix size tag, on both kinds of pool.
 */
class GatewayPoolVmSimTest extends GatewayPoolSimBase {
  private static final String POOL_ID = PoolRef.nodepool(SimPool.VMPOOL).entityId();
  private static final String PIPS = "Microsoft.Network/publicIPAddresses";
  private static final String PREFIXES = "Microsoft.Network/publicIPPrefixes";

  private static void await(BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(WAIT, condition, what);
  }

  private void tagPool(String key, String value) {
    for (JsonNode vm : env.sim.resources("Microsoft.Compute/virtualMachines")) {
      env.sim.mutate(vm.path("id").asText(), v -> v.with("tags").put(key, value));
    }
  }

  private JsonNode nic(String id) {
    return env.sim.resource(id).orElseThrow();
  }

  /** A config that leaves the prefix length to the pool (node-pool mode). */
  private static ConfigSpec fromPool(String uid) {
    return new ConfigSpec("ns/" + uid, uid, true, 0, "");
  }

  @Test
  void createOnATaggedVmPoolMakesExactlyTheExpectedResourcesAndDeleteRestoresTheInventory() {
    env = SimPool.vmPool(3);
    tagPool(AzureNames.PREFIX_SIZE_TAG, "30");
    Map<String, JsonNode> initial = env.sim.snapshot();
    String otherBefore = nic(env.otherNic).toString();
    ActorRef<GatewayPool.Command> pool = spawn(POOL_ID);

    ConfigResult r = ensure(pool, fromPool("uid-v"));
    System.out.printf("BENCH vm-pool-create: 1 config, 3 gateway NICs: reads=%d writes=%d (%s)%n",
        env.sim.reads(), env.sim.writes(), writeSummary());

    String uniqueId = AzureNames.vmPoolUniqueId(SimPool.VMPOOL);
    JsonNode lb = env.sim.resource(ArmSimulator.rgId(SimPool.RG) + "/providers/Microsoft.Network/loadBalancers/kubeegressgateway-ilb")
        .orElseThrow().path("properties");
    assertEquals(uniqueId, lb.path("frontendIPConfigurations").path(0).path("name").asText());
    assertEquals(uniqueId, lb.path("backendAddressPools").path(0).path("name").asText());
    assertEquals(1, lb.path("loadBalancingRules").size());
    assertEquals("uid-v", lb.path("loadBalancingRules").path(0).path("name").asText());
    assertEquals("/gw/uid-v", lb.path("probes").path(0).path("properties").path("requestPath").asText());
    assertEquals(6000, r.port());

    List<JsonNode> prefixes = env.sim.resources(PREFIXES);
    assertEquals(1, prefixes.size());
    JsonNode prefix = prefixes.get(0);
    assertEquals("egressgateway-uid-v", prefix.path("name").asText());
    assertEquals(30, prefix.path("properties").path("prefixLength").asInt(), "the pool's tag sets the length");
    assertEquals(prefix.path("properties").path("ipPrefix").asText(), r.egressPrefix());

    List<JsonNode> pips = env.sim.resources(PIPS);
    assertEquals(3, pips.size(), "one public IP per gateway NIC");
    Set<String> addresses = new HashSet<>();
    for (JsonNode pip : pips) {
      assertTrue(pip.path("properties").path("publicIPPrefix").path("id").asText().equalsIgnoreCase(prefix.path("id").asText()));
      assertEquals("Static", pip.path("properties").path("publicIPAllocationMethod").asText());
      addresses.add(pip.path("properties").path("ipAddress").asText());
    }
    assertEquals(3, addresses.size());

    Map<String, String> secondaryByNode = new TreeMap<>();
    for (int i = 0; i < 3; i++) {
      JsonNode n = nic(env.gatewayNics.get(i));
      JsonNode cfgs = n.path("properties").path("ipConfigurations");
      assertEquals(2, cfgs.size());
      JsonNode primary = cfgs.path(0).path("properties");
      assertTrue(primary.path("loadBalancerBackendAddressPools").path(0).path("id").asText().endsWith("/backendAddressPools/" + uniqueId));
      JsonNode ours = cfgs.path(1);
      assertEquals("egressgateway-uid-v", ours.path("name").asText());
      assertTrue(ours.path("properties").path("publicIPAddress").path("id").asText()
          .endsWith("/" + AzureNames.publicIpName("egressgateway-uid-v", n.path("name").asText())), "upstream's public IP name");
      secondaryByNode.put("aks-gwvms-vm" + i, ours.path("properties").path("privateIPAddress").asText());
    }
    assertEquals(otherBefore, nic(env.otherNic).toString(), "a NIC without the gateway NIC tag is not touched");
    Map<String, String> reported = new TreeMap<>();
    for (NodeAddress n : r.nodes()) {
      reported.put(n.node(), n.secondaryIp());
      assertFalse(n.primaryIp().isEmpty());
    }
    assertEquals(secondaryByNode, reported, "nodes are named by their VMs' computer names");

    env.sim.clearCalls();
    remove(pool, "uid-v");
    System.out.printf("BENCH vm-pool-delete: 1 config, 3 gateway NICs: reads=%d writes=%d (%s)%n",
        env.sim.reads(), env.sim.writes(), writeSummary());
    assertEquals(initial, env.sim.snapshot(), "public IPs, ipConfigs, pool membership, prefix and ILB are gone");
  }

  @Test
  void steadyStateOnAVmPoolMakesNoWritesAndPrivateModeReportsTheStableNicIps() {
    env = SimPool.vmPool(3);
    ActorRef<GatewayPool.Command> pool = spawn(POOL_ID);
    ensure(pool, new ConfigSpec("ns/pub", "uid-pub", true, 30, ""));
    ConfigResult priv = ensure(pool, new ConfigSpec("ns/priv", "uid-priv", false, 0, ""));
    assertEquals("", priv.prefixId());
    assertEquals(3, env.sim.resources(PIPS).size(), "private mode adds no public IP");
    List<String> secondaries = new ArrayList<>();
    for (String id : env.gatewayNics) {
      for (JsonNode c : nic(id).path("properties").path("ipConfigurations")) {
        if (c.path("name").asText().equals("egressgateway-uid-priv")) {
          assertTrue(c.path("properties").path("publicIPAddress").isMissingNode());
          secondaries.add(c.path("properties").path("privateIPAddress").asText());
        }
      }
    }
    assertEquals(3, secondaries.size());
    assertEquals(String.join(",", priv.nodes().stream().map(NodeAddress::secondaryIp).toList()), priv.egressPrefix());
    assertEquals(Set.copyOf(secondaries), Set.of(priv.egressPrefix().split(",")), "status lists the NICs' secondary IPs");

    env.sim.clearCalls();
    for (int i = 0; i < 12; i++) {
      long before = env.sim.calls().size();
      pool.tell(new GatewayPool.Resync());
      await(() -> env.sim.calls().size() >= before + 5, "a drift check");
    }
    await(() -> env.sim.inFlight("GET", "/") == 0, "the last drift check's reads");
    // a trigger arriving during a round makes one more round, so there may be a few more than twelve checks
    long reads = env.sim.reads();
    System.out.printf("BENCH vm-pool-steady-hour: 2 configs, 3 gateway NICs: %d drift checks, reads=%d writes=%d%n",
        reads / 5, reads, env.sim.writes());
    assertEquals(0, env.sim.writes());
    assertTrue(reads >= 12 * 5 && reads % 5 == 0, "five reads per drift check whatever the number of configs or NICs: " + reads);
    assertEquals(priv, ensure(pool, new ConfigSpec("ns/priv", "uid-priv", false, 0, "")), "a repeated ensure is answered from memory");
  }

  @Test
  void crashBetweenPublicIpIntentAndResultAdoptsInsteadOfDuplicating() {
    env = SimPool.vmPool(3);
    env.sim.addLatency("PUT", "/publicIPAddresses/", Duration.ofMillis(800));
    ActorRef<GatewayPool.Command> first = spawn(POOL_ID);
    first.tell(new GatewayPool.EnsureConfig(new ConfigSpec("ns/c", "uid-c", true, 30, ""), kit.<StatusReply<ConfigResult>>createTestProbe().getRef()));
    await(() -> env.sim.inFlight("PUT", "/publicIPAddresses/") > 0, "the first public IP PUT in flight");
    kit.stop(first, Duration.ofSeconds(5));
    await(() -> env.sim.inFlight("PUT", "/publicIPAddresses/") == 0 && env.sim.resources(PIPS).size() == 1, "the interrupted PUT to land");
    env.sim.clearFaults();

    ConfigResult r = ensure(spawn(POOL_ID), new ConfigSpec("ns/c", "uid-c", true, 30, ""));
    assertEquals(3, env.sim.resources(PIPS).size());
    assertEquals(3, env.sim.count("PUT", "/publicIPAddresses/"), "the public IP made before the crash was adopted, not made again");
    assertEquals(1, env.sim.resources(PREFIXES).size());
    assertEquals(3, r.nodes().size());
  }

  @Test
  void anUntaggedPoolGetsTheDefaultLengthAndAScaleSetTaggedThirtyGetsASlashThirty() {
    env = SimPool.vmPool(2);
    ensure(spawn(POOL_ID), fromPool("uid-d"));
    assertEquals(31, env.sim.resources(PREFIXES).get(0).path("properties").path("prefixLength").asInt(),
        "no tag: egress.azure.default-prefix-length");
    env.close();

    env = new SimPool(3);
    env.sim.mutate(env.vmssId, v -> v.with("tags").put(AzureNames.PREFIX_SIZE_TAG, "30"));
    ConfigResult r = ensure(spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId()), fromPool("uid-t"));
    assertEquals(30, env.sim.resources(PREFIXES).get(0).path("properties").path("prefixLength").asInt());
    assertTrue(r.egressPrefix().endsWith("/30"));
  }

  @Test
  void aMalformedPrefixSizeTagIsAClearErrorAndNothingIsWritten() {
    env = SimPool.vmPool(2);
    tagPool(AzureNames.PREFIX_SIZE_TAG, "abc");
    StatusReply<ConfigResult> r = ask(spawn(POOL_ID), fromPool("uid-bad"));
    assertTrue(r.isError());
    String msg = r.getError().getMessage();
    assertTrue(msg.contains(AzureNames.PREFIX_SIZE_TAG) && msg.contains("'abc'") && msg.contains("28 to 31"), msg);
    assertEquals(0, env.sim.writes());
    assertTrue(env.sim.resources(PREFIXES).isEmpty());
  }
}
