package io.egressgateway.gateway.model;

import java.util.List;

/**
 * One look at a config's datapath on this node, for its metrics (observed, never journaled): the WireGuard
 * device's peers with their counters, the nft drop counters and the namespace's conntrack entries.
 *
 * @param uid               config uid
 * @param peers             the device's peers
 * @param droppedPackets    sum of the drop rules' packet counters of our nft table; -1 when not readable
 * @param conntrackEntries  connections the namespace's conntrack table holds (each one a SNAT mapping, since
 *                          everything leaving the namespace is SNATed); -1 when not readable
 */
public record ConfigSample(String uid, List<Peer> peers, long droppedPackets, long conntrackEntries) {
  public ConfigSample {
    peers = List.copyOf(peers);
  }

  /**
   * One peer of the device. {@code latestHandshake}: epoch seconds, 0 when it never completed one; the byte
   * counters are the device's since the peer was added.
   */
  public record Peer(String publicKey, long latestHandshake, long rxBytes, long txBytes) {}
}
