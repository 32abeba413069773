package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** Which pods, and through which gateway configuration. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class EgressGatewayPolicySpec {

  @JsonPropertyDescription("Namespaces whose labels match (as a NetworkPolicy's namespaceSelector: {} selects every"
      + " namespace). Required, so that selecting every namespace is always written out.")
  @Required
  private LabelSelector namespaceSelector;

  @JsonPropertyDescription("Pods of those namespaces whose labels match; absent or {} selects every pod of them.")
  private LabelSelector podSelector;

  @JsonPropertyDescription("The StaticGatewayConfiguration the selected pods egress through.")
  @Required
  private ConfigurationRef gatewayConfiguration;

  /** A StaticGatewayConfiguration by namespace and name. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class ConfigurationRef {
    @JsonPropertyDescription("Namespace of the StaticGatewayConfiguration.")
    @Required
    @Pattern(EgressPrefixGrantSpec.NAMESPACE)
    private String namespace;

    @JsonPropertyDescription("Name of the StaticGatewayConfiguration.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    private String name;

    public String getNamespace() {
      return namespace;
    }

    public void setNamespace(String value) {
      this.namespace = value;
    }

    public String getName() {
      return name;
    }

    public void setName(String value) {
      this.name = value;
    }
  }

  public LabelSelector getNamespaceSelector() {
    return namespaceSelector;
  }

  public void setNamespaceSelector(LabelSelector value) {
    this.namespaceSelector = value;
  }

  public LabelSelector getPodSelector() {
    return podSelector;
  }

  public void setPodSelector(LabelSelector value) {
    this.podSelector = value;
  }

  public ConfigurationRef getGatewayConfiguration() {
    return gatewayConfiguration;
  }

  public void setGatewayConfiguration(ConfigurationRef value) {
    this.gatewayConfiguration = value;
  }
}
