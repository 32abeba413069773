package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.egressgateway.kube.model.Cidrs;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * Upstream spec, field for field. The CEL rules repeat what the controller checks (the controller keeps
 * checking, for API servers without CEL and for objects stored before the rules existed).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "(has(self.gatewayNodepoolName) && self.gatewayNodepoolName != '') != has(self.gatewayVmssProfile)",
    message = "exactly one of gatewayNodepoolName and gatewayVmssProfile must be set",
    reason = "FieldValueInvalid")
@ValidationRule(
    value = "!has(self.publicIpPrefixId) || self.publicIpPrefixId == '' || self.provisionPublicIps",
    message = "publicIpPrefixId is only allowed when provisionPublicIps is true",
    reason = "FieldValueForbidden")
@ValidationRule(
    value = "!has(self.gatewayVmssProfile) || !self.provisionPublicIps"
        + " || (has(self.gatewayVmssProfile.publicIpPrefixSize) && self.gatewayVmssProfile.publicIpPrefixSize >= 28 && self.gatewayVmssProfile.publicIpPrefixSize <= 31)",
    message = "gatewayVmssProfile.publicIpPrefixSize must be 28..31 when public IPs are provisioned (Azure limit)",
    reason = "FieldValueInvalid")
@JsonIgnoreProperties(ignoreUnknown = true)
public class StaticGatewayConfigurationSpec {

  @JsonPropertyDescription("Name of the AKS gateway nodepool (matched against the aks-managed-poolName tag).")
  private String gatewayNodepoolName;

  @JsonPropertyDescription("The gateway VMSS, when not using an AKS nodepool name.")
  private GatewayVmssProfile gatewayVmssProfile;

  @JsonPropertyDescription("Where the pod's default route points: staticEgressGateway (the tunnel) or azureNetworking (eth0).")
  @Default("staticEgressGateway")
  private DefaultRoute defaultRoute;

  @JsonPropertyDescription("Whether to provision public IPs (a public IP prefix) for egress; false means private egress IPs.")
  @Required
  @Default("true")
  @JsonInclude(JsonInclude.Include.ALWAYS)
  private boolean provisionPublicIps = true;

  @JsonPropertyDescription("Bring-your-own public IP prefix ARM resource id; only when provisionPublicIps is true.")
  private String publicIpPrefixId;

  @JsonPropertyDescription("Destination IPv4 CIDRs that bypass the gateway.")
  private List<@Pattern(Cidrs.IPV4_CIDR) String> excludeCidrs;

  public String getGatewayNodepoolName() {
    return gatewayNodepoolName;
  }

  public void setGatewayNodepoolName(String value) {
    this.gatewayNodepoolName = value;
  }

  public GatewayVmssProfile getGatewayVmssProfile() {
    return gatewayVmssProfile;
  }

  public void setGatewayVmssProfile(GatewayVmssProfile value) {
    this.gatewayVmssProfile = value;
  }

  public DefaultRoute getDefaultRoute() {
    return defaultRoute;
  }

  public void setDefaultRoute(DefaultRoute value) {
    this.defaultRoute = value;
  }

  public boolean isProvisionPublicIps() {
    return provisionPublicIps;
  }

  public void setProvisionPublicIps(boolean value) {
    this.provisionPublicIps = value;
  }

  public String getPublicIpPrefixId() {
    return publicIpPrefixId;
  }

  public void setPublicIpPrefixId(String value) {
    this.publicIpPrefixId = value;
  }

  public List<String> getExcludeCidrs() {
    return excludeCidrs;
  }

  public void setExcludeCidrs(List<String> value) {
    this.excludeCidrs = value == null ? null : new ArrayList<>(value);
  }
}
