package io.egressgateway.app.wiring;

import io.egressgateway.pod.infra.PodDirectory;

/** Builds the worker's pod directory adapter. */
public final class NodePodsFactory {
  public PodDirectory of(io.egressgateway.kube.infra.PodDirectory cache) {
    return new NodePods(cache);
  }
}
