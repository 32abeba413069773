package io.egressgateway.gateway.entity;

import io.egressgateway.core.view.ConfigView;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A config source fed directly by tests (the replicated view's stand-in). */
public final class TestConfigSource implements ConfigSource {
  private final List<Consumer<Map<String, ConfigView>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, ConfigView> current = Map.of();

  public void set(Map<String, ConfigView> views) {
    synchronized (listeners) { // as the replicated view: a subscriber is never told an older view after a newer one
      current = Map.copyOf(views);
      listeners.forEach(l -> l.accept(current));
    }
  }

  public void put(ConfigView v) {
    java.util.HashMap<String, ConfigView> m = new java.util.HashMap<>(current);
    m.put(v.key(), v);
    set(m);
  }

  public void remove(String key) {
    java.util.HashMap<String, ConfigView> m = new java.util.HashMap<>(current);
    m.remove(key);
    set(m);
  }

  @Override
  public void subscribe(Consumer<Map<String, ConfigView>> listener) {
    synchronized (listeners) {
      listeners.add(listener);
      listener.accept(current);
    }
  }

  @Override
  public void unsubscribe(Consumer<Map<String, ConfigView>> listener) {
    listeners.remove(listener);
  }
}
