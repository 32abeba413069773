package io.egressgateway.azure.model;

import java.util.List;

/**
 * A config provisioned in Azure: the ILB frontend IP and WireGuard port, the egress prefix (CIDR and ARM id;
 * in private mode the prefix is the comma-joined secondary IPs and the id is empty), and every node's IPs.
 */
public record ConfigResult(String configKey, String uid, String frontendIp, int port, String egressPrefix, String prefixId,
                           List<NodeAddress> nodes) {
  public ConfigResult {
    nodes = List.copyOf(nodes);
  }
}
