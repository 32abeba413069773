package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.armsim.ArmSimulator;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The end-to-end scenarios {@code --e2e} adds next to the demo (manifests in {@code demo/e2e.yaml}): a
 * bring-your-own prefix (its SGC carrying a field this version does not know), two configurations on one
 * pool, private mode with {@code azureNetworking}, and a
 * pod whose configuration does not exist when it starts. Each check lands in the report's {@code e2e} object with
 * what was seen next to what was expected. Live reconfiguration ({@link Reconfig}), the cluster-wide policy
 * ({@link Policy}) and prefix grants ({@link Grants}) have report keys of their own.
 */
final class E2e {
  static final String NS = "e2e";
  static final String LATE_SGC = """
      apiVersion: egressgateway.kubernetes.azure.com/v1alpha1
      kind: StaticGatewayConfiguration
      metadata:
        name: late
        namespace: e2e
      spec:
        gatewayNodepoolName: gwpool
        provisionPublicIps: true
      """;

  private E2e() {}

  /** The scenario manifests with the BYO prefix id and the private service address filled in. */
  static InputStream manifests(String byoPrefixId, String privateServiceIp) {
    try (InputStream in = E2e.class.getResourceAsStream("/demo/e2e.yaml")) {
      if (in == null) {
        throw new IllegalStateException("e2e manifests missing from the sandbox jar");
      }
      String yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .replace("${BYO_PREFIX_ID}", byoPrefixId).replace("${PRIVATE_SERVICE_IP}", privateServiceIp);
      return new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits until pod {@code e2e/late} has failed its CNI ADD (the sandbox runtime writes the error into the
   * pod's status message, as a kubelet does), then creates its configuration. Returns what happened.
   */
  static String createLateConfig(KubernetesClient client, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String message = "";
    while (System.nanoTime() < deadline) {
      Pod p = client.pods().inNamespace(NS).withName("late").get();
      message = p == null || p.getStatus() == null || p.getStatus().getMessage() == null ? "" : p.getStatus().getMessage();
      if (message.contains("CNI ADD failed")) {
        break;
      }
      Sh.sleep(200);
    }
    Demo.apply(client, new ByteArrayInputStream(LATE_SGC.getBytes(StandardCharsets.UTF_8)));
    return message.isEmpty()
        ? "pod e2e/late showed no CNI error within " + timeout.toSeconds() + " s; created its configuration anyway"
        : "pod e2e/late: " + message + "\n  -> created StaticGatewayConfiguration e2e/late";
  }

  /** True when the pod's configuration has {@code provisionPublicIps: false}. */
  static boolean privateMode(KubernetesClient client, Pod pod) {
    return spec(client, pod.getMetadata().getNamespace(), pod.getMetadata().getAnnotations().get(Demo.ANNOTATION))
        .map(s -> Boolean.FALSE.equals(s.get("provisionPublicIps"))).orElse(false);
  }

  /**
   * A private-mode pod with {@code defaultRoute: azureNetworking}: the configuration's status lists the
   * gateways' secondary (private) IPs; the private service (the one CIDR routed through the gateway) sees
   * one of them; the internet sees the VNet's default outbound address, none of them.
   */
  static Demo.PodCheck checkPrivatePod(KubernetesClient client, Pod pod, PodRuntime.PodEvent e, String internetSeen,
      String serviceIp) {
    String ns = pod.getMetadata().getNamespace();
    String sgc = pod.getMetadata().getAnnotations().get(Demo.ANNOTATION);
    List<String> listed = Demo.egressPrefix(client, ns, sgc).map(v -> Arrays.stream(v.split(",")).map(String::trim).toList())
        .orElse(List.of());
    String privateSeen = Demo.echoFrom(e.netns(), serviceIp, Duration.ofSeconds(10)).orElse("");
    boolean endpoint = Demo.podEndpointExists(client, ns, pod.getMetadata().getName(), Duration.ofSeconds(10));
    boolean ok = listed.size() >= 2 && listed.contains(privateSeen) && !internetSeen.isEmpty()
        && !listed.contains(internetSeen) && AzureVnet.DEFAULT_OUTBOUND_IP.equals(internetSeen) && endpoint;
    String detail = "internet sees " + (internetSeen.isEmpty() ? "nothing" : internetSeen)
        + (endpoint ? "" : "; no PodEndpoint object");
    return new Demo.PodCheck(ns + "/" + pod.getMetadata().getName(), e.node(), "", privateSeen,
        "one of " + String.join(",", listed), ok, e.addMillis(), detail);
  }

  /** The scenario checks over the pod results already in {@code pods}; writes the {@code e2e} object. */
  static ObjectNode check(KubernetesClient client, ArmSimulator arm, String byoPrefixId, JsonNode pods,
      Map<String, PodRuntime.PodEvent> events, PrintStream out) {
    ObjectNode r = new ObjectMapper().createObjectNode();

    // bring your own prefix: the status shows it, the pod egresses from it, it is not ours to delete
    String byoCidr = arm.resource(byoPrefixId).map(p -> p.path("properties").path("ipPrefix").asText("")).orElse("");
    String byoStatus = Demo.egressPrefix(client, NS, "byo").orElse("");
    JsonNode byoPod = find(pods, NS + "/byo");
    String byoIp = byoPod.path("egressIp").asText("");
    boolean byoOk = !byoCidr.isEmpty() && byoCidr.equals(byoStatus) && !byoIp.isEmpty() && Demo.inCidr(byoIp, byoCidr)
        && byoPod.path("ok").asBoolean();
    r.putObject("byo").put("prefix", byoCidr).put("statusPrefix", byoStatus).put("egressIp", byoIp).put("ok", byoOk);

    // two configurations on one pool: each pod leaves from its own prefix
    JsonNode demoPod = find(pods, "demo/annotated");
    String demoPrefix = Demo.egressPrefix(client, "demo", "egress-demo").orElse("");
    String demoIp = demoPod.path("egressIp").asText("");
    boolean twoOk = !demoPrefix.isEmpty() && !byoCidr.isEmpty() && !demoPrefix.equals(byoCidr)
        && !demoIp.isEmpty() && Demo.inCidr(demoIp, demoPrefix) && !Demo.inCidr(demoIp, byoCidr)
        && !byoIp.isEmpty() && !Demo.inCidr(byoIp, demoPrefix);
    r.putObject("twoConfigsOnePool").put("demoPrefix", demoPrefix).put("demoEgressIp", demoIp)
        .put("byoPrefix", byoCidr).put("byoEgressIp", byoIp).put("ok", twoOk);

    // private mode + azureNetworking
    JsonNode priv = find(pods, NS + "/private");
    String privStatus = Demo.egressPrefix(client, NS, "private").orElse("");
    r.putObject("privateAzureNetworking").put("egressIpPrefix", privStatus)
        .put("privateServiceSaw", priv.path("egressIp").asText("")).put("internetSaw", priv.path("detail").asText(""))
        .put("ok", priv.path("ok").asBoolean());

    // a pod whose configuration did not exist yet: a clear CNI error first, then success
    PodRuntime.PodEvent late = events.get(NS + "/late");
    String firstError = late == null ? "" : late.firstError();
    JsonNode latePod = find(pods, NS + "/late");
    boolean clear = firstError.contains("e2e/late") && (firstError.contains("not known") || firstError.contains("not ready"));
    r.putObject("notReadyThenReady").put("firstError", firstError).put("egressIp", latePod.path("egressIp").asText(""))
        .put("clearError", clear).put("ok", clear && latePod.path("ok").asBoolean());

    boolean all = byoOk && twoOk && priv.path("ok").asBoolean() && r.path("notReadyThenReady").path("ok").asBoolean();
    r.put("ok", all);
    out.println("e2e: byo " + ok(byoOk) + " (" + byoStatus + ", pod " + byoIp + "), two configs on one pool " + ok(twoOk)
        + ", private+azureNetworking " + ok(priv.path("ok").asBoolean()) + " (" + privStatus + "), not ready -> ready "
        + ok(r.path("notReadyThenReady").path("ok").asBoolean()) + " (first error: " + firstError + ")");
    return r;
  }

  private static Optional<Map<?, ?>> spec(KubernetesClient client, String ns, String name) {
    GenericKubernetesResource sgc = client.genericKubernetesResources(Demo.SGC).inNamespace(ns).withName(name).get();
    return sgc != null && sgc.getAdditionalProperties().get("spec") instanceof Map<?, ?> m ? Optional.of(m) : Optional.empty();
  }

  private static JsonNode find(JsonNode pods, String name) {
    for (JsonNode p : pods) {
      if (p.path("name").asText().equals(name)) {
        return p;
      }
    }
    return new ObjectMapper().createObjectNode();
  }

  private static String ok(boolean b) {
    return b ? "ok" : "FAILED";
  }
}
