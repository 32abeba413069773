package io.egressgateway.gateway.entity;

import io.egressgateway.core.gateway.GatewayNodeProtocol.AddPeer;
import io.egressgateway.core.gateway.GatewayNodeProtocol.PeersOfNode;
import io.egressgateway.gateway.model.PeerIndex;
import io.egressgateway.gateway.model.PeerSyncPlanner;
import io.egressgateway.gateway.model.PeerSyncPlanner.Change;
import io.egressgateway.gateway.model.PeerSyncPlanner.Digest;
import io.egressgateway.gateway.model.PeerSyncPlanner.Held;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * What a {@code GatewayNode} heard from the worker nodes, in memory only (never journaled: it is re-sent
 * every period): the last digest of every (config, node), when each node was last heard from, and the keys
 * removed explicitly lately. Owned by the entity; not thread-safe.
 *
 * <p>Bounded: one digest per (config, node), and a digest of a config this gateway does not serve is kept for
 * {@code hold} only; removed keys are remembered for {@code expiry}, at most {@link #MAX_REMOVED}.
 */
final class PeerDigests {
  static final int MAX_REMOVED = 10_000;
  /** More worker nodes than any cluster has: past it, digests of nodes not heard from before are refused. */
  static final int MAX_NODES = 20_000;

  private record Stored(Digest digest, long at) {}

  private final Duration expiry;
  private final Duration hold;
  private final LongSupplier nanos;
  private final long startedAt;
  /** config uid to node to its last digest. */
  private final Map<String, Map<String, Stored>> digests = new HashMap<>();
  private final Map<String, Long> heard = new HashMap<>();
  /** "uid key" to when it was removed, oldest first. */
  private final LinkedHashMap<String, Long> removed = new LinkedHashMap<>();
  /** The state {@link #indexes} were built from, and per config uid its index. */
  private GatewayNode.State indexed;
  private final Map<String, PeerIndex> indexes = new HashMap<>();

  PeerDigests(Duration expiry, Duration hold, LongSupplier nanos) {
    this.expiry = expiry;
    this.hold = hold;
    this.nanos = nanos;
    this.startedAt = nanos.getAsLong();
  }

  /**
   * Keeps {@code m} unless the node sent a later one for the config already (or {@link #MAX_NODES} other
   * nodes were heard from); says whether it did.
   */
  boolean offer(PeersOfNode m) {
    long now = nanos.getAsLong();
    if (!heard.containsKey(m.node()) && heard.size() >= MAX_NODES) {
      return false;
    }
    heard.put(m.node(), now);
    Map<String, Stored> ofConfig = digests.computeIfAbsent(m.configUid(), u -> new HashMap<>());
    Stored before = ofConfig.get(m.node());
    if (before != null && before.digest().seq() >= m.seq()) {
      return false;
    }
    ofConfig.put(m.node(), new Stored(new Digest(m.seq(), m.peers()), now));
    return true;
  }

  Digest digest(String uid, String node) {
    Stored s = digests.getOrDefault(uid, Map.of()).get(node);
    return s == null ? null : s.digest();
  }

  /**
   * What node {@code node}'s last digest of config {@code uid} calls for, given the peers held in
   * {@code state}. Lists come far more often than the peers change: the index of {@code state}'s peers is
   * kept until the state changes.
   */
  List<Change> plan(String uid, String node, GatewayNode.State state) {
    Digest d = digest(uid, node);
    if (d == null) {
      return List.of();
    }
    if (state != indexed) {
      indexed = state;
      indexes.clear();
    }
    Map<String, Held> relevant = indexes.computeIfAbsent(uid, u -> PeerIndex.of(state.book(), u)).relevantTo(node, d.peers());
    return PeerSyncPlanner.planDigest(relevant, node, d, key -> wasRemoved(uid, key));
  }

  /**
   * What every node's last digest of config {@code uid} calls for, one node after the other (for a config
   * that has just come to be served here: the digests that came before are followed now).
   */
  List<Change> planAll(String uid, GatewayNode.State state) {
    List<Change> out = new ArrayList<>();
    new TreeMap<>(digests.getOrDefault(uid, Map.of())).keySet().forEach(node -> out.addAll(plan(uid, node, state)));
    return out;
  }

  /** The removals of peers whose owner has not been heard from within {@code expiry}. */
  List<Change> planSilent(Map<String, Held> held) {
    return PeerSyncPlanner.planSilent(held, this::heardFrom);
  }

  /** {@link #planAll} for each of the {@code served} configs, by uid. */
  Map<String, List<Change>> planAll(Set<String> served, GatewayNode.State state) {
    Map<String, List<Change>> out = new TreeMap<>();
    served.forEach(uid -> out.put(uid, planAll(uid, state)));
    return out;
  }

  /**
   * The periodic look at silent worker nodes: lists of configs no longer {@code served} are dropped, and the
   * held peers of each served config whose node has been silent too long are planned away, by uid.
   */
  Map<String, List<Change>> planSilent(Set<String> served, GatewayNode.State state) {
    prune(served);
    Map<String, List<Change>> out = new TreeMap<>();
    served.forEach(uid -> out.put(uid, planSilent(state.book().heldOf(uid))));
    return out;
  }

  /**
   * Whether peers owned by {@code node} still count: it was heard from within {@code expiry}, or this gateway
   * has not been up that long (a node may well be alive and simply not have sent to this incarnation yet).
   */
  boolean heardFrom(String node) {
    long now = nanos.getAsLong();
    Long at = heard.get(node);
    long since = at == null ? startedAt : at;
    return now - since < expiry.toNanos();
  }

  /**
   * Why an addition is not to be made, or null: the worker asked for it before a later digest of its node
   * that no longer lists it, so the tunnel is gone already (the request was on its way, or waited for this
   * gateway, meanwhile).
   */
  String whyOutdated(AddPeer c) {
    if (c.node().isEmpty()) {
      return null;
    }
    Digest d = digest(c.configUid(), c.node());
    return d != null && d.seq() > c.seq() && !d.peers().containsKey(c.publicKey())
        ? "peer " + c.publicKey() + " is gone: a later list of node " + c.node() + "'s tunnels does not have it"
        : null;
  }

  void removed(String uid, String key) {
    removed.remove(uid + " " + key);
    removed.put(uid + " " + key, nanos.getAsLong());
    if (removed.size() > MAX_REMOVED) {
      Iterator<String> oldest = removed.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
  }

  boolean wasRemoved(String uid, String key) {
    return removed.containsKey(uid + " " + key);
  }

  /**
   * Drops what no longer matters: digests older than {@code expiry} (of configs not served here: than
   * {@code hold}), removals older than {@code expiry}, nodes silent for twice that.
   */
  void prune(Set<String> served) {
    long now = nanos.getAsLong();
    digests.entrySet().removeIf(e -> {
      long keep = served.contains(e.getKey()) ? expiry.toNanos() : hold.toNanos();
      e.getValue().values().removeIf(s -> now - s.at() >= keep);
      return e.getValue().isEmpty();
    });
    removed.values().removeIf(at -> now - at >= expiry.toNanos());
    heard.values().removeIf(at -> now - at >= 2 * expiry.toNanos());
  }
}
