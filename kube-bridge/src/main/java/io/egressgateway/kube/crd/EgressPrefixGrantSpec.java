package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.ArrayList;
import java.util.List;

/**
 * Which namespaces may use which bring-your-own public IP prefixes: every namespace listed or selected by its labels
 * may use every prefix listed.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "has(self.namespaces) || has(self.namespaceSelector)",
    message = "set namespaces, namespaceSelector or both",
    reason = "FieldValueRequired")
@JsonIgnoreProperties(ignoreUnknown = true)
public class EgressPrefixGrantSpec {
  /** An ARM public IP prefix id, compared without regard to case as Azure does. */
  public static final String PREFIX_ID =
      "(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/publicIPPrefixes/[^/]+$";
  /** A Kubernetes namespace name (RFC 1123 label). */
  public static final String NAMESPACE = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

  @JsonPropertyDescription("ARM resource ids of the public IP prefixes granted, as an SGC names them in spec.publicIpPrefixId"
      + " (compared without regard to case).")
  @Required
  @Size(min = 1)
  private List<@Pattern(PREFIX_ID) String> publicIpPrefixIds;

  @JsonPropertyDescription("Names of the namespaces whose StaticGatewayConfigurations may use these prefixes.")
  @Size(min = 1)
  private List<@Pattern(NAMESPACE) String> namespaces;

  @JsonPropertyDescription("Namespaces whose labels match may use these prefixes too (as a NetworkPolicy's"
      + " namespaceSelector: {} selects every namespace). Whoever may label a namespace decides whether it matches.")
  private LabelSelector namespaceSelector;

  public List<String> getPublicIpPrefixIds() {
    return publicIpPrefixIds;
  }

  public void setPublicIpPrefixIds(List<String> value) {
    this.publicIpPrefixIds = value == null ? null : new ArrayList<>(value);
  }

  public LabelSelector getNamespaceSelector() {
    return namespaceSelector;
  }

  public void setNamespaceSelector(LabelSelector value) {
    this.namespaceSelector = value;
  }

  public List<String> getNamespaces() {
    return namespaces;
  }

  public void setNamespaces(List<String> value) {
    this.namespaces = value == null ? null : new ArrayList<>(value);
  }
}
