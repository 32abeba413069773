package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cluster-wide policy scenario of {@code --e2e} (docs/policies.md): an {@code EgressGatewayPolicy} selecting the
 * pods labelled {@code egress=policy} of the namespaces labelled {@code egress.example.com/policy=on} (namespace e2e)
 * and sending them through {@code demo/egress-demo}. Three pods of namespace e2e, none annotated but one:
 * <ul>
 *   <li>{@code pol-selected}: selected at its start, leaves from the demo prefix;
 *   <li>{@code pol-annotated}: selected, but annotated for {@code byo}: the annotation wins, it leaves from the BYO
 *       prefix and only from there;
 *   <li>{@code pol-follow}: not selected at its start (the node's outbound address), then labelled while it runs
 *       (it follows into the demo prefix: {@code followMs}), then unlabelled (back to the node's address:
 *       {@code releaseMs}), never restarted.
 * </ul>
 * Writes the report's {@code policy} object ({@code selected}, {@code annotatedWins}, {@code followed},
 * {@code released}, {@code ok}); removes its pods and policy afterwards.
 */
final class Policy {
  static final String NS = E2e.NS;
  static final String NS_LABEL = "egress.example.com/policy";
  static final ResourceDefinitionContext KIND = new ResourceDefinitionContext.Builder()
      .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1")
      .withKind("EgressGatewayPolicy").withPlural("egressgatewaypolicies").withNamespaced(false).build();
  private static final List<String> PODS = List.of("pol-selected", "pol-annotated", "pol-follow");

  private Policy() {}

  static ObjectNode run(KubernetesClient client, Map<String, PodRuntime.PodEvent> events, PrintStream out) {
    ObjectNode r = new ObjectMapper().createObjectNode();
    try {
      client.namespaces().withName(NS).edit(n -> {
        n.getMetadata().setLabels(new java.util.HashMap<>(Optional.ofNullable(n.getMetadata().getLabels()).orElse(Map.of())));
        n.getMetadata().getLabels().put(NS_LABEL, "on");
        return n;
      });
      client.genericKubernetesResources(KIND).resource(new GenericKubernetesResourceBuilder()
          .withApiVersion("egressgateway.kubernetes.azure.com/v1alpha1").withKind("EgressGatewayPolicy")
          .withNewMetadata().withName("e2e-policy").endMetadata()
          .addToAdditionalProperties("spec", Map.of(
              "namespaceSelector", Map.of("matchLabels", Map.of(NS_LABEL, "on")),
              "podSelector", Map.of("matchLabels", Map.of("egress", "policy")),
              "gatewayConfiguration", Map.of("namespace", "demo", "name", "egress-demo")))
          .build()).createOr(op -> op.update());
      String accepted = await(() -> accepted(client), "True"::equals, Duration.ofSeconds(30)).orElse("");
      r.put("accepted", accepted);

      pod(client, "pol-selected", "policy", null);
      pod(client, "pol-annotated", "policy", "byo");
      pod(client, "pol-follow", "later", null);
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (System.nanoTime() < deadline && !PODS.stream().allMatch(p -> events.containsKey(NS + "/" + p))) {
        Sh.sleep(250);
      }
      String demoPrefix = Demo.egressPrefix(client, "demo", "egress-demo").orElse("");
      String byoPrefix = Demo.egressPrefix(client, NS, "byo").orElse("");

      String selectedIp = egress("pol-selected", events);
      boolean selected = !demoPrefix.isEmpty() && !selectedIp.isEmpty() && Demo.inCidr(selectedIp, demoPrefix);
      r.putObject("selectedPod").put("egressIp", selectedIp).put("expected", demoPrefix).put("ok", selected);
      r.put("selected", selected);

      String annotatedIp = egress("pol-annotated", events);
      boolean annotatedWins = !byoPrefix.isEmpty() && !annotatedIp.isEmpty() && Demo.inCidr(annotatedIp, byoPrefix)
          && (demoPrefix.isEmpty() || !Demo.inCidr(annotatedIp, demoPrefix));
      r.putObject("annotatedPod").put("egressIp", annotatedIp).put("expected", byoPrefix).put("ok", annotatedWins);
      r.put("annotatedWins", annotatedWins);

      // a running pod starts, then stops, being selected
      String before = egress("pol-follow", events);
      label(client, "pol-follow", "policy");
      long from = System.nanoTime();
      Optional<String> in = pollEgress(events, "pol-follow", ip -> !demoPrefix.isEmpty() && Demo.inCidr(ip, demoPrefix),
          Duration.ofSeconds(30));
      long followMs = (System.nanoTime() - from) / 1_000_000;
      label(client, "pol-follow", "later");
      from = System.nanoTime();
      Optional<String> outAgain = pollEgress(events, "pol-follow", AzureVnet.DEFAULT_OUTBOUND_IP::equals, Duration.ofSeconds(30));
      long releaseMs = (System.nanoTime() - from) / 1_000_000;
      boolean followed = AzureVnet.DEFAULT_OUTBOUND_IP.equals(before) && in.isPresent();
      boolean released = outAgain.isPresent();
      r.putObject("followPod").put("before", before).put("selectedEgressIp", in.orElse("")).put("followMs", followMs)
          .put("afterEgressIp", outAgain.orElse("")).put("releaseMs", releaseMs);
      r.put("followed", followed);
      r.put("released", released);
      boolean ok = "True".equals(accepted) && selected && annotatedWins && followed && released;
      r.put("ok", ok);
      out.println("policy: accepted " + accepted + ", selected " + E2eOk.of(selected) + " (" + selectedIp + " in " + demoPrefix
          + "), annotated wins " + E2eOk.of(annotatedWins) + " (" + annotatedIp + " in " + byoPrefix + "), follows "
          + E2eOk.of(followed) + " in " + followMs + " ms, released " + E2eOk.of(released) + " in " + releaseMs + " ms");
    } catch (RuntimeException e) {
      r.put("ok", false).put("error", e.toString());
      out.println("policy: FAILED: " + e);
    } finally {
      for (String p : PODS) {
        client.pods().inNamespace(NS).withName(p).delete();
      }
      client.genericKubernetesResources(KIND).withName("e2e-policy").delete();
    }
    return r;
  }

  private static void pod(KubernetesClient client, String name, String egressLabel, String annotation) {
    PodBuilder b = new PodBuilder().withNewMetadata().withName(name).withNamespace(NS).addToLabels("egress", egressLabel)
        .endMetadata().withNewSpec().addNewContainer().withName("app").withImage("sandbox/none").endContainer().endSpec();
    if (annotation != null) {
      b.editMetadata().addToAnnotations(Demo.ANNOTATION, annotation).endMetadata();
    }
    client.pods().inNamespace(NS).resource(b.build()).create();
  }

  private static void label(KubernetesClient client, String pod, String value) {
    client.pods().inNamespace(NS).withName(pod).edit(p -> {
      p.getMetadata().getLabels().put("egress", value);
      return p;
    });
  }

  private static String egress(String pod, Map<String, PodRuntime.PodEvent> events) {
    PodRuntime.PodEvent e = events.get(NS + "/" + pod);
    return e == null || !e.ok() ? "" : Demo.egressOf(e.netns(), Duration.ofSeconds(10)).orElse("");
  }

  private static Optional<String> pollEgress(Map<String, PodRuntime.PodEvent> events, String pod,
      java.util.function.Predicate<String> wanted, Duration timeout) {
    PodRuntime.PodEvent e = events.get(NS + "/" + pod);
    if (e == null) {
      return Optional.empty();
    }
    return await(() -> {
      io.egressgateway.datapath.command.CommandRunner.Result res = Sh.quiet(e.netns(), "curl", "-s", "-m", "1", "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/");
      return res.ok() ? res.stdout().trim() : "";
    }, wanted, timeout);
  }

  @SuppressWarnings("unchecked")
  private static String accepted(KubernetesClient client) {
    GenericKubernetesResource p = client.genericKubernetesResources(KIND).withName("e2e-policy").get();
    if (p == null || !(p.getAdditionalProperties().get("status") instanceof Map<?, ?> status)
        || !(status.get("conditions") instanceof List<?> conditions)) {
      return "";
    }
    return conditions.stream().map(c -> (Map<String, Object>) c).filter(c -> "Accepted".equals(c.get("type")))
        .map(c -> String.valueOf(c.get("status"))).findFirst().orElse("");
  }

  private static Optional<String> await(java.util.function.Supplier<String> read, java.util.function.Predicate<String> wanted,
      Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      String v = read.get();
      if (v != null && !v.isEmpty() && wanted.test(v)) {
        return Optional.of(v);
      }
      Sh.sleep(200);
    } while (System.nanoTime() < deadline);
    return Optional.empty();
  }

  /** The report's words for a check. */
  private static final class E2eOk {
    static String of(boolean b) {
      return b ? "ok" : "FAILED";
    }
  }
}
