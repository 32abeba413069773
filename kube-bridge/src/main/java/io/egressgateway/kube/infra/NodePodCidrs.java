package io.egressgateway.kube.infra;

import io.egressgateway.core.health.Watches;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The pod CIDRs of every node ({@code spec.podCIDRs}, else {@code spec.podCIDR}), from a supervised Node
 * informer: what a gateway checks a worker's peer requests against (only addresses of its own node's pods).
 * Owns the informer; persists nothing; a node it does not know (yet) has no CIDRs.
 */
public final class NodePodCidrs implements AutoCloseable {
  public static final String RESOURCE = "nodes";

  private final SupervisedInformer<Node> informer;
  private final ScheduledExecutorService timer;

  private NodePodCidrs(KubernetesClient client, Watches watches) {
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kube-bridge-nodes");
      t.setDaemon(true);
      return t;
    });
    this.informer = new SupervisedInformer<>(RESOURCE, () -> client.nodes().runnableInformer(0), List.of(), watches,
        timer, ControllerBridge.RESTART_MIN, ControllerBridge.RESTART_MAX, () -> {}).start();
  }

  public static NodePodCidrs start(KubernetesClient client, Watches watches) {
    return new NodePodCidrs(client, watches);
  }

  /** Whether the informer has listed the nodes at least once (before, no node is known). */
  public boolean hasSynced() {
    return informer.hasSynced();
  }

  /** The pod CIDRs of {@code node}; empty when the node is unknown or has none. Never blocks. */
  public List<String> of(String node) {
    Node n = informer.store().getByKey(node);
    if (n == null || n.getSpec() == null) {
      return List.of();
    }
    List<String> cidrs = n.getSpec().getPodCIDRs();
    if (cidrs != null && !cidrs.isEmpty()) {
      return List.copyOf(cidrs);
    }
    String one = n.getSpec().getPodCIDR();
    return one == null || one.isBlank() ? List.of() : List.of(one);
  }

  @Override
  public void close() {
    informer.close();
    timer.shutdownNow();
  }
}
