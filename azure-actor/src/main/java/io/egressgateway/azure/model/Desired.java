package io.egressgateway.azure.model;

import java.util.Map;
import java.util.Set;

/**
 * What the pool entity wants, from its journal: active configs with their allocated ports, configs being
 * removed, and the ARM id prefix under which managed prefixes live ({@code .../providers/Microsoft.Network/publicIPPrefixes/}).
 */
public record Desired(Map<String, Wanted> active, Set<String> removing, String prefixIdBase) {
  public record Wanted(ConfigSpec spec, int port) {}

  public Desired {
    active = Map.copyOf(active);
    removing = Set.copyOf(removing);
  }
}
