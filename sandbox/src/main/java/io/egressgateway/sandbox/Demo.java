package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The demo the sandbox applies and checks: manifests in, then per pod the address the internet echo saw
 * next to what was expected (an address of the configuration's egress prefix for an annotated pod, the
 * VNet's default outbound address for a plain one).
 */
public final class Demo {
  public static final String ANNOTATION = "kubernetes.azure.com/static-gateway-configuration";
  static final ResourceDefinitionContext SGC = new ResourceDefinitionContext.Builder()
      .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1")
      .withKind("StaticGatewayConfiguration").withPlural("staticgatewayconfigurations").withNamespaced(true).build();

  /** One pod's result, as it goes into the report. */
  public record PodCheck(String name, String node, String gateway, String egressIp, String expected, boolean ok,
      long readyMs, String detail) {}

  private Demo() {}

  /**
   * Applies every document of a YAML stream (create, or replace when it exists), each as the untyped object it
   * is, as kubectl does: fields this version's classes do not know reach the API server unchanged.
   */
  public static List<String> apply(KubernetesClient client, InputStream yaml) {
    List<String> applied = new ArrayList<>();
    try {
      String text = new String(yaml.readAllBytes(), StandardCharsets.UTF_8);
      for (String doc : text.split("(?m)^---[ \\t]*$")) {
        if (doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
          continue;
        }
        GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class);
        client.resource(r).createOr(existing -> existing.update());
        applied.add(r.getKind() + " " + Optional.ofNullable(r.getMetadata().getNamespace()).map(n -> n + "/").orElse("")
            + r.getMetadata().getName());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return applied;
  }

  public static InputStream builtin() {
    InputStream in = Demo.class.getResourceAsStream("/demo/demo.yaml");
    if (in == null) {
      throw new IllegalStateException("demo manifests missing from the sandbox jar");
    }
    return in;
  }

  /** The egress prefix an SGC's status reports, if any. */
  static Optional<String> egressPrefix(KubernetesClient client, String namespace, String name) {
    GenericKubernetesResource sgc = client.genericKubernetesResources(SGC).inNamespace(namespace).withName(name).get();
    if (sgc == null || !(sgc.getAdditionalProperties().get("status") instanceof Map<?, ?> status)) {
      return Optional.empty();
    }
    Object prefix = status.get("egressIpPrefix");
    return prefix == null || prefix.toString().isBlank() ? Optional.empty() : Optional.of(prefix.toString());
  }

  static final ResourceDefinitionContext POD_ENDPOINT = new ResourceDefinitionContext.Builder()
      .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1")
      .withKind("PodEndpoint").withPlural("podendpoints").withNamespaced(true).build();

  /** Whether the node agent wrote the pod's PodEndpoint (asynchronously, so wait up to {@code timeout}). */
  static boolean podEndpointExists(KubernetesClient client, String namespace, String name, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      if (client.genericKubernetesResources(POD_ENDPOINT).inNamespace(namespace).withName(name).get() != null) {
        return true;
      }
      Sh.sleep(250);
    } while (System.nanoTime() < deadline);
    return false;
  }

  /** The pod public key in the pod's PodEndpoint object, empty when there is none. */
  static String podEndpointKey(KubernetesClient client, String namespace, String name) {
    var pe = client.genericKubernetesResources(POD_ENDPOINT).inNamespace(namespace).withName(name).get();
    return pe != null && pe.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
        && spec.get("podPublicKey") instanceof String key ? key : "";
  }

  /** Asks the internet echo from inside the pod; empty when the request fails within {@code timeout}. */
  static Optional<String> egressOf(String podNetns, Duration timeout) {
    return echoFrom(podNetns, AzureVnet.ECHO_IP, timeout);
  }

  /** Asks the echo service on {@code echoIp} from inside the pod; empty when no answer within {@code timeout}. */
  static Optional<String> echoFrom(String podNetns, String echoIp, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    do {
      CommandRunner.Result r = Sh.quiet(podNetns, "curl", "-s", "-m", "2", "http://" + echoIp + ":" + AzureVnet.ECHO_PORT + "/");
      if (r.ok() && !r.stdout().isBlank()) {
        return Optional.of(r.stdout().trim());
      }
      Sh.sleep(300);
    } while (System.nanoTime() < deadline);
    return Optional.empty();
  }

  /** True when {@code ip} lies in IPv4 {@code cidr}. */
  static boolean inCidr(String ip, String cidr) {
    String[] parts = cidr.split("/");
    int bits = Integer.parseInt(parts[1]);
    long mask = bits == 0 ? 0 : 0xffffffffL << (32 - bits) & 0xffffffffL;
    return (toLong(ip) & mask) == (toLong(parts[0]) & mask);
  }

  private static long toLong(String ip) {
    long v = 0;
    for (String p : ip.split("\\.")) {
      v = v << 8 | Integer.parseInt(p);
    }
    return v;
  }

  static boolean annotated(Pod pod) {
    return pod.getMetadata().getAnnotations() != null && pod.getMetadata().getAnnotations().containsKey(ANNOTATION);
  }
}
