package io.egressgateway.app.wiring;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.gateway.entity.GatewayNode;
import io.egressgateway.kube.crd.GatewayStatusSpec;
import io.egressgateway.kube.infra.GatewayStatusWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Periodically asks this gateway node's {@code GatewayNode} entity for its status and reports it: the
 * node's {@code GatewayStatus} object (configurations that are serving here; written in the background,
 * replacing the whole object, so it stays bounded) and the per-configuration peer gauge and error flag.
 * Metric labels are configuration keys: bounded by the number of SGCs, never per pod.
 */
public final class GatewayReporter {
  private static final Logger log = LoggerFactory.getLogger(GatewayReporter.class);

  private final ActorSystem<?> system;
  private final String node;
  private final GatewayStatusWriter writer;
  private final Metrics.Gauge peers;
  private final Metrics.Gauge serving;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  public GatewayReporter(ActorSystem<?> system, String node, GatewayStatusWriter writer) {
    this.system = system;
    this.node = node;
    this.writer = writer;
    Metrics m = Metrics.get(system);
    this.peers = m.gauge("egress_gateway_peers", "pod peers programmed per gateway configuration on this node", "config");
    this.serving = m.gauge("egress_gateway_serving", "1 while the configuration's datapath serves on this node", "config");
  }

  public GatewayReporter start(Duration interval) {
    system.scheduler().scheduleWithFixedDelay(interval, interval, this::report, system.executionContext());
    return this;
  }

  private void report() {
    ClusterSharding.get(system).entityRefFor(GatewayNode.ENTITY_KEY, node)
        .<GatewayNode.Status>ask(GatewayNode.GetStatus::new, Duration.ofSeconds(5))
        .whenComplete((status, err) -> {
          if (err != null) {
            log.debug("gateway {}: no status this round: {}", node, err.toString());
            return;
          }
          publish(status);
        });
  }

  void publish(GatewayNode.Status status) {
    Map<String, String> keyByUid = new HashMap<>();
    for (ConfigView v : ConfigViews.get(system).current().values()) {
      keyByUid.put(v.uid(), v.key());
    }
    List<GatewayStatusSpec.GatewayConfiguration> ready = new ArrayList<>();
    Set<String> now = ConcurrentHashMap.newKeySet();
    status.configs().forEach((uid, c) -> {
      String key = keyByUid.getOrDefault(uid, uid);
      now.add(key);
      peers.set(c.peers(), key);
      serving.set(c.serving() ? 1 : 0, key);
      if (c.serving()) {
        ready.add(new GatewayStatusSpec.GatewayConfiguration(key, "wg0"));
      }
    });
    for (String gone : reported) {
      if (!now.contains(gone)) {
        peers.remove(gone);
        serving.remove(gone);
      }
    }
    reported.retainAll(now);
    reported.addAll(now);
    writer.report(node, ready, List.of());
  }
}
