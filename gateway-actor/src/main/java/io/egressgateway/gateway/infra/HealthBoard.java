package io.egressgateway.gateway.infra;

import io.egressgateway.gateway.model.ConfigDatapath;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the {@code GatewayNode} entity last decided and achieved, published as one immutable snapshot for
 * the health-probe server (another thread). Only the entity writes; readers never see a half update.
 */
public final class HealthBoard {
  /** The configs wanted on this node and those the last reconcile left serving. */
  public record Snapshot(Map<String, ConfigDatapath> desired, Set<String> serving) {
    public Snapshot {
      desired = Map.copyOf(desired);
      serving = Set.copyOf(serving);
    }
  }

  private final AtomicReference<Snapshot> current = new AtomicReference<>(new Snapshot(Map.of(), Set.of()));
  /** Config uid to the worker nodes owning its journaled peers when the entity last recovered. */
  private final AtomicReference<Map<String, Set<String>>> owners = new AtomicReference<>(Map.of());

  public void publish(Map<String, ConfigDatapath> desired, Set<String> serving) {
    current.set(new Snapshot(desired, serving));
  }

  /** What the entity found in its journal on recovery: config uid to the worker nodes owning its peers. */
  public void recovered(Map<String, Set<String>> ownersByConfig) {
    Map<String, Set<String>> copy = new java.util.HashMap<>();
    ownersByConfig.forEach((uid, nodes) -> copy.put(uid, Set.copyOf(nodes)));
    owners.set(Map.copyOf(copy));
  }

  /** The worker nodes owning config {@code uid}'s journaled peers at the last recovery (empty: none known). */
  public Set<String> recoveredOwners(String uid) {
    return owners.get().getOrDefault(uid, Set.of());
  }

  public Snapshot snapshot() {
    return current.get();
  }

  /** The desired config if the entity believes it is serving. */
  public Optional<ConfigDatapath> servingConfig(String uid) {
    Snapshot s = current.get();
    return s.serving().contains(uid) ? Optional.ofNullable(s.desired().get(uid)) : Optional.empty();
  }
}
