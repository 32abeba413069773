package io.egressgateway.pod.infra;

import io.egressgateway.pod.model.PodInfo;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link PodDirectory} kept in memory and fed by tests (this module's and, through its test jar, app's). A
 * member uses kube-bridge's node-scoped pod informer ({@code NodePods} in app).
 */
public final class InMemoryPodDirectory implements PodDirectory {
  private final Map<String, PodInfo> pods = new ConcurrentHashMap<>();
  private final AtomicLong lookups = new AtomicLong();

  private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  public void put(PodInfo pod) {
    pods.put(pod.namespace() + "/" + pod.name(), pod);
    listeners.forEach(Runnable::run);
  }

  public void remove(String namespace, String name) {
    pods.remove(namespace + "/" + name);
    listeners.forEach(Runnable::run);
  }

  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  @Override
  public Optional<PodInfo> find(String namespace, String name) {
    lookups.incrementAndGet();
    return Optional.ofNullable(pods.get(namespace + "/" + name));
  }

  @Override
  public List<PodInfo> all() {
    return List.copyOf(pods.values());
  }

  /** How many lookups were made (lets tests state the cost of an unannotated pod). */
  public long lookups() {
    return lookups.get();
  }
}
