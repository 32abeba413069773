package io.egressgateway.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.metrics.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** /ready is red while a needed watch is down; /alive fails once one has been down longer than the limit. */
class WatchesHealthTest {
  private final ManagementHttp http = new ManagementHttp();

  @Test
  void watchesDecideReadinessAndLiveness() {
    try (TestMembers members = new TestMembers()) {
      EgressMember m = members.start("watcher", List.of(Roles.WORKER), null,
          ConfigFactory.parseString("egress.health.watch-down-limit = 2s"));
      m.join();
      String url = m.managementUrl();
      http.awaitStatus(url + "ready", 200);

      Watches.Watch pods = Watches.get(m.system()).register("pods");
      http.awaitStatus(url + "ready", 500); // registered: down until it first reports up
      assertEquals(200, http.status(url + "alive"), "down for less than the limit: still alive");
      http.awaitStatus(url + "alive", 500); // down longer than 2 s: the runtime should restart this member

      pods.up();
      http.awaitStatus(url + "ready", 200);
      http.awaitStatus(url + "alive", 200);
      String metrics = http.body(url + "metrics");
      assertTrue(metrics.contains("egress_informer_up{resource=\"pods\"} 1"), metrics);
      assertTrue(metrics.contains("egress_informer_restarts_total{resource=\"pods\"} 0"), metrics);

      pods.down("watch closed");
      pods.restarted();
      http.awaitStatus(url + "ready", 500);
      metrics = http.body(url + "metrics");
      assertTrue(metrics.contains("egress_informer_up{resource=\"pods\"} 0"), metrics);
      assertTrue(metrics.contains("egress_informer_restarts_total{resource=\"pods\"} 1"), metrics);
    }
  }

  @Test
  void longestDownCountsFromTheLastChange() {
    MutableClock clock = new MutableClock();
    Watches watches = Watches.standalone(Metrics.standalone(), clock);
    assertTrue(watches.allUp(), "nothing registered: nothing to wait for");
    Watches.Watch a = watches.register("a");
    Watches.Watch b = watches.register("b");
    clock.advance(Duration.ofSeconds(10));
    assertEquals(Duration.ofSeconds(10), watches.longestDown().orElseThrow());
    a.up();
    b.up();
    assertTrue(watches.allUp());
    assertTrue(watches.longestDown().isEmpty());
    clock.advance(Duration.ofSeconds(5));
    b.down("closed");
    clock.advance(Duration.ofSeconds(3));
    b.down("still closed"); // a repeated report keeps the time it went down
    assertEquals(Duration.ofSeconds(3), watches.longestDown().orElseThrow());
    assertEquals("still closed", watches.down().get("b"));
    assertFalse(watches.allUp());
    watches.unregister(b);
    assertTrue(watches.allUp());
  }

  private static final class MutableClock extends Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }



}
