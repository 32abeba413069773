package io.egressgateway.gateway.entity;

import akka.actor.typed.ActorSystem;
import io.egressgateway.core.metrics.Metrics;

/** What a {@code GatewayNode} counts for the management port's /metrics (no per-pod labels). */
final class GatewayNodeMetrics {
  private GatewayNodeMetrics() {}

  /** Reconcile passes (labels: entity type and outcome only). */
  static void countReconcile(ActorSystem<?> system, String result) {
    Metrics.get(system)
        .counter("egress_reconciles_total", "reconcile passes by entity type and outcome", "entity", "result")
        .inc(GatewayNode.ENTITY_KEY.name(), result);
  }

  /**
   * Peers put back or taken away because the kernel had drifted from the journal ({@code source=kernel}) or
   * the journal from the workers' live tunnels ({@code source=digest}).
   */
  static void countRepairs(ActorSystem<?> system, String uid, String source, int added, int removed) {
    Metrics.Counter c = Metrics.get(system).counter("egress_gateway_peers_repaired_total",
        "pod peers a gateway added or removed to repair drift, by config, kind (added, removed) and what had drifted"
            + " (kernel: the device from the journal; digest: the journal from the workers' live tunnels)",
        "config", "kind", "source");
    if (added > 0) {
      c.add(added, uid, "added", source);
    }
    if (removed > 0) {
      c.add(removed, uid, "removed", source);
    }
  }
}
