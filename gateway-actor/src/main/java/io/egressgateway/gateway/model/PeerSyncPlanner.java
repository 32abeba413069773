package io.egressgateway.gateway.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Decides how a gateway's pod peers of one config follow the workers' live tunnels. Pure.
 *
 * <p>A worker node's digest lists every tunnel it has for the config. The gateway takes what is missing,
 * takes ownership of what it held without knowing whose it was, and removes what the node owned and no
 * longer lists, unless the gateway learnt of it after the digest was taken (a pod that started since: its
 * owner's {@code seq} is higher). A key that was removed explicitly is never brought back by a digest:
 * keys are never reused, so such a digest is older than the removal. A pod IP belongs to one key: a digest
 * that gives it to another key takes it from the one holding it, unless that one is the same node's and
 * newer than the digest (the digest's key is the pod's previous sandbox).
 *
 * <p>Peers without owner (added by a worker of the previous release) are left alone until a digest
 * claims them; peers of a node that has gone silent go ({@link #planSilent}).
 */
public final class PeerSyncPlanner {
  private PeerSyncPlanner() {}

  /** A peer the gateway holds: its allowed IP and owner ({@code null}: not known). */
  public record Held(String allowedIp, PeerOwner owner) {}

  /** A worker node's digest: its sequence number and its live peers (public key to allowed IP). */
  public record Digest(long seq, Map<String, String> peers) {
    public Digest {
      peers = Map.copyOf(peers);
    }
  }

  /** What to change about one peer. */
  public sealed interface Change {
    String publicKey();
  }

  /** Hold (or move to {@code allowedIp}) a peer on behalf of {@code owner}. */
  public record Add(String publicKey, String allowedIp, PeerOwner owner) implements Change {}

  /** A held peer, same IP, now known to be {@code owner}'s. */
  public record Claim(String publicKey, PeerOwner owner) implements Change {}

  /** Drop a peer; {@code why} is for the log. */
  public record Remove(String publicKey, String why) implements Change {}

  /**
   * The changes node {@code node}'s {@code digest} calls for, removals first.
   *
   * @param held    the peers held for the config now, by public key
   * @param removed keys removed explicitly (not to be brought back)
   */
  public static List<Change> planDigest(Map<String, Held> held, String node, Digest digest, Predicate<String> removed) {
    PeerOwner owner = new PeerOwner(node, digest.seq());
    Map<String, String> keyByIp = new TreeMap<>();
    held.forEach((key, h) -> keyByIp.put(h.allowedIp(), key));
    Set<String> drop = new TreeSet<>();
    Map<String, String> dropWhy = new TreeMap<>();
    List<Change> claims = new ArrayList<>();
    List<Change> adds = new ArrayList<>();
    new TreeMap<>(digest.peers()).forEach((key, ip) -> {
      if (removed.test(key)) {
        return;
      }
      Held h = held.get(key);
      if (h != null && h.allowedIp().equals(ip)) {
        if (h.owner() == null || !h.owner().node().equals(node)) {
          claims.add(new Claim(key, owner));
        }
        return;
      }
      String holder = keyByIp.get(ip);
      if (holder != null && !holder.equals(key)) {
        PeerOwner o = held.get(holder).owner();
        if (o != null && o.node().equals(node) && o.seq() > digest.seq()) {
          return; // the node's newer sandbox of this pod IP: the digest's key is the one it replaced
        }
        drop.add(holder);
        dropWhy.put(holder, "pod IP " + ip + " now belongs to " + key + " (node " + node + ")");
      }
      adds.add(new Add(key, ip, owner));
    });
    held.forEach((key, h) -> {
      if (h.owner() != null && h.owner().node().equals(node) && h.owner().seq() < digest.seq()
          && !digest.peers().containsKey(key)) {
        drop.add(key);
        dropWhy.putIfAbsent(key, "no longer among node " + node + "'s tunnels");
      }
    });
    List<Change> out = new ArrayList<>();
    drop.forEach(key -> out.add(new Remove(key, dropWhy.get(key))));
    out.addAll(claims);
    out.addAll(adds);
    return out;
  }

  /** How many peers a list of changes adds, removes and claims. */
  public record Counts(int added, int removed, int claimed) {}

  public static Counts count(List<Change> changes) {
    int added = 0;
    int removed = 0;
    int claimed = 0;
    for (Change c : changes) {
      if (c instanceof Add) {
        added++;
      } else if (c instanceof Remove) {
        removed++;
      } else {
        claimed++;
      }
    }
    return new Counts(added, removed, claimed);
  }

  /**
   * Removals of the peers whose owner has not been heard from for too long (the node was deleted, or its agent
   * has been away longer than the gateway waits): {@code heardFrom} says which nodes still count.
   */
  public static List<Change> planSilent(Map<String, Held> held, Predicate<String> heardFrom) {
    List<Change> out = new ArrayList<>();
    new TreeMap<>(held).forEach((key, h) -> {
      if (h.owner() != null && !heardFrom.test(h.owner().node())) {
        out.add(new Remove(key, "node " + h.owner().node() + " has not sent its peers for too long"));
      }
    });
    return out;
  }
}
