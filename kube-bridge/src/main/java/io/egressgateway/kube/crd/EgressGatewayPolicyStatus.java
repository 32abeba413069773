package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the controllers made of a policy. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class EgressGatewayPolicyStatus {
  @JsonPropertyDescription("metadata.generation the status was computed from.")
  private Long observedGeneration;

  @JsonPropertyDescription("namespace/name of the StaticGatewayConfiguration the selected pods use.")
  private String configuration;

  @JsonPropertyDescription("How many namespaces the namespaceSelector matches now.")
  private Integer selectedNamespaces;

  @JsonPropertyDescription("Accepted: the policy is readable and its StaticGatewayConfiguration exists.")
  private List<Condition> conditions;

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long value) {
    this.observedGeneration = value;
  }

  public String getConfiguration() {
    return configuration;
  }

  public void setConfiguration(String value) {
    this.configuration = value;
  }

  public Integer getSelectedNamespaces() {
    return selectedNamespaces;
  }

  public void setSelectedNamespaces(Integer value) {
    this.selectedNamespaces = value;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> value) {
    this.conditions = value == null ? null : new ArrayList<>(value);
  }
}
