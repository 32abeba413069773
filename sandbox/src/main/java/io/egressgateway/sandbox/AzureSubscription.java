package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.armsim.ArmSimulator;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The sandbox's simulated Azure subscription: the ARM simulator seeded with the gateway subnet and scale
 * set (whose instances become the gateway nodes), the inventory it held before any member ran, and the
 * {@link AzureFollower} that makes the VNet stand-in act on what the controller writes. At teardown it
 * deletes the gateway configurations, lets the controller clean up, and records what Azure still holds
 * beyond that initial inventory.
 */
final class AzureSubscription implements AutoCloseable {
  private final ArmSimulator arm;
  private Map<String, JsonNode> initial;
  private AzureFollower follower;
  private String byoPrefixId = "";

  private AzureSubscription(ArmSimulator arm) {
    this.arm = arm;
    arm.setLroDuration(Duration.ofMillis(200));
  }

  static AzureSubscription start() {
    return start(java.util.List.of());
  }

  /** With a certificate that also names {@code extraIps}, the addresses at which the VNet reaches the simulator. */
  static AzureSubscription start(java.util.List<String> extraIps) {
    return new AzureSubscription(ArmSimulator.start(extraIps));
  }

  /** The gateway subnet and a scale set of {@code gateways} instances in it. */
  void seedGatewayPool(int gateways) {
    String subnet = arm.seedNetwork(Sandbox.AZURE_RG, "vnet", "gateways", "10.224.1.0/24");
    arm.seedVmss(Sandbox.AZURE_RG, Sandbox.GATEWAY_POOL, Sandbox.GATEWAY_POOL, gateways, subnet);
  }

  /** A prefix the user made themselves, before the configuration that brings it (an e2e scenario). */
  void seedByoPrefix() {
    byoPrefixId = arm.seedPublicIpPrefix(Sandbox.AZURE_RG, "byo-prefix", 31);
  }

  /**
   * Takes the initial inventory, then starts following the subscription into {@code vnet}. Called after all
   * seeding and before any member starts, so teardown can tell the product's resources from the seed.
   */
  void follow(AzureVnet vnet, java.time.Duration probeEvery) {
    initial = arm.snapshot();
    follower = new AzureFollower(arm, vnet, probeEvery);
    follower.start();
  }

  ArmSimulator arm() {
    return arm;
  }

  AzureFollower follower() {
    return follower;
  }

  /** The resource id of the user's own prefix; empty unless {@link #seedByoPrefix()} ran. */
  String byoPrefixId() {
    return byoPrefixId;
  }

  /** The simulator's port on this host. */
  int port() {
    return Integer.parseInt(arm.baseUrl().replaceAll(".*:(\\d+)/?$", "$1"));
  }

  /** computer name → primary IP of every gateway scale set instance, as the simulator allocated them. */
  Map<String, String> gatewayInstances() {
    Map<String, String> computerByVm = new java.util.HashMap<>();
    arm.resources("Microsoft.Compute/virtualMachineScaleSets/virtualMachines").forEach(vm ->
        computerByVm.put(vm.path("id").asText().toLowerCase(), vm.path("properties").path("osProfile").path("computerName").asText()));
    Map<String, String> out = new java.util.TreeMap<>();
    for (var nic : arm.resources("Microsoft.Network/networkInterfaces")) {
      String computer = computerByVm.get(nic.path("properties").path("virtualMachine").path("id").asText().toLowerCase());
      for (var ipc : nic.path("properties").path("ipConfigurations")) {
        if (ipc.path("properties").path("primary").asBoolean(false) && computer != null) {
          out.put(computer, ipc.path("properties").path("privateIPAddress").asText());
        }
      }
    }
    return out;
  }

  /**
   * The controller's Azure settings, as the chart's custom-cloud values give them: an upstream-style
   * azure.json naming AzureStackCloud, the environment file with the simulator's Resource Manager and
   * sign-in endpoints ({@code AZURE_ENVIRONMENT_FILEPATH}), and its certificate as the CA bundle.
   */
  Map<String, String> controllerEnv(Path stateDir, int armPort) {
    try {
      Path dir = stateDir.resolve("azure");
      Files.createDirectories(dir);
      Path cloud = dir.resolve("azure.json");
      Files.writeString(cloud, cloudConfigJson());
      cloud.toFile().setReadable(false, false);
      cloud.toFile().setReadable(true, true);
      Path environment = dir.resolve("environment.json");
      Files.writeString(environment, environmentJson("https://127.0.0.1:" + armPort + "/"));
      Path cert = dir.resolve("ca.crt");
      Files.writeString(cert, certificatePem());
      return Map.of("EGRESS_AZURE_CONFIG", cloud.toString(),
          "AZURE_ENVIRONMENT_FILEPATH", environment.toString(),
          "EGRESS_AZURE_CA_BUNDLE", cert.toString());
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the controller's Azure settings: " + e.getMessage(), e);
    }
  }

  /** The Go original's azure.json for the simulated subscription, with a client secret (what the simulator accepts). */
  static String cloudConfigJson() {
    return """
        {"cloud":"AzureStackCloud","tenantId":"%s","subscriptionId":"%s","location":"westeurope",
         "resourceGroup":"%s","vnetName":"vnet","vnetResourceGroup":"%s","subnetName":"gateways",
         "aadClientId":"sandbox-controller","aadClientSecret":"sandbox-secret"}
        """.formatted(ArmSimulator.TENANT, ArmSimulator.SUBSCRIPTION, Sandbox.AZURE_RG, Sandbox.AZURE_RG);
  }

  /** cloud-provider-azure's environment file for a cloud whose Resource Manager and sign-in endpoint is {@code base}. */
  static String environmentJson(String base) {
    return "{\"name\":\"AzureStackCloud\",\"resourceManagerEndpoint\":\"" + base + "\",\"activeDirectoryEndpoint\":\"" + base + "\"}\n";
  }

  /** The simulator's certificate (PEM): the CA bundle the controller trusts for it. */
  String certificatePem() {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(arm.tls().certificate().getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The gateway node whose secondary IP leaves the VNet as {@code publicIp}. */
  String gatewayOf(String publicIp) {
    if (follower == null) {
      return "";
    }
    return follower.publicIps().entrySet().stream().filter(e -> e.getValue().equals(publicIp))
        .map(e -> follower.nodesBySecondary().getOrDefault(e.getKey(), "")).findFirst().orElse("");
  }

  /**
   * Deletes every gateway configuration and waits (bounded) until the controller has cleaned up after them,
   * then records under {@code azure} what Azure holds beyond the initial inventory.
   */
  void release(KubernetesClient kube, ObjectNode report, PrintStream out) {
    if (follower != null) {
      follower.close();
    }
    ObjectNode azure = report.putObject("azure");
    try {
      kube.genericKubernetesResources(Demo.SGC).inAnyNamespace().delete();
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (System.nanoTime() < deadline
          && !kube.genericKubernetesResources(Demo.SGC).inAnyNamespace().list().getItems().isEmpty()) {
        Sh.sleep(500);
      }
    } catch (RuntimeException e) {
      azure.put("releaseError", e.getMessage());
    }
    azure.put("reads", arm.reads()).put("writes", arm.writes());
    ArrayNode leftover = azure.putArray("leftover");
    Map<String, JsonNode> now = arm.snapshot();
    now.forEach((id, r) -> {
      if (initial == null || !initial.containsKey(id)) {
        leftover.add(id);
      } else if (!initial.get(id).equals(r)) {
        leftover.add(id + " (changed)");
      }
    });
    if (!leftover.isEmpty()) {
      out.println("Azure resources left after teardown: " + leftover);
    }
  }

  @Override
  public void close() {
    arm.close();
  }
}
