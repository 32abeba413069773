package io.egressgateway.gateway.entity;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.gateway.model.ConfigDatapath;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The configs a {@code GatewayNode} is to serve, as its copy of the replicated view says (an observation,
 * never journaled): the views, subscribed to from recovery until the entity stops, and what they ask of this
 * node's datapath. Owned by the entity; not thread-safe (the listener only sends the entity a message).
 */
final class ServedConfigs {
  private static final Logger log = LoggerFactory.getLogger(ServedConfigs.class);

  private final String node;
  private final ConfigSource source;
  private final Consumer<Map<String, ConfigView>> listener;
  private final Duration grace;
  private final long startedAt = System.nanoTime();
  private Map<String, ConfigView> views = Map.of();

  /** {@code listener} hands the entity every new map; {@code grace} is {@code view-grace}. */
  ServedConfigs(String node, ConfigSource source, Consumer<Map<String, ConfigView>> listener, Duration grace) {
    this.node = node;
    this.source = source;
    this.listener = listener;
    this.grace = grace;
  }

  void subscribe() {
    source.subscribe(listener);
  }

  void unsubscribe() {
    source.unsubscribe(listener);
  }

  /** The entity received a new map. */
  void update(Map<String, ConfigView> views) {
    this.views = views;
  }

  /** The datapath every complete config that lists this node asks for, with the journaled peers of each. */
  Map<String, ConfigDatapath> desired(GatewayNode.State state) {
    Map<String, ConfigDatapath> out = new HashMap<>();
    for (ConfigView v : views.values()) {
      v.gatewayOn(node).ifPresent(a -> {
        if (v.port() <= 0 || !a.complete()) {
          log.debug("[{}] config {} not yet complete for this node (port {}, addresses {})", node, v.key(), v.port(), a);
          return;
        }
        out.put(v.uid(), new ConfigDatapath(v.uid(), v.port(), a.primaryIp(), a.secondaryIp(), v.ilbIp(), v.gatewayPublicKey(),
            v.keySecretName(), state.peersOf(v.uid())));
      });
    }
    return out;
  }

  /**
   * Whether configs missing from the view may be collected: only once {@code view-grace} has passed since
   * the entity started, so that a view still replicating to a restarted member does not look like removals.
   */
  boolean collecting() {
    return Duration.ofNanos(System.nanoTime() - startedAt).compareTo(grace) >= 0;
  }
}
