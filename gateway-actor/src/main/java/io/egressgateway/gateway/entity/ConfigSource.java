package io.egressgateway.gateway.entity;

import akka.actor.typed.ActorSystem;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Where a {@code GatewayNode} gets the gateway configurations from: the replicated {@link ConfigViews} in a
 * cluster, a plain in-memory source in tests. Listeners are called with the whole map now and after every
 * change, must be quick and must not block.
 */
public interface ConfigSource {
  void subscribe(Consumer<Map<String, ConfigView>> listener);

  void unsubscribe(Consumer<Map<String, ConfigView>> listener);

  /** The cluster's replicated view. */
  static ConfigSource replicated(ActorSystem<?> system) {
    ConfigViews views = ConfigViews.get(system);
    return new ConfigSource() {
      @Override
      public void subscribe(Consumer<Map<String, ConfigView>> listener) {
        views.subscribe(listener);
      }

      @Override
      public void unsubscribe(Consumer<Map<String, ConfigView>> listener) {
        views.unsubscribe(listener);
      }
    };
  }
}
