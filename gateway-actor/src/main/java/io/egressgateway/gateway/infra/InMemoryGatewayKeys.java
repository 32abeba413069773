package io.egressgateway.gateway.infra;

import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.model.GatewayKeys;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Gateway keys held in memory: tests, the sandbox, and a member that receives keys from elsewhere. The
 * Kubernetes Secret reader replaces it in a cluster.
 */
public final class InMemoryGatewayKeys implements GatewayKeys {
  private final Map<String, String> keys = new ConcurrentHashMap<>();

  public InMemoryGatewayKeys put(String keySecretName, String privateKey) {
    if (!WgKeys.isValid(privateKey)) {
      throw new IllegalArgumentException("secret " + keySecretName + ": PrivateKey is not base64 of 32 bytes");
    }
    keys.put(keySecretName, privateKey);
    return this;
  }

  @Override
  public String privateKey(String keySecretName) {
    String k = keys.get(keySecretName);
    if (k == null) {
      throw new IllegalStateException("no gateway private key in secret '" + keySecretName + "'");
    }
    return k;
  }
}
