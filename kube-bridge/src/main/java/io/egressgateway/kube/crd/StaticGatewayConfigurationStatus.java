package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Upstream status ({@code egressIpPrefix}, {@code gatewayServerProfile}) plus our additions:
 * {@code conditions} (Accepted, Ready, PodsUpToDate), {@code observedGeneration}, {@code gatewayProfiles} and
 * {@code pods}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class StaticGatewayConfigurationStatus {
  @JsonPropertyDescription("Egress public IP prefix (CIDR), or a comma-joined list of private IPs in private mode.")
  private String egressIpPrefix;

  @JsonPropertyDescription("Where pods send their WireGuard traffic, and the gateway's public key.")
  private GatewayServerProfile gatewayServerProfile;

  @JsonPropertyDescription("metadata.generation the status was computed from.")
  private Long observedGeneration;

  @JsonPropertyDescription("Accepted (the spec is valid), Ready (Azure provisioned, published to the nodes and followed by"
      + " every running pod) and PodsUpToDate (every running pod runs observedGeneration).")
  private List<Condition> conditions;

  @JsonPropertyDescription("Per gateway node: its primary IP and the secondary (SNAT) IP it uses for this configuration.")
  private List<GatewayNodeProfile> gatewayProfiles;

  @JsonPropertyDescription("How many running pods of this configuration run observedGeneration, of how many.")
  private PodCounts pods;

  public PodCounts getPods() {
    return pods;
  }

  public void setPods(PodCounts value) {
    this.pods = value;
  }

  public String getEgressIpPrefix() {
    return egressIpPrefix;
  }

  public void setEgressIpPrefix(String value) {
    this.egressIpPrefix = value;
  }

  public GatewayServerProfile getGatewayServerProfile() {
    return gatewayServerProfile;
  }

  public void setGatewayServerProfile(GatewayServerProfile value) {
    this.gatewayServerProfile = value;
  }

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long value) {
    this.observedGeneration = value;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> value) {
    this.conditions = value == null ? null : new ArrayList<>(value);
  }

  public List<GatewayNodeProfile> getGatewayProfiles() {
    return gatewayProfiles;
  }

  public void setGatewayProfiles(List<GatewayNodeProfile> value) {
    this.gatewayProfiles = value == null ? null : new ArrayList<>(value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StaticGatewayConfigurationStatus s
        && Objects.equals(egressIpPrefix, s.egressIpPrefix)
        && Objects.equals(gatewayServerProfile, s.gatewayServerProfile)
        && Objects.equals(observedGeneration, s.observedGeneration)
        && Objects.equals(conditions, s.conditions)
        && Objects.equals(gatewayProfiles, s.gatewayProfiles)
        && Objects.equals(pods, s.pods);
  }

  @Override
  public int hashCode() {
    return Objects.hash(egressIpPrefix, gatewayServerProfile, observedGeneration, conditions, gatewayProfiles, pods);
  }
}
