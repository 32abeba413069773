package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import java.util.List;

/**
 * The spec of a StaticGatewayConfiguration as the controller reasons about it (a plain value, free of the
 * Kubernetes client types). {@code vmss} is null when the SGC names a nodepool.
 */
public record SgcSpec(
    String gatewayNodepoolName,
    Vmss vmss,
    String defaultRoute,
    boolean provisionPublicIps,
    String publicIpPrefixId,
    List<String> excludeCidrs)
    implements CborSerializable {

  public SgcSpec {
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
