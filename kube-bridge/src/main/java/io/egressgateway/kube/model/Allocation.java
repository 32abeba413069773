package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the Azure side provisioned for one SGC: the ILB frontend IP and WireGuard port, the egress prefix
 * (a CIDR, or the comma-joined secondary IPs in private mode) and each gateway node's IPs.
 */
public record Allocation(String ilbIp, int port, String egressPrefix, Map<String, NodeIps> nodes)
    implements CborSerializable {

  public Allocation {
    ilbIp = ilbIp == null ? "" : ilbIp;
    egressPrefix = egressPrefix == null ? "" : egressPrefix;
    nodes = nodes == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(nodes));
  }

  /** A gateway node's primary IP and the secondary IP it SNATs this configuration's traffic to. */
  public record NodeIps(String primaryIp, String secondaryIp) implements CborSerializable {}

  public boolean complete() {
    return !ilbIp.isEmpty() && port > 0 && !nodes.isEmpty();
  }
}
