package io.egressgateway.azure.model;

import java.util.List;
import java.util.Map;

/**
 * One read of a pool's Azure state, reduced to what the planner compares. Names are as stored in ARM.
 *
 * @param lb the shared ILB's section for this pool, or {@code null} when the ILB does not exist
 * @param scaleSet the gateway scale set model
 * @param instances every instance with its NIC's addresses
 * @param prefixes the managed-name prefixes ({@code egressgateway-*}) in the resource group, by name
 * @param byoPrefixes the BYO prefixes asked for, by lower-cased id (missing ones are absent)
 */
public record Observed(Lb lb, ScaleSet scaleSet, List<Instance> instances, Map<String, Prefix> prefixes,
                       Map<String, Prefix> byoPrefixes) {

  /** {@code rules}/{@code probes}: by name, for rules whose backend is this pool's; {@code frontendCount}: all frontends of the LB. */
  public record Lb(String frontendIp, boolean hasFrontend, boolean hasBackendPool, Map<String, Integer> rules,
                   Map<String, String> probes, int frontendCount, int ruleCount) {}

  /** {@code egressIpConfigs}: our ipConfig name to prefix id ("" in private mode) on the primary NIC config. */
  public record ScaleSet(String uniqueId, int capacity, Map<String, String> egressIpConfigs, boolean primaryInPool) {}

  /** {@code egressIps}: our ipConfig name to private IP on the instance's primary NIC. */
  public record Instance(String instanceId, String computerName, boolean latestModelApplied, String primaryIp,
                         Map<String, String> egressIps, boolean primaryInPool) {}

  public record Prefix(String id, String name, String cidr, int length) {}
}
