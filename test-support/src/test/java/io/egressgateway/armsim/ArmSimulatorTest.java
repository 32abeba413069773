package io.egressgateway.armsim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The simulator over HTTPS with the plain JDK client: what ARM clients rely on. */
class ArmSimulatorTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String API = "?api-version=2025-03-01";
  private static ArmSimulator sim;
  private static HttpClient http;
  private static String subnet;

  @BeforeAll
  static void start() {
    sim = ArmSimulator.start();
    subnet = sim.seedNetwork("rg-net", "vnet", "gw", "10.1.0.0/24");
    sim.seedVmss("rg", "vmss", "pool", 3, subnet);
    http = HttpClient.newBuilder().sslContext(sim.sslContext()).build();
  }

  @AfterAll
  static void stop() {
    sim.close();
  }

  @BeforeEach
  void reset() {
    sim.clearFaults();
    sim.clearCalls();
  }

  private HttpResponse<String> send(String method, String path, String body, String ifMatch) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.baseUrl() + path + API)).header("Authorization", "Bearer t")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (ifMatch != null) {
      b.header("If-Match", ifMatch);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String prefixPath(String name) {
    return ArmSimulator.rgId("rg") + "/providers/Microsoft.Network/publicIPPrefixes/" + name;
  }

  @Test
  void putIsALongRunningOperationWithAnEtag() throws Exception {
    HttpResponse<String> put = send("PUT", prefixPath("p1"), "{\"location\":\"westeurope\",\"properties\":{\"prefixLength\":30}}", null);
    assertEquals(201, put.statusCode());
    String op = put.headers().firstValue("Azure-AsyncOperation").orElseThrow();
    assertTrue(op.startsWith(sim.baseUrl() + "/operations/"));
    assertTrue(put.headers().firstValue("Retry-After").isPresent());
    HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(op)).header("Authorization", "Bearer t").build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals("Succeeded", JSON.readTree(status.body()).path("status").asText());

    JsonNode got = JSON.readTree(send("GET", prefixPath("p1"), null, null).body());
    assertTrue(got.path("properties").path("ipPrefix").asText().endsWith("/30"));
    String etag = got.path("etag").asText();
    assertEquals(412, send("PUT", prefixPath("p1"), "{\"properties\":{\"prefixLength\":30}}", "W/\"stale\"").statusCode());
    assertEquals(200, send("PUT", prefixPath("p1"), "{\"properties\":{\"prefixLength\":30}}", etag).statusCode());
    assertEquals(202, send("DELETE", prefixPath("p1"), null, null).statusCode());
    assertEquals(204, send("DELETE", prefixPath("p1"), null, null).statusCode(), "deleting what is gone is not an error");
    assertEquals(404, send("GET", prefixPath("p1"), null, null).statusCode());
  }

  @Test
  void rejectsWhatAzureRejects() throws Exception {
    HttpResponse<String> tooBig = send("PUT", prefixPath("big"), "{\"properties\":{\"prefixLength\":24}}", null);
    assertEquals(400, tooBig.statusCode());
    assertEquals("PublicIpPrefixLengthOutOfRange", JSON.readTree(tooBig.body()).path("error").path("code").asText());

    // a /31 has two addresses; the scale set has three instances
    assertEquals(201, send("PUT", prefixPath("small"), "{\"properties\":{\"prefixLength\":31}}", null).statusCode());
    String vmssPath = ArmSimulator.rgId("rg") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss";
    JsonNode vmss = JSON.readTree(send("GET", vmssPath, null, null).body());
    var configs = (com.fasterxml.jackson.databind.node.ArrayNode) vmss.path("properties").path("virtualMachineProfile").path("networkProfile")
        .path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    var extra = configs.addObject().put("name", "egressgateway-x");
    var props = extra.putObject("properties");
    props.putObject("subnet").put("id", subnet);
    props.putObject("publicIPAddressConfiguration").put("name", "egressgateway-x").putObject("properties")
        .putObject("publicIPPrefix").put("id", prefixPath("small"));
    HttpResponse<String> put = send("PUT", vmssPath, vmss.toString(), null);
    assertEquals(400, put.statusCode());
    assertEquals("PublicIpPrefixOutOfIpAddressesForVMScaleSet", JSON.readTree(put.body()).path("error").path("code").asText());

    // an LB rule pointing at a frontend that does not exist
    String lb = ArmSimulator.rgId("rg") + "/providers/Microsoft.Network/loadBalancers/lb";
    HttpResponse<String> badLb = send("PUT", lb, "{\"properties\":{\"loadBalancingRules\":[{\"name\":\"r\",\"properties\":"
        + "{\"protocol\":\"Udp\",\"frontendPort\":6000,\"backendPort\":6000,\"frontendIPConfiguration\":{\"id\":\"" + lb + "/frontendIPConfigurations/nope\"}}}]}}", null);
    assertEquals(400, badLb.statusCode());
    assertEquals("InvalidResourceReference", JSON.readTree(badLb.body()).path("error").path("code").asText());
    assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + lb + API)).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
  }

  @Test
  void injectedFaultsAndTheCallLog() throws Exception {
    sim.failNext("GET", "/publicIPPrefixes$", 429, 1, 7);
    sim.failNext("GET", "/publicIPPrefixes$", 503, 1, 0);
    String list = ArmSimulator.rgId("rg") + "/providers/Microsoft.Network/publicIPPrefixes";
    HttpResponse<String> first = send("GET", list, null, null);
    assertEquals(429, first.statusCode());
    assertEquals("7", first.headers().firstValue("Retry-After").orElseThrow());
    assertEquals(503, send("GET", list, null, null).statusCode());
    assertEquals(200, send("GET", list, null, null).statusCode());
    sim.addLatency("GET", "/virtualNetworks/", Duration.ofMillis(300));
    long t0 = System.nanoTime();
    assertEquals(200, send("GET", subnet, null, null).statusCode());
    assertTrue(System.nanoTime() - t0 >= 300_000_000L);
    assertEquals(4, sim.calls().size());
    assertEquals(4, sim.reads());
    assertEquals(0, sim.writes());
  }

  @Test
  void scaleSetNicsAreListedInOneCallAndInstancesFollowTheModelOnManualUpgrade() throws Exception {
    String vmssPath = ArmSimulator.rgId("rg") + "/providers/Microsoft.Compute/virtualMachineScaleSets/vmss";
    JsonNode nics = JSON.readTree(send("GET", vmssPath + "/networkInterfaces", null, null).body()).path("value");
    assertEquals(3, nics.size());
    JsonNode vmss = JSON.readTree(send("GET", vmssPath, null, null).body());
    var configs = (com.fasterxml.jackson.databind.node.ArrayNode) vmss.path("properties").path("virtualMachineProfile").path("networkProfile")
        .path("networkInterfaceConfigurations").path(0).path("properties").path("ipConfigurations");
    configs.addObject().put("name", "second").putObject("properties").putObject("subnet").put("id", subnet);
    assertEquals(200, send("PUT", vmssPath, vmss.toString(), vmss.path("etag").asText()).statusCode());
    JsonNode vm0 = JSON.readTree(send("GET", vmssPath + "/virtualMachines/0", null, null).body());
    assertEquals(false, vm0.path("properties").path("latestModelApplied").asBoolean());
    assertEquals(202, send("POST", vmssPath + "/manualupgrade", "{\"instanceIds\":[\"0\",\"1\",\"2\"]}", null).statusCode());
    for (JsonNode nic : JSON.readTree(send("GET", vmssPath + "/networkInterfaces", null, null).body()).path("value")) {
      assertEquals(2, nic.path("properties").path("ipConfigurations").size());
      assertTrue(nic.path("properties").path("ipConfigurations").path(1).path("properties").path("privateIPAddress").asText().startsWith("10.1.0."));
    }
    assertTrue(JSON.readTree(send("GET", vmssPath + "/virtualMachines/0", null, null).body()).path("properties").path("latestModelApplied").asBoolean());
  }

  @Test
  void vmPoolNicsTakeIpConfigsAndPublicIpsFromAPrefix() throws Exception {
    java.util.List<String> nics = sim.seedVmPool("rg-vm", "vmpool", 2, subnet);
    String vms = ArmSimulator.rgId("rg-vm") + "/providers/Microsoft.Compute/virtualMachines";
    JsonNode vmList = JSON.readTree(send("GET", vms, null, null).body()).path("value");
    assertEquals(2, vmList.size());
    assertEquals("vmpool", vmList.path(0).path("tags").path("aks-managed-poolName").asText());
    assertEquals("aks-vmpool-vm0", vmList.path(0).path("properties").path("osProfile").path("computerName").asText());
    JsonNode nicList = JSON.readTree(send("GET", ArmSimulator.rgId("rg-vm") + "/providers/Microsoft.Network/networkInterfaces", null, null).body()).path("value");
    assertEquals(2, nicList.size(), "scale set NICs are not in the resource group's list");
    assertTrue(nicList.path(0).path("tags").has("aks-managed-static-gateway-nic"));
    assertEquals(vmList.path(0).path("id").asText(), nicList.path(0).path("properties").path("virtualMachine").path("id").asText());

    // a /31 prefix: two public IPs, the third is refused
    String prefix = ArmSimulator.rgId("rg-vm") + "/providers/Microsoft.Network/publicIPPrefixes/pp";
    assertEquals(201, send("PUT", prefix, "{\"properties\":{\"prefixLength\":31}}", null).statusCode());
    String pipBody = "{\"properties\":{\"publicIPAllocationMethod\":\"Static\",\"publicIPPrefix\":{\"id\":\"" + prefix + "\"}}}";
    String pips = ArmSimulator.rgId("rg-vm") + "/providers/Microsoft.Network/publicIPAddresses/";
    assertEquals(201, send("PUT", pips + "a", pipBody, null).statusCode());
    assertEquals(201, send("PUT", pips + "b", pipBody, null).statusCode());
    HttpResponse<String> full = send("PUT", pips + "c", pipBody, null);
    assertEquals(400, full.statusCode());
    assertEquals("PublicIpPrefixOutOfIpAddressesForPublicIp", JSON.readTree(full.body()).path("error").path("code").asText());
    String ipA = JSON.readTree(send("GET", pips + "a", null, null).body()).path("properties").path("ipAddress").asText();
    String cidr = JSON.readTree(send("GET", prefix, null, null).body()).path("properties").path("ipPrefix").asText();
    assertEquals(cidr.substring(0, cidr.indexOf('/')), ipA, "the first public IP takes the prefix's first address");
    assertEquals(200, send("PUT", pips + "a", pipBody, null).statusCode(), "a repeated PUT keeps the address");
    assertEquals(ipA, JSON.readTree(send("GET", pips + "a", null, null).body()).path("properties").path("ipAddress").asText());

    // a secondary ipConfig with public IP a: a private IP from the subnet; a stale If-Match is refused
    JsonNode nic = JSON.readTree(send("GET", nics.get(0), null, null).body());
    var configs = (com.fasterxml.jackson.databind.node.ArrayNode) nic.path("properties").path("ipConfigurations");
    var extra = configs.addObject().put("name", "egressgateway-x").putObject("properties");
    extra.putObject("subnet").put("id", subnet);
    extra.putObject("publicIPAddress").put("id", pips + "a");
    assertEquals(412, send("PUT", nics.get(0), nic.toString(), "W/\"stale\"").statusCode());
    HttpResponse<String> put = send("PUT", nics.get(0), nic.toString(), nic.path("etag").asText());
    assertEquals(200, put.statusCode());
    assertTrue(put.headers().firstValue("Azure-AsyncOperation").isPresent(), "a NIC write is a long-running operation");
    JsonNode after = JSON.readTree(send("GET", nics.get(0), null, null).body());
    JsonNode second = after.path("properties").path("ipConfigurations").path(1);
    assertTrue(second.path("properties").path("privateIPAddress").asText().startsWith("10.1.0."));
    assertEquals(pips + "a", second.path("properties").path("publicIPAddress").path("id").asText());
    // the other NIC cannot take the same public IP; an attached public IP and a prefix with public IPs stay
    JsonNode other = JSON.readTree(send("GET", nics.get(1), null, null).body());
    var otherExtra = ((com.fasterxml.jackson.databind.node.ArrayNode) other.path("properties").path("ipConfigurations"))
        .addObject().put("name", "egressgateway-x").putObject("properties");
    otherExtra.putObject("subnet").put("id", subnet);
    otherExtra.putObject("publicIPAddress").put("id", pips + "a");
    assertEquals("PublicIPAddressInUse", JSON.readTree(send("PUT", nics.get(1), other.toString(), null).body()).path("error").path("code").asText());
    assertEquals("PublicIPAddressCannotBeDeleted", JSON.readTree(send("DELETE", pips + "a", null, null).body()).path("error").path("code").asText());
    assertEquals("InUsePublicIpPrefixCannotBeDeleted", JSON.readTree(send("DELETE", prefix, null, null).body()).path("error").path("code").asText());

    // detaching frees the public IP; then IPs, then the prefix can go
    ((com.fasterxml.jackson.databind.node.ArrayNode) after.path("properties").path("ipConfigurations")).remove(1);
    assertEquals(200, send("PUT", nics.get(0), after.toString(), after.path("etag").asText()).statusCode());
    assertTrue(JSON.readTree(send("GET", pips + "a", null, null).body()).path("properties").path("ipConfiguration").isMissingNode());
    assertEquals(202, send("DELETE", pips + "a", null, null).statusCode());
    assertEquals(202, send("DELETE", pips + "b", null, null).statusCode());
    assertEquals(202, send("DELETE", prefix, null, null).statusCode());
    assertEquals(1, JSON.readTree(send("GET", nics.get(0), null, null).body()).path("properties").path("ipConfigurations").size());
    assertTrue(sim.writes() >= 9 && sim.reads() >= 8, "VM-pool calls land in the counters");
  }

  @Test
  void tokenEndpointAnswersCredentialFlows() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/" + ArmSimulator.TENANT + "/oauth2/v2.0/token"))
        .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertEquals(ArmSimulator.ACCESS_TOKEN, JSON.readTree(r.body()).path("access_token").asText());
  }
}
