package io.egressgateway.gateway.entity;

import io.egressgateway.core.gateway.GatewayNodeProtocol.PeersOfNode;
import io.egressgateway.datapath.wireguard.WgKeys;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks what workers send a {@code GatewayNode} before any of it reaches the journal or a command: every
 * value is re-parsed into the shape the datapath expects, and an answer says what is wrong.
 */
final class PeerRequests {
  /** A node holds at most 250 pods; this leaves room without letting one message grow without bound. */
  static final int MAX_DIGEST_PEERS = 1_000;

  private static final Pattern HOST_CIDR = Pattern.compile("(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}/32");
  private static final Pattern CONFIG_UID = Pattern.compile("[a-z0-9-]{1,63}");
  /** A Kubernetes node name (DNS subdomain). */
  private static final Pattern NODE = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

  private PeerRequests() {}

  /**
   * A worker adds or removes only its own node's peers (the node it names is checked against its certificate
   * on receipt); null if {@code requester} may, else why not. Requests naming no node are the previous release's.
   */
  static String ownedElsewhere(GatewayNode.State state, String uid, String key, String requester) {
    io.egressgateway.gateway.model.PeerOwner owner = state.owners().getOrDefault(uid, java.util.Map.of()).get(key);
    if (requester.isEmpty() || owner == null || owner.node().isEmpty() || owner.node().equals(requester)) {
      return null;
    }
    return "peer " + key + " belongs to another node";
  }

  /** Why a pod peer cannot be taken, or null. */
  static String invalidPeer(String uid, String key, String ip) {
    if (uid == null || !CONFIG_UID.matcher(uid).matches()) {
      return "not a config uid: '" + uid + "'";
    }
    if (!WgKeys.isValid(key)) {
      return "not a WireGuard public key (base64 of 32 bytes): '" + key + "'";
    }
    if (ip == null || !HOST_CIDR.matcher(ip).matches()) {
      return "allowed IP must be one IPv4 address as a.b.c.d/32, not '" + ip + "'";
    }
    return null;
  }

  /** Why a worker node's digest cannot be taken, or null: its first bad entry, if any. */
  static String invalidDigest(PeersOfNode m) {
    if (m.node() == null || !NODE.matcher(m.node()).matches()) {
      return "not a node name: '" + m.node() + "'";
    }
    if (m.configUid() == null || !CONFIG_UID.matcher(m.configUid()).matches()) {
      return "not a config uid: '" + m.configUid() + "'";
    }
    if (m.peers().size() > MAX_DIGEST_PEERS) {
      return m.peers().size() + " peers, more than a node can hold (" + MAX_DIGEST_PEERS + ")";
    }
    Set<String> ips = new HashSet<>();
    for (Map.Entry<String, String> e : m.peers().entrySet()) {
      String problem = invalidPeer(m.configUid(), e.getKey(), e.getValue());
      if (problem != null) {
        return problem;
      }
      if (!ips.add(e.getValue())) {
        return "pod IP " + e.getValue() + " listed for two keys";
      }
    }
    return null;
  }
}
