package io.egressgateway.pod.infra;

import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.pod.model.TunnelCensus;
import io.egressgateway.pod.model.TunnelWatch;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A worker's tunnel series from the failover watchdog's passes ({@link TunnelCensus}): {@code
 * egress_pod_tunnels{config,node,state}} and {@code egress_pod_config_oldest_handshake_seconds{config,node}}.
 * Labels are fixed and bounded (configurations, this node, four states); a configuration without tunnels on
 * this node loses its series. Called on the watchdog's thread only.
 */
public final class TunnelMetrics implements Consumer<TunnelCensus> {
  private final String node;
  private final Metrics.Gauge tunnels;
  private final Metrics.Gauge oldest;
  private Set<String> shown = Set.of();

  public TunnelMetrics(Metrics m, String node) {
    this.node = node;
    this.tunnels = m.gauge("egress_pod_tunnels",
        "pod tunnels on this worker node by configuration and state (idle, handshaking, established, recovering)",
        "config", "node", "state");
    this.oldest = m.gauge("egress_pod_config_oldest_handshake_seconds",
        "age of the oldest WireGuard handshake among the configuration's established pod tunnels on this node",
        "config", "node");
  }

  @Override
  public void accept(TunnelCensus c) {
    Set<String> now = new HashSet<>(c.tunnels().keySet());
    for (Map.Entry<String, Map<TunnelWatch.State, Integer>> e : c.tunnels().entrySet()) {
      e.getValue().forEach((state, n) -> tunnels.set(n, e.getKey(), node, state.label()));
      Long age = c.oldestHandshakeSeconds().get(e.getKey());
      if (age == null) {
        oldest.remove(e.getKey(), node);
      } else {
        oldest.set(age, e.getKey(), node);
      }
    }
    for (String gone : shown) {
      if (!now.contains(gone)) {
        for (TunnelWatch.State s : TunnelWatch.State.values()) {
          tunnels.remove(gone, node, s.label());
        }
        oldest.remove(gone, node);
      }
    }
    shown = Set.copyOf(now);
  }
}
