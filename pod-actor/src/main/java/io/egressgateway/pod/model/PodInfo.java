package io.egressgateway.pod.model;

import io.egressgateway.core.model.GatewayPolicy;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/** What the node agent knows about a pod scheduled on its node. */
public record PodInfo(String namespace, String name, String uid, Map<String, String> annotations, Map<String, String> labels) {
  public static final String GATEWAY_ANNOTATION = "kubernetes.azure.com/static-gateway-configuration";

  public PodInfo {
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    labels = labels == null ? Map.of() : Map.copyOf(labels);
  }

  public PodInfo(String namespace, String name, String uid, Map<String, String> annotations) {
    this(namespace, name, uid, annotations, Map.of());
  }

  /** {@code namespace/name} of the gateway configuration the pod asks for, if it is annotated. */
  public Optional<String> gatewayConfigKey() {
    String v = annotations.get(GATEWAY_ANNOTATION);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(namespace + "/" + v.trim());
  }

  /** Where the pod egresses given the cluster's {@code policies}: its annotation first ({@link GatewayPolicy#choose}). */
  public Optional<GatewayPolicy.Choice> choose(Collection<GatewayPolicy> policies) {
    return GatewayPolicy.choose(namespace, labels, annotations.get(GATEWAY_ANNOTATION), policies);
  }

  public PodInfo withLabels(Map<String, String> value) {
    return new PodInfo(namespace, name, uid, annotations, value);
  }
}
