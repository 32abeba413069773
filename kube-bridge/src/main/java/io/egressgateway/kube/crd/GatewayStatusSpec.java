package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Upstream {@code GatewayStatus.spec}: configurations and peers ready on one gateway node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class GatewayStatusSpec {
  @JsonPropertyDescription("Configurations whose datapath is ready on this node.")
  private List<GatewayConfiguration> readyGatewayConfigurations;

  @JsonPropertyDescription("Pod peers programmed on this node.")
  private List<PeerConfiguration> readyPeerConfigurations;

  public List<GatewayConfiguration> getReadyGatewayConfigurations() {
    return readyGatewayConfigurations;
  }

  public void setReadyGatewayConfigurations(List<GatewayConfiguration> value) {
    this.readyGatewayConfigurations = value == null ? null : new ArrayList<>(value);
  }

  public List<PeerConfiguration> getReadyPeerConfigurations() {
    return readyPeerConfigurations;
  }

  public void setReadyPeerConfigurations(List<PeerConfiguration> value) {
    this.readyPeerConfigurations = value == null ? null : new ArrayList<>(value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GatewayStatusSpec s
        && Objects.equals(readyGatewayConfigurations, s.readyGatewayConfigurations)
        && Objects.equals(readyPeerConfigurations, s.readyPeerConfigurations);
  }

  @Override
  public int hashCode() {
    return Objects.hash(readyGatewayConfigurations, readyPeerConfigurations);
  }

  /** {@code staticGatewayConfiguration} is {@code <namespace>/<name>}; {@code interfaceName} is {@code wg-<port>}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class GatewayConfiguration {
    private String staticGatewayConfiguration;
    private String interfaceName;

    public GatewayConfiguration() {}

    public GatewayConfiguration(String staticGatewayConfiguration, String interfaceName) {
      this.staticGatewayConfiguration = staticGatewayConfiguration;
      this.interfaceName = interfaceName;
    }

    public String getStaticGatewayConfiguration() {
      return staticGatewayConfiguration;
    }

    public void setStaticGatewayConfiguration(String value) {
      this.staticGatewayConfiguration = value;
    }

    public String getInterfaceName() {
      return interfaceName;
    }

    public void setInterfaceName(String value) {
      this.interfaceName = value;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof GatewayConfiguration c
          && Objects.equals(staticGatewayConfiguration, c.staticGatewayConfiguration)
          && Objects.equals(interfaceName, c.interfaceName);
    }

    @Override
    public int hashCode() {
      return Objects.hash(staticGatewayConfiguration, interfaceName);
    }
  }

  /** {@code podEndpoint} is {@code <namespace>/<name>}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class PeerConfiguration {
    private String podEndpoint;
    private String interfaceName;
    private String publicKey;

    public PeerConfiguration() {}

    public PeerConfiguration(String podEndpoint, String interfaceName, String publicKey) {
      this.podEndpoint = podEndpoint;
      this.interfaceName = interfaceName;
      this.publicKey = publicKey;
    }

    public String getPodEndpoint() {
      return podEndpoint;
    }

    public void setPodEndpoint(String value) {
      this.podEndpoint = value;
    }

    public String getInterfaceName() {
      return interfaceName;
    }

    public void setInterfaceName(String value) {
      this.interfaceName = value;
    }

    public String getPublicKey() {
      return publicKey;
    }

    public void setPublicKey(String value) {
      this.publicKey = value;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof PeerConfiguration c
          && Objects.equals(podEndpoint, c.podEndpoint)
          && Objects.equals(interfaceName, c.interfaceName)
          && Objects.equals(publicKey, c.publicKey);
    }

    @Override
    public int hashCode() {
      return Objects.hash(podEndpoint, interfaceName, publicKey);
    }
  }
}
