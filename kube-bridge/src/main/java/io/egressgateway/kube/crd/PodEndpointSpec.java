package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** Upstream {@code PodEndpoint.spec}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class PodEndpointSpec {
  @JsonPropertyDescription("Name of the StaticGatewayConfiguration (in the pod's namespace).")
  private String staticGatewayConfiguration;

  @JsonPropertyDescription("Pod IPv4 address as a.b.c.d/32.")
  private String podIpAddress;

  @JsonPropertyDescription("Pod WireGuard public key (base64).")
  private String podPublicKey;

  public PodEndpointSpec() {}

  public PodEndpointSpec(String staticGatewayConfiguration, String podIpAddress, String podPublicKey) {
    this.staticGatewayConfiguration = staticGatewayConfiguration;
    this.podIpAddress = podIpAddress;
    this.podPublicKey = podPublicKey;
  }

  public String getStaticGatewayConfiguration() {
    return staticGatewayConfiguration;
  }

  public void setStaticGatewayConfiguration(String value) {
    this.staticGatewayConfiguration = value;
  }

  public String getPodIpAddress() {
    return podIpAddress;
  }

  public void setPodIpAddress(String value) {
    this.podIpAddress = value;
  }

  public String getPodPublicKey() {
    return podPublicKey;
  }

  public void setPodPublicKey(String value) {
    this.podPublicKey = value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodEndpointSpec s
        && Objects.equals(staticGatewayConfiguration, s.staticGatewayConfiguration)
        && Objects.equals(podIpAddress, s.podIpAddress)
        && Objects.equals(podPublicKey, s.podPublicKey);
  }

  @Override
  public int hashCode() {
    return Objects.hash(staticGatewayConfiguration, podIpAddress, podPublicKey);
  }
}
