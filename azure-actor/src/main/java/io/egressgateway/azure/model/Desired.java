package io.egressgateway.azure.model;

import java.util.Map;

/**
 * What the pool entity wants, from its journal: active configs with their allocated ports, configs being
 * removed (by uid, with the spec they were accepted with: it names their resources), the ARM id prefix under
 * which managed prefixes live ({@code .../providers/Microsoft.Network/publicIPPrefixes/}) and the prefix
 * length for configs that leave it to an untagged pool.
 */
public record Desired(Map<String, Wanted> active, Map<String, ConfigSpec> removing, String prefixIdBase, int defaultPrefixLength) {
  public record Wanted(ConfigSpec spec, int port) {}

  public Desired {
    active = Map.copyOf(active);
    removing = Map.copyOf(removing);
  }

  /** Public IP addresses live next to the managed prefixes (the cloud config's resource group). */
  public String publicIpIdBase() {
    return prefixIdBase.replace("/publicIPPrefixes/", "/publicIPAddresses/");
  }
}
