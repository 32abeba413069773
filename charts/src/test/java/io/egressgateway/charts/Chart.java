package io.egressgateway.charts;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The chart under test (located from the module directory, {@code ${project.basedir}/kube-egress-gateway}),
 * rendered with the real Helm library and parsed into fabric8's typed Kubernetes models.
 */
final class Chart {

  static final Path DIR = Path.of(System.getProperty("chart.dir", "kube-egress-gateway")).toAbsolutePath();
  static final String RELEASE = "egress";
  static final String NAMESPACE = "kube-egress-gateway-system";
  /** helm-java renders for Kubernetes 1.20 unless told otherwise; the chart needs 1.25 or later. */
  static final String KUBE_VERSION = "1.30.0";

  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private Chart() {}

  static Helm helm() {
    if (!Files.isRegularFile(DIR.resolve("Chart.yaml"))) {
      throw new IllegalStateException("chart not found at " + DIR + " (run the tests from the charts module)");
    }
    return new Helm(DIR);
  }

  /**
   * The smallest values a real install needs: an image, the journal, the Azure subscription. helm-java's
   * template has no cluster and fails on {@code lookup}, so the generated certificates are not looked up.
   */
  static TemplateCommand minimal() {
    return helm().template().withName(RELEASE).withNamespace(NAMESPACE).withKubeVersion(KUBE_VERSION)
        .set("cluster.tls.keepExisting", "false")
        .set("image.repository", "registry.example.com/kube-egress-gateway")
        .set("image.tag", "0.1.0")
        .set("journal.host", "pg.example.com")
        .set("journal.existingSecret", "egress-journal")
        .set("networkPolicy.nodeCidrs[0]", "10.224.0.0/16")
        .set("azure.cloudConfig.tenantId", "00000000-0000-0000-0000-000000000001")
        .set("azure.cloudConfig.subscriptionId", "00000000-0000-0000-0000-000000000002")
        .set("azure.cloudConfig.resourceGroup", "egress-rg");
  }

  static List<HasMetadata> render(UnaryOperator<TemplateCommand> customize) {
    return parseAll(customize.apply(minimal()).call());
  }

  /** Splits a multi-document YAML stream and parses every non-empty document strictly. */
  static List<HasMetadata> parseAll(String yaml) {
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"))) {
        continue;
      }
      out.add(parseStrict(doc));
    }
    return out;
  }

  /**
   * Parses one document as its Kubernetes type. Fails for a kind fabric8 does not know and for any field
   * the type does not declare (fabric8 keeps those in additionalProperties instead of failing).
   */
  static HasMetadata parseStrict(String doc) {
    KubernetesResource parsed = SERIALIZATION.unmarshal(doc, KubernetesResource.class);
    if (!(parsed instanceof HasMetadata resource) || parsed instanceof GenericKubernetesResource) {
      throw new AssertionError("not a known Kubernetes type: " + (parsed == null ? null : parsed.getClass().getName())
          + "\n" + doc);
    }
    List<String> unknown = new ArrayList<>();
    unknownFields(parsed, resource.getKind(), unknown);
    if (!unknown.isEmpty()) {
      throw new AssertionError(resource.getKind() + "/" + resource.getMetadata().getName()
          + " has fields its type does not declare: " + unknown);
    }
    return resource;
  }

  private static void unknownFields(Object value, String path, List<String> unknown) {
    if (value == null || value instanceof String || value instanceof Number || value instanceof Boolean
        || value instanceof Enum<?>) {
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> unknownFields(v, path + "[" + k + "]", unknown));
      return;
    }
    if (value instanceof Collection<?> items) {
      int i = 0;
      for (Object item : items) {
        unknownFields(item, path + "[" + i++ + "]", unknown);
      }
      return;
    }
    if (!value.getClass().getName().startsWith("io.fabric8.")) {
      return;
    }
    for (Method m : value.getClass().getMethods()) {
      if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.getDeclaringClass() == Object.class) {
        continue;
      }
      String name = m.getName();
      if (name.equals("getAdditionalProperties")) {
        Object extra = invoke(m, value);
        if (extra instanceof Map<?, ?> map) {
          map.keySet().forEach(k -> unknown.add(path + "." + k));
        } else {
          // a JSON schema's own additionalProperties (a CRD's map-valued field, such as a label selector's matchLabels)
          unknownFields(extra, path + ".additionalProperties", unknown);
        }
      } else if (name.startsWith("get") && name.length() > 3 && isModelProperty(m)) {
        unknownFields(invoke(m, value), path + "." + Character.toLowerCase(name.charAt(3)) + name.substring(4), unknown);
      }
    }
  }

  /** Getters backed by a JSON property (fabric8 annotates them); derived helpers are skipped. */
  private static boolean isModelProperty(Method m) {
    return m.isAnnotationPresent(com.fasterxml.jackson.annotation.JsonProperty.class);
  }

  private static Object invoke(Method m, Object target) {
    try {
      return m.invoke(target);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(m + ": " + e, e);
    }
  }

  static <T extends HasMetadata> List<T> all(List<HasMetadata> docs, Class<T> type) {
    return docs.stream().filter(type::isInstance).map(type::cast).toList();
  }

  static <T extends HasMetadata> T one(List<HasMetadata> docs, Class<T> type, String nameSuffix) {
    List<T> found = all(docs, type).stream().filter(d -> d.getMetadata().getName().endsWith(nameSuffix)).toList();
    if (found.size() != 1) {
      throw new AssertionError("expected one " + type.getSimpleName() + " named *" + nameSuffix + ", found " + found.size());
    }
    return found.get(0);
  }

  static <T extends HasMetadata> Optional<T> find(List<HasMetadata> docs, Class<T> type, String name) {
    return all(docs, type).stream().filter(d -> d.getMetadata().getName().equals(name)).findFirst();
  }
}
