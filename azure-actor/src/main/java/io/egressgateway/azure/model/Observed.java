package io.egressgateway.azure.model;

import java.util.List;
import java.util.Map;

/**
 * One read of a pool's Azure state, reduced to what the planner compares. Names are as stored in ARM.
 *
 * @param lb the shared ILB's section for this pool, or {@code null} when the ILB does not exist
 * @param scaleSet the gateway scale set model, or {@code null} for a VM pool
 * @param instances every scale set instance, or every gateway NIC of a VM pool, with its addresses
 * @param prefixes the managed-name prefixes ({@code egressgateway-*}) in the resource group, by name
 * @param byoPrefixes the BYO prefixes asked for, by lower-cased id (missing ones are absent)
 * @param publicIps a VM pool's per-NIC public IPs (in managed or asked-for BYO prefixes), by lower-cased name
 * @param prefixSizeTag the pool's {@code aks-managed-gatewayIPPrefixSize} tag as written, {@code null} when absent
 */
public record Observed(Lb lb, ScaleSet scaleSet, List<Instance> instances, Map<String, Prefix> prefixes,
                       Map<String, Prefix> byoPrefixes, Map<String, PublicIp> publicIps, String prefixSizeTag) {

  public Observed {
    publicIps = Map.copyOf(publicIps);
  }

  /** A scale set pool without a prefix size tag. */
  public Observed(Lb lb, ScaleSet scaleSet, List<Instance> instances, Map<String, Prefix> prefixes, Map<String, Prefix> byoPrefixes) {
    this(lb, scaleSet, instances, prefixes, byoPrefixes, Map.of(), null);
  }

  public boolean vmPool() {
    return scaleSet == null;
  }

  /** {@code rules}/{@code probes}: by name, for rules whose backend is this pool's; {@code frontendCount}: all frontends of the LB. */
  public record Lb(String frontendIp, boolean hasFrontend, boolean hasBackendPool, Map<String, Integer> rules,
                   Map<String, String> probes, int frontendCount, int ruleCount) {}

  /** {@code egressIpConfigs}: our ipConfig name to prefix id ("" in private mode) on the primary NIC config. */
  public record ScaleSet(String uniqueId, int capacity, Map<String, String> egressIpConfigs, boolean primaryInPool) {}

  /**
   * {@code egressIps}: our ipConfig name to private IP on the primary NIC; {@code egressPublicIps}: the same
   * names to the attached public IP's id ("" when none; VM pools only). For a VM-pool NIC the instance id is
   * the NIC name and {@code latestModelApplied} is false when its provisioning failed.
   */
  public record Instance(String instanceId, String computerName, boolean latestModelApplied, String primaryIp,
                         Map<String, String> egressIps, boolean primaryInPool, Map<String, String> egressPublicIps) {
    public Instance(String instanceId, String computerName, boolean latestModelApplied, String primaryIp,
                    Map<String, String> egressIps, boolean primaryInPool) {
      this(instanceId, computerName, latestModelApplied, primaryIp, egressIps, primaryInPool, Map.of());
    }
  }

  public record Prefix(String id, String name, String cidr, int length) {}

  /** {@code ipConfigId}: the NIC ipConfig it is attached to, "" when free. */
  public record PublicIp(String id, String name, String prefixId, String ipConfigId) {}
}
