package io.egressgateway.core.security;

/**
 * What a worker shows a gateway to prove which node it runs on: the Kubernetes ServiceAccount token the
 * kubelet projected into its pod for the audience {@code egress.security.node-proof.audience}. The API server
 * signed it and bound it to the pod, whose node it names (claim {@code kubernetes.io.node.name}, Kubernetes
 * 1.30 and later); only that node's kubelet could have obtained it. Checked by {@link NodeProofs}.
 *
 * @param token the compact JWT, as the kubelet wrote it
 */
public record NodeProof(String token) {
  @Override
  public String toString() {
    // a bearer credential for the gateways' audience: never in logs
    return "NodeProof[" + (token == null ? "none" : token.length() + " chars") + "]";
  }
}
