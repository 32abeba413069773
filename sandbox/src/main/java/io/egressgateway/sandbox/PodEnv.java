package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A container's environment as the kubelet makes it: the service variables of the API
 * ({@code KUBERNETES_SERVICE_HOST}/{@code _PORT}), then {@code envFrom}, then {@code env} in order, with
 * {@code $(VAR)} references to earlier variables expanded, {@code fieldRef} (metadata.name, .namespace,
 * .uid, labels and annotations, spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP),
 * {@code resourceFieldRef} of the container's own limits and requests, and Secret and ConfigMap keys.
 * A missing Secret, ConfigMap or key fails the container, as in Kubernetes, unless it is optional.
 */
final class PodEnv {

  /** Reads Secrets and ConfigMaps of the pod's namespace; data values as stored (Secret data base64). */
  interface Objects {
    Optional<Map<String, String>> secretData(String namespace, String name);

    Optional<Map<String, String>> configMapData(String namespace, String name);
  }

  /** A variable whose source is missing: the container cannot be created. */
  static final class MissingSource extends RuntimeException {
    MissingSource(String message) {
      super(message);
    }
  }

  private static final Pattern REF = Pattern.compile("\\$\\((\\w+)\\)|\\$\\$\\(");

  private PodEnv() {}

  /**
   * The environment of {@code c} in {@code pod}, which runs on a node with {@code hostIp}; {@code podIp} as the
   * pod has it; {@code service} the API's in-cluster address (host, port).
   */
  static Map<String, String> of(Pod pod, Container c, String podIp, String hostIp, Map<String, String> service, Objects api) {
    String ns = pod.getMetadata().getNamespace();
    Map<String, String> env = new LinkedHashMap<>();
    env.putAll(service);
    if (c.getEnvFrom() != null) {
      for (EnvFromSource from : c.getEnvFrom()) {
        String prefix = from.getPrefix() == null ? "" : from.getPrefix();
        if (from.getSecretRef() != null) {
          var data = api.secretData(ns, from.getSecretRef().getName());
          if (data.isEmpty() && !Boolean.TRUE.equals(from.getSecretRef().getOptional())) {
            throw new MissingSource("secret \"" + from.getSecretRef().getName() + "\" not found");
          }
          data.orElse(Map.of()).forEach((k, v) -> env.put(prefix + k, decode(v)));
        }
        if (from.getConfigMapRef() != null) {
          var data = api.configMapData(ns, from.getConfigMapRef().getName());
          if (data.isEmpty() && !Boolean.TRUE.equals(from.getConfigMapRef().getOptional())) {
            throw new MissingSource("configmap \"" + from.getConfigMapRef().getName() + "\" not found");
          }
          data.orElse(Map.of()).forEach((k, v) -> env.put(prefix + k, v));
        }
      }
    }
    if (c.getEnv() != null) {
      for (EnvVar v : c.getEnv()) {
        String value = v.getValueFrom() == null ? expand(v.getValue() == null ? "" : v.getValue(), env)
            : valueFrom(pod, c, v, podIp, hostIp, api);
        if (value != null) {
          env.put(v.getName(), value);
        }
      }
    }
    return env;
  }

  private static String valueFrom(Pod pod, Container c, EnvVar v, String podIp, String hostIp, Objects api) {
    var from = v.getValueFrom();
    String ns = pod.getMetadata().getNamespace();
    if (from.getFieldRef() != null) {
      return field(pod, from.getFieldRef().getFieldPath(), podIp, hostIp);
    }
    if (from.getSecretKeyRef() != null) {
      var ref = from.getSecretKeyRef();
      String value = api.secretData(ns, ref.getName()).map(d -> d.get(ref.getKey())).map(PodEnv::decode).orElse(null);
      if (value == null && !Boolean.TRUE.equals(ref.getOptional())) {
        throw new MissingSource("couldn't find key " + ref.getKey() + " in Secret " + ns + "/" + ref.getName());
      }
      return value;
    }
    if (from.getConfigMapKeyRef() != null) {
      var ref = from.getConfigMapKeyRef();
      String value = api.configMapData(ns, ref.getName()).map(d -> d.get(ref.getKey())).orElse(null);
      if (value == null && !Boolean.TRUE.equals(ref.getOptional())) {
        throw new MissingSource("couldn't find key " + ref.getKey() + " in ConfigMap " + ns + "/" + ref.getName());
      }
      return value;
    }
    if (from.getResourceFieldRef() != null) {
      return resource(c, from.getResourceFieldRef().getResource());
    }
    throw new MissingSource("unsupported valueFrom of " + v.getName());
  }

  /** A downward-API field of the pod; fails on a path Kubernetes does not offer. */
  static String field(Pod pod, String path, String podIp, String hostIp) {
    var m = pod.getMetadata();
    Matcher keyed = Pattern.compile("metadata\\.(labels|annotations)\\['([^']+)'\\]").matcher(path);
    if (keyed.matches()) {
      Map<String, String> map = keyed.group(1).equals("labels") ? m.getLabels() : m.getAnnotations();
      return map == null ? "" : map.getOrDefault(keyed.group(2), "");
    }
    return switch (path) {
      case "metadata.name" -> m.getName();
      case "metadata.namespace" -> m.getNamespace();
      case "metadata.uid" -> m.getUid();
      case "spec.nodeName" -> pod.getSpec().getNodeName();
      case "spec.serviceAccountName" -> pod.getSpec().getServiceAccountName() == null ? "default" : pod.getSpec().getServiceAccountName();
      case "status.podIP" -> podIp;
      case "status.podIPs" -> podIp;
      case "status.hostIP" -> hostIp;
      case "status.hostIPs" -> hostIp;
      default -> throw new MissingSource("unsupported fieldRef " + path);
    };
  }

  /** limits.memory and friends of the container, in bytes or whole cores (rounded up), as the kubelet gives them. */
  private static String resource(Container c, String resource) {
    var res = c.getResources();
    String[] parts = resource.split("\\.", 2);
    var map = res == null ? null : parts[0].equals("limits") ? res.getLimits() : res.getRequests();
    var q = map == null ? null : map.get(parts[1]);
    if (q == null) {
      return "0";
    }
    var amount = io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(q);
    return parts[1].equals("cpu") ? amount.setScale(0, java.math.RoundingMode.CEILING).toPlainString() : amount.toBigInteger().toString();
  }

  /** {@code $(VAR)} of an earlier variable is replaced; {@code $$(} stays a literal {@code $(}; unknown stay as written. */
  static String expand(String value, Map<String, String> env) {
    Matcher m = REF.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement = m.group(1) == null ? "$(" : env.getOrDefault(m.group(1), m.group());
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }
}
