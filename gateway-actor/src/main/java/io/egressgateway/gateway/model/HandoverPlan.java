package io.egressgateway.gateway.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which pods a stopping gateway names to which worker node ({@code Handover} in cluster-core), pure: every
 * pod peer of a config that completed a handshake with this gateway within {@link #SESSION_LIFETIME} (so may
 * still hold a session with it), by the worker node that owns it. Every gateway of a pool holds every pod's
 * peer; the handshake is what tells the pods whose session is here from those of the other gateways. A peer
 * whose owner is not known (a peer of the previous release, or learnt before its node said so) is left out:
 * its pod fails over through its worker's watchdog as before.
 */
public final class HandoverPlan {
  /** WireGuard's limit on a session's age (reject-after-time): an older handshake holds no session any more. */
  public static final Duration SESSION_LIFETIME = Duration.ofSeconds(180);

  private HandoverPlan() {}

  /**
   * @param owners       config uid to pod public key to owning worker node (the entity's peer book)
   * @param samples      config uid to one look at its device's peers
   * @param epochSeconds now, on the clock WireGuard reports handshakes in
   * @return worker node to the public keys of its pods to move, sorted; nodes without any left out
   */
  public static Map<String, List<String>> byNode(Map<String, Map<String, String>> owners, Map<String, ConfigSample> samples,
      long epochSeconds) {
    Map<String, List<String>> out = new TreeMap<>();
    samples.forEach((uid, sample) -> {
      Map<String, String> nodes = owners.getOrDefault(uid, Map.of());
      for (ConfigSample.Peer p : sample.peers()) {
        String node = nodes.get(p.publicKey());
        if (node == null || node.isEmpty() || p.latestHandshake() <= 0
            || epochSeconds - p.latestHandshake() >= SESSION_LIFETIME.toSeconds()) {
          continue;
        }
        out.computeIfAbsent(node, n -> new ArrayList<>()).add(p.publicKey());
      }
    });
    out.replaceAll((node, keys) -> keys.stream().distinct().sorted().toList());
    return out;
  }
}
