package io.egressgateway.pod.infra;

import io.egressgateway.pod.model.PodInfo;
import java.util.List;
import java.util.Optional;

/**
 * The pods of this node, read locally (a node-scoped informer cache on cluster members). A lookup never
 * calls the Kubernetes API, so an unannotated pod costs exactly one map read on the CNI path.
 */
public interface PodDirectory {
  Optional<PodInfo> find(String namespace, String name);

  /** Every pod of this node the directory knows (what a starting agent looks through for its tunnels). */
  List<PodInfo> all();

  /** The directory holds this node's pods (its cache has synced); until then every lookup finds nothing. */
  default boolean ready() {
    return true;
  }

  /**
   * Registers {@code listener}, run (quickly, on a foreign thread) after any pod of this node was added, changed or
   * removed: a pod's labels decide which policies select it.
   */
  default void onChange(Runnable listener) {}
}
