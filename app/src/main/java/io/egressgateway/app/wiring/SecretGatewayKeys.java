package io.egressgateway.app.wiring;

import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Gateway private keys from the key Secrets ({@code sgw-<uid>}, key {@code PrivateKey}) in the release
 * namespace. Read on demand (blocking, on the gateway's blocking dispatcher), handed to the device, never
 * cached, logged or journaled.
 */
public final class SecretGatewayKeys implements GatewayKeys {
  private final KubernetesClient client;
  private final String namespace;

  public SecretGatewayKeys(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  @Override
  public String privateKey(String keySecretName) {
    Secret s = client.secrets().inNamespace(namespace).withName(keySecretName).get();
    if (s == null) {
      throw new IllegalStateException("key Secret " + namespace + "/" + keySecretName + " does not exist");
    }
    String encoded = s.getData() == null ? null : s.getData().get(Fabric8SgcApi.PRIVATE_KEY);
    if (encoded == null || encoded.isBlank()) {
      throw new IllegalStateException("key Secret " + namespace + "/" + keySecretName + " has no "
          + Fabric8SgcApi.PRIVATE_KEY);
    }
    return new String(Base64.getDecoder().decode(encoded.trim()), StandardCharsets.UTF_8).trim();
  }
}
