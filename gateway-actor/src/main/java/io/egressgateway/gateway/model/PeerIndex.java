package io.egressgateway.gateway.model;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The peers of one config, indexed for following one worker node's list at a time: by pod IP and by owner.
 * A gateway gets a list from every worker node every period while its peers change only with pods, so it
 * builds this once per change and hands {@link PeerSyncPlanner#planDigest} only the peers a list can
 * concern: that list's keys, the holders of its pod IPs, and the node's own peers. The plan is the same as
 * over all peers.
 */
public final class PeerIndex {
  private final Map<String, PeerSyncPlanner.Held> held;
  private final Map<String, String> keyByIp = new HashMap<>();
  private final Map<String, Set<String>> keysByNode = new HashMap<>();

  private PeerIndex(Map<String, PeerSyncPlanner.Held> held) {
    this.held = held;
    held.forEach((key, h) -> {
      keyByIp.put(h.allowedIp(), key);
      if (h.owner() != null) {
        keysByNode.computeIfAbsent(h.owner().node(), n -> new HashSet<>()).add(key);
      }
    });
  }

  public static PeerIndex of(PeerBook book, String uid) {
    return new PeerIndex(book.heldOf(uid));
  }

  /** The peers node {@code node}'s list of {@code peers} (public key to allowed IP) can concern. */
  public Map<String, PeerSyncPlanner.Held> relevantTo(String node, Map<String, String> peers) {
    Map<String, PeerSyncPlanner.Held> out = new HashMap<>();
    keysByNode.getOrDefault(node, Set.of()).forEach(key -> out.put(key, held.get(key)));
    peers.forEach((key, ip) -> {
      if (held.containsKey(key)) {
        out.put(key, held.get(key));
      }
      String holder = keyByIp.get(ip);
      if (holder != null) {
        out.put(holder, held.get(holder));
      }
    });
    return out;
  }
}
