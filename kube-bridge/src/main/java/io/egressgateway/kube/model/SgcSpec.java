package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import java.util.List;

/**
 * The spec of a StaticGatewayConfiguration as the controller reasons about it (a plain value, free of the
 * Kubernetes client types). {@code vmss} is null when the SGC names a nodepool. {@code unreadable} says why
 * the object's spec could not be read at all (a field of the wrong type): such a spec is never accepted,
 * and only its own object is affected. {@code conflict} says which other object already holds something this
 * spec asks for alone (its bring-your-own prefix); such a spec is not accepted either. {@code grant} is the
 * outcome of the prefix-grant check, null when none applies (grants not enforced, or no bring-your-own prefix); a
 * refused grant is not accepted.
 */
public record SgcSpec(
    String gatewayNodepoolName,
    Vmss vmss,
    String defaultRoute,
    boolean provisionPublicIps,
    String publicIpPrefixId,
    List<String> excludeCidrs,
    String unreadable,
    String conflict,
    PrefixGrants.Check grant)
    implements CborSerializable {

  public SgcSpec(String gatewayNodepoolName, Vmss vmss, String defaultRoute, boolean provisionPublicIps,
      String publicIpPrefixId, List<String> excludeCidrs) {
    this(gatewayNodepoolName, vmss, defaultRoute, provisionPublicIps, publicIpPrefixId, excludeCidrs, "", "", null);
  }

  /** The spec of an object that could not be mapped onto the CRD's types; {@code why} goes into its status. */
  public static SgcSpec unreadable(String why) {
    return new SgcSpec("", null, null, true, "", List.of(), why == null || why.isBlank() ? "unknown error" : why, "", null);
  }

  /** This spec, found to conflict with another object: {@code why} names it. */
  public SgcSpec conflicting(String why) {
    return new SgcSpec(gatewayNodepoolName, vmss, defaultRoute, provisionPublicIps, publicIpPrefixId, excludeCidrs,
        unreadable, why, grant);
  }

  /** This spec with the outcome of its prefix-grant check. */
  public SgcSpec granted(PrefixGrants.Check check) {
    return new SgcSpec(gatewayNodepoolName, vmss, defaultRoute, provisionPublicIps, publicIpPrefixId, excludeCidrs,
        unreadable, conflict, check);
  }

  public SgcSpec {
    unreadable = unreadable == null ? "" : unreadable;
    conflict = conflict == null ? "" : conflict;
    gatewayNodepoolName = gatewayNodepoolName == null ? "" : gatewayNodepoolName;
    defaultRoute = defaultRoute == null || defaultRoute.isEmpty() ? "staticEgressGateway" : defaultRoute;
    publicIpPrefixId = publicIpPrefixId == null ? "" : publicIpPrefixId;
    excludeCidrs = excludeCidrs == null ? List.of() : List.copyOf(excludeCidrs);
  }

  /** Upstream {@code gatewayVmssProfile}; a null size is kept as 0 like the Go zero value. */
  public record Vmss(String resourceGroup, String name, int prefixSize) implements CborSerializable {
    public Vmss {
      resourceGroup = resourceGroup == null ? "" : resourceGroup;
      name = name == null ? "" : name;
    }

    /** Upstream counts a profile whose fields all hold zero values as absent. */
    public boolean isEmpty() {
      return resourceGroup.isEmpty() && name.isEmpty() && prefixSize == 0;
    }
  }

  public boolean usesVmssProfile() {
    return vmss != null && !vmss.isEmpty();
  }
}
