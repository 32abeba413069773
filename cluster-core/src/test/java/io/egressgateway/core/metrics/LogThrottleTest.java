package io.egressgateway.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class LogThrottleTest {
  static final long S = 1_000_000_000L;

  @Test
  void theFirstOfEachRoleAndKindIsLoggedThenOnePerPeriodWithWhatWentUnlogged() {
    LogThrottle log = new LogThrottle(Duration.ofSeconds(10));
    assertEquals(OptionalLong.of(0), log.admit("worker peer-command", 0));
    for (int i = 1; i <= 500; i++) {
      assertEquals(OptionalLong.empty(), log.admit("worker peer-command", i * S / 100), "a flood within the period");
    }
    assertEquals(OptionalLong.of(0), log.admit("worker view-write", 3 * S), "another kind has a line of its own");
    assertEquals(OptionalLong.of(0), log.admit("gateway peer-command", 3 * S), "so has another role");
    assertEquals(OptionalLong.of(500), log.admit("worker peer-command", 10 * S), "the next line says how many it left out");
    assertEquals(OptionalLong.empty(), log.admit("worker peer-command", 15 * S));
    assertEquals(OptionalLong.of(1), log.admit("worker peer-command", 40 * S));
    assertEquals(OptionalLong.of(0), log.admit("worker peer-command", 60 * S), "after a quiet period, nothing left out");
  }
}
