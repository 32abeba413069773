package io.egressgateway.pod.infra;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A stateful fake of the gateways: per gateway node and config uid, the set of pod peers (public key to
 * pod IP). A gateway can be made {@link #silent} (never answers) or {@link #failing} (answers an error).
 */
public final class InMemoryGatewayPeers implements GatewayPeers {
  private final Map<String, Map<String, Map<String, String>>> peers = new ConcurrentHashMap<>();
  private final Set<String> silent = ConcurrentHashMap.newKeySet();
  private final Set<String> failing = ConcurrentHashMap.newKeySet();

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
  public Map<String, String> peersOf(String node, String configUid) {
    return Map.copyOf(peers.getOrDefault(node, Map.of()).getOrDefault(configUid, Map.of()));
  }

  @Override
  public CompletionStage<Void> addPeer(String node, String configUid, String podPublicKey, String podIp) {
    return answer(node, () -> peers.computeIfAbsent(node, n -> new ConcurrentHashMap<>())
        .computeIfAbsent(configUid, c -> new ConcurrentHashMap<>()).put(podPublicKey, podIp));
  }

  @Override
  public CompletionStage<Void> removePeer(String node, String configUid, String podPublicKey) {
    return answer(node, () -> peers.getOrDefault(node, Map.of()).getOrDefault(configUid, new ConcurrentHashMap<>())
        .remove(podPublicKey));
  }

  private CompletionStage<Void> answer(String node, Runnable change) {
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
