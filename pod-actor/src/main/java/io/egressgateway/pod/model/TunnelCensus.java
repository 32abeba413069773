package io.egressgateway.pod.model;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * One pass of the failover watchdog over this node's pod tunnels, counted per configuration for the metrics
 * (never per pod): tunnels by {@link TunnelWatch.State}, and the age of the oldest latest handshake among the
 * established ones.
 *
 * @param tunnels config key ({@code namespace/name}) to tunnels by state; every state present, zeros included
 * @param oldestHandshakeSeconds config key to the oldest established handshake's age; absent when none is
 */
public record TunnelCensus(Map<String, Map<TunnelWatch.State, Integer>> tunnels, Map<String, Long> oldestHandshakeSeconds) {
  /** The config label of tunnels whose gateway endpoint no configuration of the view has (any more). */
  public static final String UNKNOWN = "unknown";

  public static final TunnelCensus EMPTY = new TunnelCensus(Map.of(), Map.of());

  public TunnelCensus {
    Map<String, Map<TunnelWatch.State, Integer>> copy = new HashMap<>();
    tunnels.forEach((k, v) -> copy.put(k, Map.copyOf(v)));
    tunnels = Map.copyOf(copy);
    oldestHandshakeSeconds = Map.copyOf(oldestHandshakeSeconds);
  }

  /** Collects one pass; not thread-safe. */
  public static final class Builder {
    private final Map<String, Map<TunnelWatch.State, Integer>> tunnels = new HashMap<>();
    private final Map<String, Long> oldest = new HashMap<>();

    /** One tunnel of {@code config} (null or empty: {@link #UNKNOWN}); {@code handshakeAge} counts when established. */
    public Builder add(String config, TunnelWatch.State state, long handshakeAge) {
      String key = config == null || config.isEmpty() ? UNKNOWN : config;
      Map<TunnelWatch.State, Integer> byState = tunnels.computeIfAbsent(key, k -> {
        Map<TunnelWatch.State, Integer> m = new EnumMap<>(TunnelWatch.State.class);
        for (TunnelWatch.State s : TunnelWatch.State.values()) {
          m.put(s, 0);
        }
        return m;
      });
      byState.merge(state, 1, Integer::sum);
      if (state == TunnelWatch.State.ESTABLISHED) {
        oldest.merge(key, Math.max(0, handshakeAge), Math::max);
      }
      return this;
    }

    public TunnelCensus build() {
      return new TunnelCensus(tunnels, oldest);
    }
  }
}
