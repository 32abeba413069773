package io.egressgateway.app.wiring;

import io.egressgateway.pod.infra.PodDirectory;
import io.egressgateway.pod.model.PodInfo;
import java.util.List;
import java.util.Optional;

/** The worker's pod directory: kube-bridge's node-scoped informer cache seen through pod-actor's port. */
public final class NodePods implements PodDirectory {
  private final io.egressgateway.kube.infra.PodDirectory cache;

  public NodePods(io.egressgateway.kube.infra.PodDirectory cache) {
    this.cache = cache;
  }

  @Override
  public Optional<PodInfo> find(String namespace, String name) {
    return cache.lookup(namespace, name).map(NodePods::info);
  }

  @Override
  public List<PodInfo> all() {
    return cache.all().stream().map(NodePods::info).toList();
  }

  @Override
  public void onChange(Runnable listener) {
    cache.onChange(listener);
  }

  @Override
  public boolean ready() {
    return cache.whenSynced().toCompletableFuture().isDone();
  }

  private static PodInfo info(io.egressgateway.kube.infra.PodDirectory.PodInfo p) {
    return new PodInfo(p.namespace(), p.name(), p.uid(), p.annotations(), p.labels());
  }
}
