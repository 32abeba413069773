package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Upstream enum {@code azureNetworking | staticEgressGateway}. */
public enum DefaultRoute {
  @JsonProperty("azureNetworking")
  AZURE_NETWORKING,
  @JsonProperty("staticEgressGateway")
  STATIC_EGRESS_GATEWAY;

  public String wireName() {
    return this == AZURE_NETWORKING ? "azureNetworking" : "staticEgressGateway";
  }
}
