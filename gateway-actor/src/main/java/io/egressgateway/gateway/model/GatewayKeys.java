package io.egressgateway.gateway.model;

/**
 * Port to the gateway private keys (in a cluster: the Kubernetes Secret {@code keySecretName}). Blocking;
 * the key is handed straight to the device and never stored, journaled or logged.
 */
public interface GatewayKeys {
  /** The base64 private key in Secret {@code keySecretName}; fails with a clear message if absent. */
  String privateKey(String keySecretName);
}
