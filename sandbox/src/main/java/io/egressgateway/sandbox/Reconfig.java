package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Live reconfiguration ({@code --e2e}, report key {@code reconfig}): the demo's configuration {@code
 * demo/egress-demo} is changed under its running pod {@code demo/annotated}, once for each kind of change the
 * sandbox can make (its {@code excludeCidrs} both ways, its {@code defaultRoute} both ways, its gateway key by
 * deleting the key Secret; the ILB address and port and the prefix are Azure's to choose here), and put back
 * as it was. The pod is never restarted. Per change:
 *
 * <ul>
 *   <li>{@code followMs}: from the change to the first reply showing the pod's traffic follows it (the echo
 *       sees the address the new configuration means); {@code provisionedMs}: to the status showing the new
 *       generation (or gateway key). {@code ok} needs {@code followMs <= provisionedMs + 2000}.
 *   <li>{@code leaked}: replies to the pod's requests to the internet echo that the echo saw from an address
 *       outside the egress prefix while the pod's default route was the gateway (during the change; for the
 *       change back to the gateway, from when it followed); must be 0.
 *   <li>{@code pods}: the status's {@code pods} once {@code PodsUpToDate} and {@code Ready} are true for the
 *       new generation.
 * </ul>
 */
final class Reconfig {
  static final String NS = "demo";
  static final String SGC = "egress-demo";
  static final String POD = NS + "/annotated";
  static final long BUDGET_MS = 2000;
  private static final Duration WAIT = Duration.ofSeconds(40);
  private static final ObjectMapper JSON = new ObjectMapper();

  private Reconfig() {}

  /** Runs every change on the pod in {@code podNetns}; one report entry per change. */
  static ArrayNode run(KubernetesClient client, String podNetns, PrintStream out) {
    ArrayNode results = JSON.createArrayNode();
    String prefix = Demo.egressPrefix(client, NS, SGC).orElse("");
    if (prefix.isEmpty() || podNetns == null) {
      results.addObject().put("change", "setup").put("followMs", -1).put("leaked", 0).put("ok", false)
          .put("detail", "no egress prefix for " + NS + "/" + SGC + " or no running " + POD);
      return results;
    }
    Predicate<String> egress = ip -> Demo.inCidr(ip, prefix);
    try (Traffic probe = new Traffic(podNetns); Traffic excluded = new Traffic(podNetns, AzureVnet.ECHO_EXCLUDED_IP)) {
      Sh.sleep(500); // both streams under way before the first change
      results.add(change(client, "excludeCidrs (range removed: now through the gateway)",
          spec -> spec.put("excludeCidrs", List.of()), excluded, egress, probe, egress, false));
      results.add(change(client, "excludeCidrs (range added back: bypasses the gateway)",
          spec -> spec.put("excludeCidrs", List.of(AzureVnet.EXCLUDED_CIDR)), excluded, egress.negate(), probe, egress, false));
      results.add(change(client, "defaultRoute=azureNetworking",
          spec -> spec.put("defaultRoute", "azureNetworking"), probe, egress.negate(), null, egress, false));
      results.add(change(client, "defaultRoute=staticEgressGateway",
          spec -> spec.remove("defaultRoute"), probe, egress, probe, egress, true));
      results.add(gatewayKey(client, probe, egress));
    }
    StringBuilder line = new StringBuilder("reconfig:");
    results.forEach(r -> line.append(" ").append(r.path("change").asText()).append(" ").append(r.path("followMs").asLong())
        .append(" ms, leaked ").append(r.path("leaked").asLong()).append(r.path("ok").asBoolean() ? " ok;" : " FAILED;"));
    out.println(line);
    return results;
  }

  static boolean allOk(ArrayNode results) {
    boolean ok = !results.isEmpty();
    for (var r : results) {
      ok &= r.path("ok").asBoolean(false);
    }
    return ok;
  }

  /**
   * Patches the spec with {@code edit}; waits until {@code follower}'s replies are seen as {@code followed} and the
   * status shows the new generation with every pod on it. {@code leakProbe} (may be null) must see only
   * addresses {@code onGateway} accepts, from the change on (or from when it followed, {@code leakAfterFollow}).
   */
  private static ObjectNode change(KubernetesClient client, String what, Consumer<Map<String, Object>> edit,
      Traffic follower, Predicate<String> followed, Traffic leakProbe, Predicate<String> onGateway, boolean leakAfterFollow) {
    long start = System.nanoTime();
    long generation = patch(client, edit);
    long deadline = start + WAIT.toNanos();
    long followAt = -1;
    long provisionedAt = -1;
    while (System.nanoTime() < deadline && (followAt < 0 || provisionedAt < 0)) {
      if (followAt < 0) {
        followAt = follower.firstReplyAfter(start, followed);
      }
      if (provisionedAt < 0 && status(client).path("observedGeneration").asLong() >= generation) {
        provisionedAt = System.nanoTime();
      }
      Sh.sleep(50);
    }
    String pods = upToDate(client, generation, deadline);
    long end = System.nanoTime();
    long leaked = leakProbe == null ? 0
        : leakProbe.repliesSeenAs(leakAfterFollow && followAt > 0 ? followAt : start, end, onGateway.negate());
    return entry(what, start, followAt, provisionedAt, leaked, pods, "generation " + generation);
  }

  /**
   * The gateway key: the key Secret is deleted, the controller makes a new pair; the pod's tunnel must take the
   * new gateway key (the gateways drop sessions of the old one), its traffic still leaving through the gateway.
   */
  private static ObjectNode gatewayKey(KubernetesClient client, Traffic probe, Predicate<String> egress) {
    var profile = status(client).path("gatewayServerProfile");
    String oldKey = profile.path("publicKey").asText("");
    String secret = profile.path("privateKeySecretRef").path("name").asText("");
    String secretNs = profile.path("privateKeySecretRef").path("namespace").asText("");
    long start = System.nanoTime();
    if (secret.isEmpty() || oldKey.isEmpty()) {
      return entry("gatewayKey", start, -1, -1, 0, "", "the status names no key Secret");
    }
    client.secrets().inNamespace(secretNs).withName(secret).delete();
    long deadline = start + WAIT.toNanos();
    long keyAt = -1;
    long followAt = -1;
    while (System.nanoTime() < deadline && followAt < 0) {
      String key = status(client).path("gatewayServerProfile").path("publicKey").asText("");
      if (keyAt < 0 && !key.isEmpty() && !key.equals(oldKey)) {
        keyAt = System.nanoTime();
      }
      if (keyAt > 0) {
        followAt = probe.firstReplyAfter(keyAt, egress);
      }
      Sh.sleep(50);
    }
    long end = System.nanoTime();
    long leaked = probe.repliesSeenAs(start, end, egress.negate());
    return entry("gatewayKey", start, followAt, keyAt, leaked, "",
        "longest gap in replies " + probe.longestGapMs(start, end) + " ms");
  }

  private static ObjectNode entry(String change, long start, long followAt, long provisionedAt, long leaked, String pods,
      String detail) {
    long followMs = followAt < 0 ? -1 : (followAt - start) / 1_000_000;
    long provisionedMs = provisionedAt < 0 ? -1 : (provisionedAt - start) / 1_000_000;
    boolean statusOk = pods.isEmpty() || !pods.startsWith("not");
    boolean ok = followMs >= 0 && provisionedMs >= 0 && followMs <= provisionedMs + BUDGET_MS && leaked == 0 && statusOk;
    ObjectNode e = JSON.createObjectNode().put("change", change).put("followMs", followMs).put("provisionedMs", provisionedMs)
        .put("leaked", leaked).put("ok", ok).put("detail", detail);
    if (!pods.isEmpty()) {
      e.put("pods", pods);
    }
    return e;
  }

  /** Edits the SGC's spec; returns its new generation. */
  @SuppressWarnings("unchecked")
  private static long patch(KubernetesClient client, Consumer<Map<String, Object>> edit) {
    GenericKubernetesResource after = client.genericKubernetesResources(Demo.SGC).inNamespace(NS).withName(SGC).edit(r -> {
      Object spec = r.getAdditionalProperties().get("spec");
      Map<String, Object> copy = new LinkedHashMap<>(spec instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of());
      edit.accept(copy);
      r.getAdditionalProperties().put("spec", copy);
      return r;
    });
    return after.getMetadata().getGeneration() == null ? 0 : after.getMetadata().getGeneration();
  }

  private static com.fasterxml.jackson.databind.JsonNode status(KubernetesClient client) {
    GenericKubernetesResource sgc = client.genericKubernetesResources(Demo.SGC).inNamespace(NS).withName(SGC).get();
    Object status = sgc == null ? null : sgc.getAdditionalProperties().get("status");
    return status == null ? JSON.createObjectNode() : JSON.valueToTree(status);
  }

  /**
   * Waits until the status says every pod runs {@code generation} ({@code PodsUpToDate} and {@code Ready} true
   * for it); returns {@code current/total}, or what it showed last, starting with "not".
   */
  private static String upToDate(KubernetesClient client, long generation, long deadline) {
    String last = "no status";
    do {
      var s = status(client);
      String pods = s.path("pods").path("current").asInt(-1) + "/" + s.path("pods").path("total").asInt(-1);
      boolean current = s.path("observedGeneration").asLong() >= generation && condition(s, "PodsUpToDate", generation)
          && condition(s, "Ready", generation) && s.path("pods").path("total").asInt(0) >= 1
          && s.path("pods").path("current").asInt(-1) == s.path("pods").path("total").asInt(-2);
      if (current) {
        return pods;
      }
      last = "not up to date: pods " + pods + ", observedGeneration " + s.path("observedGeneration").asLong();
      Sh.sleep(100);
    } while (System.nanoTime() < deadline);
    return last;
  }

  private static boolean condition(com.fasterxml.jackson.databind.JsonNode status, String type, long generation) {
    for (var c : status.path("conditions")) {
      if (c.path("type").asText().equals(type)) {
        return "True".equals(c.path("status").asText()) && c.path("observedGeneration").asLong() >= generation;
      }
    }
    return false;
  }
}
