package io.egressgateway.core.metrics;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Which of a repeated event's occurrences get a log line: the first of each key, then at most one per
 * {@code every}, which says how many of that key went unlogged since the last line. For events that can come in
 * floods (refused messages from a rogue member, thousands a second; snapshots unconfirmed during a journal
 * outage, one per configuration): each is still counted by its metric, but the log keeps its other lines.
 * Thread-safe.
 */
public final class LogThrottle {
  private final long everyNanos;
  private final Map<String, long[]> byKey = new HashMap<>(); // key -> {last logged at (nanos), unlogged since}

  public LogThrottle(Duration every) {
    this.everyNanos = every.toNanos();
  }

  /**
   * Whether an occurrence of {@code key} at {@code nowNanos} gets a line: if so, how many of that key went
   * unlogged before it; empty when it is one of them.
   */
  public synchronized OptionalLong admit(String key, long nowNanos) {
    long[] state = byKey.get(key);
    if (state == null) {
      byKey.put(key, new long[] {nowNanos, 0});
      return OptionalLong.of(0);
    }
    if (nowNanos - state[0] >= everyNanos) {
      long unlogged = state[1];
      state[0] = nowNanos;
      state[1] = 0;
      return OptionalLong.of(unlogged);
    }
    state[1]++;
    return OptionalLong.empty();
  }
}
