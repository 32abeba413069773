package io.egressgateway.gateway.model;

import java.util.HashMap;
import java.util.Map;

/**
 * The pod peers a gateway holds, per config uid: public key to allowed IP, and public key to the worker node
 * whose tunnel it is where known ({@link PeerOwner}). Immutable; every change returns a new book.
 *
 * <p>A pod IP belongs to one sandbox at a time, and WireGuard routes an allowed IP to one peer only: a key
 * that takes an IP drops the older key holding it (a sandbox whose removal never reached this gateway), so a
 * later full load of the device cannot hand the address back to it.
 */
public record PeerBook(Map<String, Map<String, String>> peers, Map<String, Map<String, PeerOwner>> owners) {
  public static final PeerBook EMPTY = new PeerBook(Map.of(), Map.of());

  /** {@code null} maps read as empty; empty inner maps are left out. */
  public PeerBook {
    peers = copyOf(peers);
    owners = copyOf(owners);
  }

  public Map<String, String> peersOf(String uid) {
    return peers.getOrDefault(uid, Map.of());
  }

  public boolean has(String uid, String key, String ip) {
    return ip.equals(peersOf(uid).get(key));
  }

  /** The peers of config {@code uid} with their owners, as {@link PeerSyncPlanner} reads them. */
  public Map<String, PeerSyncPlanner.Held> heldOf(String uid) {
    Map<String, PeerOwner> o = owners.getOrDefault(uid, Map.of());
    Map<String, PeerSyncPlanner.Held> out = new HashMap<>();
    peersOf(uid).forEach((key, ip) -> out.put(key, new PeerSyncPlanner.Held(ip, o.get(key))));
    return out;
  }

  /** Adds or moves a peer ({@code owner} null: not known), taking {@code ip} from any other key. */
  public PeerBook withPeer(String uid, String key, String ip, PeerOwner owner) {
    Map<String, String> m = new HashMap<>(peersOf(uid));
    Map<String, PeerOwner> o = new HashMap<>(owners.getOrDefault(uid, Map.of()));
    m.entrySet().removeIf(e -> {
      boolean taken = e.getValue().equals(ip);
      if (taken) {
        o.remove(e.getKey());
      }
      return taken;
    });
    m.put(key, ip);
    if (owner == null) {
      o.remove(key);
    } else {
      o.put(key, owner);
    }
    return with(uid, m, o);
  }

  /** A held peer's owner; a key not held is left alone. */
  public PeerBook withOwner(String uid, String key, PeerOwner owner) {
    if (!peersOf(uid).containsKey(key)) {
      return this;
    }
    Map<String, PeerOwner> o = new HashMap<>(owners.getOrDefault(uid, Map.of()));
    o.put(key, owner);
    return with(uid, peersOf(uid), o);
  }

  public PeerBook withoutPeer(String uid, String key) {
    Map<String, String> m = new HashMap<>(peersOf(uid));
    Map<String, PeerOwner> o = new HashMap<>(owners.getOrDefault(uid, Map.of()));
    m.remove(key);
    o.remove(key);
    return with(uid, m, o);
  }

  public PeerBook without(String uid) {
    return with(uid, Map.of(), Map.of());
  }

  private PeerBook with(String uid, Map<String, String> m, Map<String, PeerOwner> o) {
    Map<String, Map<String, String>> all = new HashMap<>(peers);
    Map<String, Map<String, PeerOwner>> allOwners = new HashMap<>(owners);
    all.put(uid, m);
    allOwners.put(uid, o);
    return new PeerBook(all, allOwners);
  }

  private static <V> Map<String, Map<String, V>> copyOf(Map<String, Map<String, V>> m) {
    Map<String, Map<String, V>> copy = new HashMap<>();
    if (m != null) {
      m.forEach((uid, inner) -> {
        if (inner != null && !inner.isEmpty()) {
          copy.put(uid, Map.copyOf(inner));
        }
      });
    }
    return Map.copyOf(copy);
  }
}
