package io.egressgateway.kube.infra;

import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.SgcSpec;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;

/**
 * A stateful stand-in for the Azure side, for this module's tests (a member provisions through the
 * azure-actor, {@code PoolProvisioner} in app).
 * It keeps an inventory per SGC uid: one ILB frontend IP per gateway pool, the lowest free port in
 * 6000-6999 per pool, a prefix (managed, BYO or none) and one secondary IP per (config, node). Nodes
 * belong to a pool when their agent-pool name equals the nodepool name or the VMSS name. Counts the
 * calls that changed the inventory, so tests can assert "no extra writes".
 */
public final class InMemoryAzureProvisioner implements AzureProvisioner {
  private final Map<String, Allocation> byUid = new LinkedHashMap<>();
  private final Map<String, String> poolOfUid = new HashMap<>();
  private final Map<String, java.util.List<Request>> requests = new HashMap<>();
  private final Map<String, String> failures = new HashMap<>();
  private final Map<String, String> releaseFailures = new HashMap<>();
  private final Map<String, CompletableFuture<Void>> holds = new HashMap<>();
  private int mutations;
  private final Map<String, Integer> releaseAttempts = new HashMap<>();
  private int nextSecondary = 10;
  private int nextPrefix = 1;

  @Override
  public synchronized CompletionStage<Allocation> ensure(Request r) {
    requests.computeIfAbsent(r.uid(), k -> new java.util.ArrayList<>()).add(r);
    String failure = failures.get(r.key());
    if (failure != null) {
      return CompletableFuture.failedFuture(new IllegalStateException(failure));
    }
    CompletableFuture<Void> hold = holds.get(r.key());
    if (hold != null) {
      return hold.thenApply(v -> allocate(r));
    }
    return CompletableFuture.completedFuture(allocate(r));
  }

  private synchronized Allocation allocate(Request r) {
    String pool = r.spec().usesVmssProfile() ? r.spec().vmss().name() : r.spec().gatewayNodepoolName();
    Allocation old = byUid.get(r.uid());
    Map<String, Allocation.NodeIps> nodes = new TreeMap<>();
    for (GatewayNodeInfo n : r.gatewayNodes()) {
      if (n.pool().equals(pool)) {
        Allocation.NodeIps kept = old == null ? null : old.nodes().get(n.name());
        nodes.put(n.name(), kept != null ? kept
            : new Allocation.NodeIps(primaryIp(pool, n.name()), "10.2." + (nextSecondary / 250) + "." + (nextSecondary++ % 250 + 1)));
      }
    }
    int port = old != null ? old.port() : lowestFreePort(pool);
    String prefix = prefix(r.spec(), old, nodes);
    Allocation next = new Allocation(ilbIp(pool), port, prefix, nodes);
    if (!next.equals(old)) {
      byUid.put(r.uid(), next);
      poolOfUid.put(r.uid(), pool);
      mutations++;
    }
    return next;
  }

  @Override
  public synchronized CompletionStage<Void> release(String key, String uid) {
    releaseAttempts.merge(key, 1, Integer::sum);
    String failure = releaseFailures.get(key);
    if (failure != null) {
      return CompletableFuture.failedFuture(new IllegalStateException(failure));
    }
    if (byUid.remove(uid) != null) {
      poolOfUid.remove(uid);
      mutations++;
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Makes every {@code ensure} for {@code key} fail with {@code message} (null clears it). */
  public synchronized void failEnsure(String key, String message) {
    if (message == null) {
      failures.remove(key);
    } else {
      failures.put(key, message);
    }
  }

  /**
   * Holds every {@code ensure} for {@code key} unanswered (as a slow provisioning would) until called with
   * {@code false}, which answers the held ones.
   */
  public void holdEnsure(String key, boolean held) {
    CompletableFuture<Void> released;
    synchronized (this) {
      if (held) {
        holds.putIfAbsent(key, new CompletableFuture<>());
        return;
      }
      released = holds.remove(key);
    }
    if (released != null) {
      released.complete(null);
    }
  }

  /** Makes every {@code release} for {@code key} fail with {@code message} (null clears it). */
  public synchronized void failRelease(String key, String message) {
    if (message == null) {
      releaseFailures.remove(key);
    } else {
      releaseFailures.put(key, message);
    }
  }

  /** How many times {@code release} was called for {@code key}, failed ones included. */
  public synchronized int releaseAttempts(String key) {
    return releaseAttempts.getOrDefault(key, 0);
  }

  /** SGC uids that currently hold Azure resources. */
  public synchronized Set<String> provisionedUids() {
    return new HashSet<>(byUid.keySet());
  }

  /** Every {@code ensure} request for {@code uid}, oldest first. */
  public synchronized java.util.List<Request> requests(String uid) {
    return java.util.List.copyOf(requests.getOrDefault(uid, java.util.List.of()));
  }

  public synchronized Allocation allocation(String uid) {
    return byUid.get(uid);
  }

  /** How many calls changed the inventory. */
  public synchronized int mutations() {
    return mutations;
  }

  private String prefix(SgcSpec spec, Allocation old, Map<String, Allocation.NodeIps> nodes) {
    if (!spec.provisionPublicIps()) {
      return nodes.values().stream().map(Allocation.NodeIps::secondaryIp).collect(Collectors.joining(","));
    }
    if (!spec.publicIpPrefixId().isEmpty()) {
      return "52.0." + Math.abs(spec.publicIpPrefixId().hashCode() % 250) + ".0/" + prefixLength(spec);
    }
    if (old != null && old.egressPrefix().contains("/")) {
      return old.egressPrefix();
    }
    return "20.0." + (nextPrefix++) + ".0/" + prefixLength(spec);
  }

  private static int prefixLength(SgcSpec spec) {
    return spec.usesVmssProfile() ? spec.vmss().prefixSize() : 31;
  }

  private int lowestFreePort(String pool) {
    Set<Integer> used = byUid.entrySet().stream()
        .filter(e -> pool.equals(poolOfUid.get(e.getKey())))
        .map(e -> e.getValue().port())
        .collect(Collectors.toSet());
    for (int p = 6000; p < 7000; p++) {
      if (!used.contains(p)) {
        return p;
      }
    }
    throw new IllegalStateException("no free port in pool " + pool);
  }

  private static String ilbIp(String pool) {
    return "10.0.0." + (Math.abs(pool.hashCode() % 200) + 4);
  }

  private static String primaryIp(String pool, String node) {
    return "10.1." + Math.abs(pool.hashCode() % 250) + "." + (Math.abs(node.hashCode() % 250) + 1);
  }
}
