package io.egressgateway.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MetricsTest {

  @Test
  void scrapeRendersPrometheusTextFormat() {
    Metrics m = Metrics.standalone();
    m.counter("egress_arm_calls_total", "ARM calls", "method", "resource").inc("GET", "loadBalancers");
    m.counter("egress_arm_calls_total", "ARM calls", "method", "resource").add(2, "GET", "loadBalancers");
    m.gauge("egress_peers", "peers per config", "config").set(7, "ns/a");
    Metrics.Histogram h = m.histogram("egress_cni_add_seconds", "CNI ADD latency", new double[] {0.05, 0.1, 0.5});
    h.observe(0.07);
    h.observe(0.3);

    String text = m.scrape();
    assertTrue(text.contains("# TYPE egress_arm_calls_total counter\n"), text);
    assertTrue(text.contains("egress_arm_calls_total{method=\"GET\",resource=\"loadBalancers\"} 3.0\n"), text);
    assertTrue(text.contains("egress_peers{config=\"ns/a\"} 7.0\n"), text);
    assertTrue(text.contains("egress_cni_add_seconds_bucket{le=\"0.05\"} 0\n"), text);
    assertTrue(text.contains("egress_cni_add_seconds_bucket{le=\"0.1\"} 1\n"), text);
    assertTrue(text.contains("egress_cni_add_seconds_bucket{le=\"+Inf\"} 2\n"), text);
    assertTrue(text.contains("egress_cni_add_seconds_count 2\n"), text);
    assertTrue(text.contains("egress_cni_add_seconds_sum 0.37\n"), text);
    assertEquals(2, h.count());
    assertEquals(3, m.counter("egress_arm_calls_total", "ARM calls", "method", "resource").value("GET", "loadBalancers"));
  }

  @Test
  void readingAValueNeverCountedCreatesNoSeries() {
    Metrics m = Metrics.standalone();
    Metrics.Counter c = m.counter("egress_y_total", "y", "result");
    assertEquals(0, c.value("ok"));
    assertFalse(m.scrape().contains("egress_y_total{"), m.scrape());
  }

  @Test
  void aNameKeepsItsKind() {
    Metrics m = Metrics.standalone();
    m.counter("egress_z_total", "z");
    assertThrows(IllegalArgumentException.class, () -> m.gauge("egress_z_total", "z"));
  }

  @Test
  void wrongLabelArityAndNegativeIncrementsAreRejected() {
    Metrics m = Metrics.standalone();
    Metrics.Counter c = m.counter("egress_x_total", "x", "a");
    assertThrows(IllegalArgumentException.class, () -> c.inc());
    assertThrows(IllegalArgumentException.class, () -> c.add(-1, "v"));
    assertThrows(IllegalArgumentException.class, () -> m.counter("bad name", "x"));
  }
}
