package io.egressgateway.pod.infra;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stateful fake of the gateways, for one worker node: per gateway node and config uid, the set of pod peers
 * (public key to pod IP). A list of the node's peers ({@link #sendPeers}) is followed as a gateway does: what
 * it lists is added (unless removed explicitly before: keys are never reused), and what it does not list is
 * removed unless it was added after the list was taken. A
 * gateway can be made {@link #silent} (never answers, takes no list) or {@link #failing} (answers an error,
 * takes no list).
 */
public final class InMemoryGatewayPeers implements GatewayPeers {
  private record Held(String podIp, long seq) {}

  private final Map<String, Map<String, Map<String, Held>>> peers = new ConcurrentHashMap<>();
  private final Set<String> silent = ConcurrentHashMap.newKeySet();
  private final Set<String> failing = ConcurrentHashMap.newKeySet();
  private final AtomicLong seq = new AtomicLong();
  private final Map<String, AtomicInteger> lists = new ConcurrentHashMap<>();
  private final Set<String> removed = ConcurrentHashMap.newKeySet();

  public void silent(String node, boolean value) {
    if (value) {
      silent.add(node);
    } else {
      silent.remove(node);
    }
  }

  public void failing(String node, boolean value) {
    if (value) {
      failing.add(node);
    } else {
      failing.remove(node);
    }
  }

  /** Pod peers (public key to pod IP) of {@code configUid} on {@code node}. */
  public synchronized Map<String, String> peersOf(String node, String configUid) {
    Map<String, String> out = new HashMap<>();
    held(node, configUid).forEach((key, h) -> out.put(key, h.podIp()));
    return Map.copyOf(out);
  }

  /** How many lists of peers of {@code configUid} gateway {@code node} has taken. */
  public int listsTaken(String node, String configUid) {
    return lists.getOrDefault(node + " " + configUid, new AtomicInteger()).get();
  }

  @Override
  public CompletionStage<Void> addPeer(String node, String configUid, String podPublicKey, String podIp) {
    long at = seq.incrementAndGet();
    return answer(node, () -> held(node, configUid).put(podPublicKey, new Held(podIp, at)));
  }

  @Override
  public CompletionStage<Void> removePeer(String node, String configUid, String podPublicKey) {
    return answer(node, () -> {
      held(node, configUid).remove(podPublicKey);
      removed.add(node + " " + configUid + " " + podPublicKey);
    });
  }

  @Override
  public long nextSeq() {
    return seq.incrementAndGet();
  }

  @Override
  public synchronized void sendPeers(String node, String configUid, long at, Map<String, String> podIpByKey) {
    if (silent.contains(node) || failing.contains(node)) {
      return;
    }
    Map<String, Held> m = held(node, configUid);
    m.entrySet().removeIf(e -> e.getValue().seq() < at && !podIpByKey.containsKey(e.getKey()));
    podIpByKey.forEach((key, ip) -> {
      if (!removed.contains(node + " " + configUid + " " + key)) {
        m.putIfAbsent(key, new Held(ip, at));
      }
    });
    lists.computeIfAbsent(node + " " + configUid, k -> new AtomicInteger()).incrementAndGet();
  }

  private Map<String, Held> held(String node, String configUid) {
    return peers.computeIfAbsent(node, n -> new ConcurrentHashMap<>()).computeIfAbsent(configUid, c -> new ConcurrentHashMap<>());
  }

  private synchronized CompletionStage<Void> answer(String node, Runnable change) {
    if (silent.contains(node)) {
      return new CompletableFuture<>();
    }
    if (failing.contains(node)) {
      return CompletableFuture.failedFuture(new IllegalStateException("gateway " + node + " refused"));
    }
    change.run();
    return CompletableFuture.completedFuture(null);
  }
}
