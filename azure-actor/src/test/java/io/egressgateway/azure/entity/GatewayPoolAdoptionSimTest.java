package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorRef;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.azure.infra.SimPool;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.PoolRef;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Taking over from the Go original: its rule and probe are named by the GatewayLBConfiguration's uid, its
 * ipConfig and managed prefix by the GatewayVMConfiguration's; the probe path carries the SGC's uid.
 */
class GatewayPoolAdoptionSimTest extends GatewayPoolSimBase {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SGC_UID = "6f1c2d4e-0000-4000-8000-00000000a001";
  private static final String LB_UID = "6f1c2d4e-0000-4000-8000-00000000b002";
  private static final String VM_UID = "6f1c2d4e-0000-4000-8000-00000000c003";
  private static final String LB_ID = ArmSimulator.rgId(SimPool.RG) + "/providers/Microsoft.Network/loadBalancers/kubeegressgateway-ilb";

  private HttpClient http;

  @BeforeEach
  void startPool() {
    env = new SimPool(2);
    http = HttpClient.newBuilder().sslContext(env.sim.sslContext()).build();
  }

  private JsonNode call(String method, String id, JsonNode body) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(env.sim.baseUrl() + id + "?api-version=2024-05-01"))
        .header("Authorization", "Bearer go-controller").header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body.toString())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() < 300, () -> method + " " + id + ": " + r.body());
    return r.body().isEmpty() ? null : JSON.readTree(r.body());
  }

  /** What the Go controller leaves behind for one SGC on the scale set pool, with its WireGuard port 6003. */
  private String seedGoInstall() throws Exception {
    String prefixId = ArmSimulator.rgId(SimPool.RG) + "/providers/Microsoft.Network/publicIPPrefixes/egressgateway-" + VM_UID;
    call("PUT", prefixId, JSON.readTree("{\"location\":\"westeurope\",\"sku\":{\"name\":\"Standard\"},\"properties\":{\"prefixLength\":30}}"));
    ObjectNode vmss = (ObjectNode) call("GET", env.vmssId, null);
    String unique = vmss.path("properties").path("uniqueId").asText();
    ObjectNode lb = JSON.createObjectNode().put("location", "westeurope");
    lb.putObject("sku").put("name", "Standard");
    ObjectNode p = lb.putObject("properties");
    p.putArray("frontendIPConfigurations").addObject().put("name", unique).putObject("properties")
        .put("privateIPAllocationMethod", "Dynamic").putObject("subnet").put("id", SimPool.SUBNET);
    p.putArray("backendAddressPools").addObject().put("name", unique);
    p.putArray("probes").addObject().put("name", LB_UID).putObject("properties").put("protocol", "Http").put("port", 8082)
        .put("requestPath", "/gw/" + SGC_UID).put("intervalInSeconds", 5).put("probeThreshold", 1);
    ObjectNode rule = p.putArray("loadBalancingRules").addObject().put("name", LB_UID).putObject("properties")
        .put("protocol", "Udp").put("frontendPort", 6003).put("backendPort", 6003).put("enableFloatingIP", true);
    rule.putObject("frontendIPConfiguration").put("id", LB_ID + "/frontendIPConfigurations/" + unique);
    rule.putObject("backendAddressPool").put("id", LB_ID + "/backendAddressPools/" + unique);
    rule.putObject("probe").put("id", LB_ID + "/probes/" + LB_UID);
    call("PUT", LB_ID, lb);
    ArrayNode ipConfigs = (ArrayNode) vmss.path("properties").path("virtualMachineProfile").path("networkProfile")
        .path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    ((ObjectNode) ipConfigs.path(0).path("properties")).putArray("loadBalancerBackendAddressPools").addObject()
        .put("id", LB_ID + "/backendAddressPools/" + unique);
    ObjectNode ours = ipConfigs.addObject().put("name", "egressgateway-" + VM_UID).putObject("properties")
        .put("primary", false).put("privateIPAddressVersion", "IPv4");
    ours.putObject("subnet").put("id", SimPool.SUBNET);
    ours.putObject("publicIPAddressConfiguration").put("name", "egressgateway-" + VM_UID).putObject("properties")
        .putObject("publicIPPrefix").put("id", prefixId);
    call("PUT", env.vmssId, vmss);
    call("POST", env.vmssId + "/manualupgrade", JSON.readTree("{\"instanceIds\":[\"0\",\"1\"]}"));
    return prefixId;
  }

  @Test
  void aGoInstallIsAdoptedWithoutDuplicatesOrAPortChangeAndRemovedByItsNames() throws Exception {
    Map<String, JsonNode> beforeGo = env.sim.snapshot();
    String goPrefix = seedGoInstall();
    String goCidr = env.sim.resource(goPrefix).orElseThrow().path("properties").path("ipPrefix").asText();
    env.sim.clearCalls();
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());

    ConfigSpec legacy = new ConfigSpec("ns/sgc", SGC_UID, true, 0, "", LB_UID, "egressgateway-" + VM_UID);
    ConfigResult r = ensure(pool, legacy);
    assertEquals(6003, r.port(), "the existing rule's port is kept");
    assertEquals(goCidr, r.egressPrefix());
    assertEquals(2, r.nodes().size());
    assertEquals(0, env.sim.writes(), "everything was there: nothing is created or rewritten");
    assertEquals(1, env.sim.resources("Microsoft.Network/publicIPPrefixes").size());
    JsonNode lb = env.sim.resource(LB_ID).orElseThrow().path("properties");
    assertEquals(1, lb.path("loadBalancingRules").size());
    assertEquals(1, lb.path("probes").size());
    assertEquals(6003, lb.path("loadBalancingRules").path(0).path("properties").path("frontendPort").asInt());

    // the legacy objects are gone from Kubernetes: the names accepted first stay
    ConfigResult again = ensure(pool, new ConfigSpec("ns/sgc", SGC_UID, true, 0, ""));
    assertEquals(r, again);
    assertEquals(0, env.sim.writes());

    remove(pool, SGC_UID);
    assertTrue(env.sim.resource(goPrefix).isEmpty(), "the Go-made prefix is deleted by its name");
    assertTrue(env.sim.resource(LB_ID).isEmpty(), "rule and probe gone; nothing else on the ILB, so the ILB too");
    assertEquals(beforeGo, env.sim.snapshot(), "the scale set is back to what it was before the Go install");
  }

  /** The private addresses of one ipConfig name on every instance NIC, by NIC id. */
  private Map<String, String> addressesOf(String ipConfig) {
    Map<String, String> out = new TreeMap<>();
    for (JsonNode nic : env.sim.resources("Microsoft.Network/networkInterfaces")) {
      nic.path("properties").path("ipConfigurations").forEach(c -> {
        if (c.path("name").asText().equals(ipConfig)) {
          out.put(nic.path("id").asText(), c.path("properties").path("privateIPAddress").asText());
        }
      });
    }
    return out;
  }

  private boolean modelHas(String ipConfig) {
    JsonNode configs = env.sim.resource(env.vmssId).orElseThrow().path("properties").path("virtualMachineProfile")
        .path("networkProfile").path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    for (JsonNode c : configs) {
      if (c.path("name").asText().equals(ipConfig)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Mid-migration, the Go controller's ipConfig of an SGC not ensured here yet sits on the scale set. Ensuring
   * and removing other configs must leave it (and its addresses) alone, while our own removed ipConfig goes.
   */
  @Test
  void anIpConfigOfANameThePoolDoesNotKnowSurvivesEnsureAndRemove() throws Exception {
    String other = "egressgateway-" + VM_UID;
    ObjectNode vmss = (ObjectNode) call("GET", env.vmssId, null);
    ArrayNode ipConfigs = (ArrayNode) vmss.path("properties").path("virtualMachineProfile").path("networkProfile")
        .path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    ObjectNode theirs = ipConfigs.addObject().put("name", other).putObject("properties").put("primary", false)
        .put("privateIPAddressVersion", "IPv4");
    theirs.putObject("subnet").put("id", SimPool.SUBNET);
    call("PUT", env.vmssId, vmss);
    call("POST", env.vmssId + "/manualupgrade", JSON.readTree("{\"instanceIds\":[\"0\",\"1\"]}"));
    Map<String, String> theirAddresses = addressesOf(other);
    assertEquals(2, theirAddresses.size());

    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId());
    ensure(pool, new ConfigSpec("ns/a", "uid-a", true, 30, ""));
    ConfigResult b = ensure(pool, new ConfigSpec("ns/b", "uid-b", false, 0, ""));
    assertTrue(modelHas(other), "kept by the ensures");
    assertEquals(theirAddresses, addressesOf(other));
    assertEquals(2, addressesOf("egressgateway-uid-a").size());

    remove(pool, "uid-a");
    assertTrue(modelHas(other), "kept by the removal of another config");
    assertEquals(theirAddresses, addressesOf(other));
    assertTrue(!modelHas("egressgateway-uid-a") && addressesOf("egressgateway-uid-a").isEmpty(), "our removed ipConfig is gone");
    assertTrue(env.sim.resources("Microsoft.Network/publicIPPrefixes").isEmpty(), "and so is its prefix");
    assertEquals(b, ensure(pool, new ConfigSpec("ns/b", "uid-b", false, 0, "")), "the remaining config is untouched");
    assertEquals(2, addressesOf("egressgateway-uid-b").size());
  }
}
