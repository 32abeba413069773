package io.egressgateway.app.wiring;

import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Gateway private keys from the key Secrets ({@code sgw-<uid>}, key {@code PrivateKey}) in the key namespace
 * ({@code egress.kube-bridge.key-namespace}, which holds nothing else: the gateways may get Secrets only there): only
 * names of that form, and only Secrets with the controllers' owner labels. Read on demand (blocking, on the gateway's
 * blocking dispatcher), handed to the device, never cached, logged or journaled.
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
    // only a key Secret's name is ever asked for: the view names it, but never use it to read another Secret
    if (!keySecretName.matches("sgw-[A-Za-z0-9][A-Za-z0-9-]{0,127}")) {
      throw new IllegalArgumentException("'" + keySecretName + "' is not the name of a key Secret (sgw-<uid>)");
    }
    Secret s = client.secrets().inNamespace(namespace).withName(keySecretName).get();
    if (s == null) {
      throw new IllegalStateException("key Secret " + namespace + "/" + keySecretName + " does not exist");
    }
    var labels = s.getMetadata().getLabels();
    if (labels == null || !labels.containsKey(Fabric8SgcApi.LABEL_OWNER_NAME) || !labels.containsKey(Fabric8SgcApi.LABEL_OWNER_NAMESPACE)) {
      // a Secret of that name the controllers did not make (they never adopt one): not a gateway key
      throw new IllegalStateException("Secret " + namespace + "/" + keySecretName + " carries no owner labels: it is not a"
          + " key Secret the controllers made, and is not used");
    }
    String encoded = s.getData() == null ? null : s.getData().get(Fabric8SgcApi.PRIVATE_KEY);
    if (encoded == null || encoded.isBlank()) {
      throw new IllegalStateException("key Secret " + namespace + "/" + keySecretName + " has no "
          + Fabric8SgcApi.PRIVATE_KEY);
    }
    return new String(Base64.getDecoder().decode(encoded.trim()), StandardCharsets.UTF_8).trim();
  }
}
