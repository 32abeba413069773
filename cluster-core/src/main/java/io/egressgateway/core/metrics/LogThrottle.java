package io.egressgateway.core.security;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Which refusals get a log line: the first of each sender role and kind, then at most one per {@code every}, which
 * says how many of that role and kind went unlogged since the last line. A rogue member can send thousands of
 * refused messages a second; each is still counted ({@code egress_refused_messages_total}), but the log keeps its
 * other lines. Thread-safe: refusals are recorded from the serializer's and the actors' threads.
 */
final class RefusalLog {
  private final long everyNanos;
  private final Map<String, long[]> byKey = new HashMap<>(); // key -> {last logged at (nanos), unlogged since}

  RefusalLog(Duration every) {
    this.everyNanos = every.toNanos();
  }

  /**
   * Whether a refusal of {@code key} (role and kind) at {@code nowNanos} gets a line: if so, how many of that key
   * went unlogged before it; empty when it is one of them.
   */
  synchronized OptionalLong admit(String key, long nowNanos) {
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
