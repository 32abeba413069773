package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** Upstream {@code gatewayVmssProfile}: a named VMSS and the prefix length its public IPs come from. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class GatewayVmssProfile {
  @JsonPropertyDescription("Resource group of the VMSS (same subscription).")
  private String vmssResourceGroup;

  @JsonPropertyDescription("Name of the VMSS.")
  private String vmssName;

  @JsonPropertyDescription("Length of the public IP prefix to provision.")
  @Min(0)
  @Max(31)
  private Integer publicIpPrefixSize;

  public GatewayVmssProfile() {}

  public GatewayVmssProfile(String vmssResourceGroup, String vmssName, Integer publicIpPrefixSize) {
    this.vmssResourceGroup = vmssResourceGroup;
    this.vmssName = vmssName;
    this.publicIpPrefixSize = publicIpPrefixSize;
  }

  public String getVmssResourceGroup() {
    return vmssResourceGroup;
  }

  public void setVmssResourceGroup(String value) {
    this.vmssResourceGroup = value;
  }

  public String getVmssName() {
    return vmssName;
  }

  public void setVmssName(String value) {
    this.vmssName = value;
  }

  public Integer getPublicIpPrefixSize() {
    return publicIpPrefixSize;
  }

  public void setPublicIpPrefixSize(Integer value) {
    this.publicIpPrefixSize = value;
  }
}
