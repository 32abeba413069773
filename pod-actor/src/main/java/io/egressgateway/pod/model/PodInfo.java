package io.egressgateway.pod.model;

import java.util.Map;
import java.util.Optional;

/** What the node agent knows about a pod scheduled on its node. */
public record PodInfo(String namespace, String name, String uid, Map<String, String> annotations) {
  public static final String GATEWAY_ANNOTATION = "kubernetes.azure.com/static-gateway-configuration";

  public PodInfo {
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  /** {@code namespace/name} of the gateway configuration the pod asks for, if it is annotated. */
  public Optional<String> gatewayConfigKey() {
    String v = annotations.get(GATEWAY_ANNOTATION);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(namespace + "/" + v.trim());
  }
}
