package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.ObjectReference;
import java.util.Objects;

/** Upstream {@code status.gatewayServerProfile}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class GatewayServerProfile {
  @JsonPropertyDescription("Internal load balancer frontend IP: the pods' WireGuard endpoint.")
  private String ip;

  @JsonPropertyDescription("WireGuard port on the ILB and on every gateway node.")
  private Integer port;

  @JsonPropertyDescription("Gateway WireGuard public key (base64).")
  private String publicKey;

  @JsonPropertyDescription("The Secret holding the gateway WireGuard key pair.")
  private ObjectReference privateKeySecretRef;

  public String getIp() {
    return ip;
  }

  public void setIp(String value) {
    this.ip = value;
  }

  public Integer getPort() {
    return port;
  }

  public void setPort(Integer value) {
    this.port = value;
  }

  public String getPublicKey() {
    return publicKey;
  }

  public void setPublicKey(String value) {
    this.publicKey = value;
  }

  public ObjectReference getPrivateKeySecretRef() {
    return privateKeySecretRef;
  }

  public void setPrivateKeySecretRef(ObjectReference value) {
    this.privateKeySecretRef = value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GatewayServerProfile p
        && Objects.equals(ip, p.ip)
        && Objects.equals(port, p.port)
        && Objects.equals(publicKey, p.publicKey)
        && Objects.equals(privateKeySecretRef, p.privateKeySecretRef);
  }

  @Override
  public int hashCode() {
    return Objects.hash(ip, port, publicKey, privateKeySecretRef);
  }
}
