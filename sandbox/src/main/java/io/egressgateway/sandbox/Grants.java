package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.armsim.ArmSimulator;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Bring-your-own prefix grants ({@code --e2e}; docs/install.md, section 2.6). The sandbox installs the chart with
 * {@code prefixGrants.enforce: true} and its e2e manifests grant the BYO prefix to namespace {@code e2e} only
 * ({@code EgressPrefixGrant e2e-byo}). Then:
 * <ul>
 *   <li>refused: an SGC in namespace {@code e2e-nogrant} (no grant) naming the same prefix gets {@code Accepted=False}
 *       and {@code PrefixGranted=False} with reason {@code PrefixNotGranted}, a Warning Event saying so, no finalizer,
 *       and nothing in the ARM simulator names it (no resource, no write);
 *   <li>granted: {@code e2e/byo} has {@code PrefixGranted=True} naming the grant, is {@code Ready} with the prefix's
 *       CIDR as its egress prefix, and its running pod egresses from that prefix now.
 * </ul>
 * Writes the report's {@code grants} object ({@code refused} and {@code granted}: one entry per configuration,
 * {@code ok}); removes the refused configuration and its namespace afterwards.
 */
final class Grants {
  static final String GRANT = "e2e-byo";
  static final String DENIED_NS = "e2e-nogrant";
  static final String DENIED_SGC = "byo";
  static final String GRANTED_SGC = "byo";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(60);

  private Grants() {}

  static ObjectNode run(KubernetesClient client, ArmSimulator arm, String byoPrefixId,
      Map<String, PodRuntime.PodEvent> events, PrintStream out) {
    ObjectNode r = JSON.createObjectNode();
    r.put("grant", GRANT).put("prefixId", byoPrefixId);
    try {
      ObjectNode refused = refused(client, arm, byoPrefixId);
      r.putArray("refused").add(refused);
      ObjectNode granted = granted(client, arm, byoPrefixId, events);
      r.putArray("granted").add(granted);
      boolean ok = refused.path("ok").asBoolean() && granted.path("ok").asBoolean();
      r.put("ok", ok);
      out.println("grants: " + (ok ? "ok" : "FAILED") + ": " + DENIED_NS + "/" + DENIED_SGC + " refused "
          + word(refused.path("ok").asBoolean()) + " (" + refused.path("accepted").asText() + "; event "
          + refused.path("event").asText() + "; ARM references " + refused.path("armReferences").size() + "), "
          + E2e.NS + "/" + GRANTED_SGC + " granted " + word(granted.path("ok").asBoolean()) + " (Ready "
          + granted.path("ready").asText() + ", pod " + granted.path("egressIp").asText() + " in "
          + granted.path("egressIpPrefix").asText() + ")");
    } catch (RuntimeException e) {
      r.put("ok", false).put("error", e.toString());
      out.println("grants: FAILED: " + e);
    } finally {
      client.genericKubernetesResources(Demo.SGC).inNamespace(DENIED_NS).withName(DENIED_SGC).delete();
      client.namespaces().withName(DENIED_NS).delete();
    }
    return r;
  }

  /** An SGC in a namespace no grant names, for the granted prefix: refused, said so, nothing made in Azure. */
  private static ObjectNode refused(KubernetesClient client, ArmSimulator arm, String prefixId) {
    ObjectNode r = JSON.createObjectNode().put("sgc", DENIED_NS + "/" + DENIED_SGC);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(DENIED_NS).endMetadata().build())
        .createOr(op -> op.update());
    GenericKubernetesResource sgc = client.genericKubernetesResources(Demo.SGC).inNamespace(DENIED_NS)
        .resource(new GenericKubernetesResourceBuilder()
            .withApiVersion("egressgateway.kubernetes.azure.com/v1alpha1").withKind("StaticGatewayConfiguration")
            .withNewMetadata().withName(DENIED_SGC).withNamespace(DENIED_NS).endMetadata()
            .addToAdditionalProperties("spec", Map.of("gatewayNodepoolName", "gwpool", "provisionPublicIps", true,
                "publicIpPrefixId", prefixId))
            .build())
        .create();
    String uid = sgc.getMetadata().getUid();
    Condition accepted = Sh.poll(() -> condition(client, DENIED_NS, DENIED_SGC, "Accepted"),
        c -> c.status().equals("False"), WAIT, 500);
    Condition granted = condition(client, DENIED_NS, DENIED_SGC, "PrefixGranted");
    Condition ready = condition(client, DENIED_NS, DENIED_SGC, "Ready");
    Optional<Event> warning = Sh.poll(() -> warning(client, DENIED_NS, DENIED_SGC), Optional::isPresent,
        Duration.ofSeconds(30), 500);
    GenericKubernetesResource now = client.genericKubernetesResources(Demo.SGC).inNamespace(DENIED_NS).withName(DENIED_SGC).get();
    boolean finalizer = now != null && now.getMetadata().getFinalizers() != null && !now.getMetadata().getFinalizers().isEmpty();
    List<String> armRefs = armReferences(arm, uid);
    boolean ok = accepted.is("False", "PrefixNotGranted") && accepted.message().contains("namespace " + DENIED_NS)
        && granted.is("False", "PrefixNotGranted") && !ready.status().equals("True")
        && warning.isPresent() && warning.get().getMessage().contains("PrefixNotGranted")
        && !finalizer && armRefs.isEmpty();
    r.put("accepted", accepted.toString()).put("prefixGranted", granted.toString()).put("ready", ready.toString())
        .put("event", warning.map(e -> e.getType() + " " + e.getReason() + ": " + e.getMessage()).orElse(""))
        .put("finalizer", finalizer);
    armRefs.forEach(r.putArray("armReferences")::add);
    return r.put("ok", ok);
  }

  /** The e2e manifests' BYO configuration, in the granted namespace: granted, ready, its pod egressing from the prefix. */
  private static ObjectNode granted(KubernetesClient client, ArmSimulator arm, String prefixId,
      Map<String, PodRuntime.PodEvent> events) {
    ObjectNode r = JSON.createObjectNode().put("sgc", E2e.NS + "/" + GRANTED_SGC);
    String cidr = arm.resource(prefixId).map(p -> p.path("properties").path("ipPrefix").asText("")).orElse("");
    Condition granted = condition(client, E2e.NS, GRANTED_SGC, "PrefixGranted");
    Condition ready = condition(client, E2e.NS, GRANTED_SGC, "Ready");
    String status = Demo.egressPrefix(client, E2e.NS, GRANTED_SGC).orElse("");
    PodRuntime.PodEvent pod = events.get(E2e.NS + "/byo");
    String ip = pod == null || !pod.ok() ? "" : Demo.egressOf(pod.netns(), Duration.ofSeconds(10)).orElse("");
    boolean ok = granted.is("True", "Granted") && granted.message().contains("EgressPrefixGrant " + GRANT)
        && ready.status().equals("True") && !cidr.isEmpty() && cidr.equals(status) && !ip.isEmpty() && Demo.inCidr(ip, cidr);
    r.put("prefixGranted", granted.toString()).put("ready", ready.toString()).put("prefix", cidr)
        .put("egressIpPrefix", status).put("egressIp", ip);
    return r.put("ok", ok);
  }

  /** One condition of an SGC's status; {@code status} empty when it has none of that type. */
  record Condition(String status, String reason, String message) {
    static final Condition NONE = new Condition("", "", "");

    boolean is(String wantStatus, String wantReason) {
      return status.equals(wantStatus) && reason.equals(wantReason);
    }

    @Override
    public String toString() {
      return status.isEmpty() ? "(none)" : status + " " + reason + ": " + message;
    }
  }

  static Condition condition(KubernetesClient client, String ns, String name, String type) {
    GenericKubernetesResource sgc = client.genericKubernetesResources(Demo.SGC).inNamespace(ns).withName(name).get();
    if (sgc == null || !(sgc.getAdditionalProperties().get("status") instanceof Map<?, ?> status)
        || !(status.get("conditions") instanceof List<?> conditions)) {
      return Condition.NONE;
    }
    for (Object o : conditions) {
      if (o instanceof Map<?, ?> c && type.equals(c.get("type"))) {
        return new Condition(String.valueOf(c.get("status")), String.valueOf(c.get("reason")), String.valueOf(c.get("message")));
      }
    }
    return Condition.NONE;
  }

  private static Optional<Event> warning(KubernetesClient client, String ns, String name) {
    return client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> e.getInvolvedObject() != null && name.equals(e.getInvolvedObject().getName()))
        .filter(e -> "Warning".equals(e.getType()) && e.getMessage() != null && e.getMessage().contains("PrefixNotGranted"))
        .findFirst();
  }

  /** Every ARM resource, and every ARM write, that names {@code uid} (ours are named after the configuration's uid). */
  static List<String> armReferences(ArmSimulator arm, String uid) {
    List<String> out = new ArrayList<>();
    if (uid == null || uid.isEmpty()) {
      out.add("(no uid to look for)");
      return out;
    }
    for (Map.Entry<String, JsonNode> e : arm.snapshot().entrySet()) {
      if (e.getKey().contains(uid)) {
        out.add(e.getKey());
      } else if (e.getValue().toString().contains(uid)) {
        out.add(e.getKey() + " (mentions it)");
      }
    }
    arm.calls().stream().filter(ArmSimulator.Call::isWrite).filter(c -> c.path().contains(uid))
        .forEach(c -> out.add(c.method() + " " + c.path()));
    return out;
  }

  private static String word(boolean ok) {
    return ok ? "ok" : "FAILED";
  }
}
