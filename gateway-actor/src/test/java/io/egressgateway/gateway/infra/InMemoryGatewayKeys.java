package io.egressgateway.gateway.infra;

import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.model.GatewayKeys;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Gateway keys held in memory, for tests (this module's and, through its test jar, app's). A member reads
 * them from the Kubernetes Secret ({@code SecretGatewayKeys} in app).
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
