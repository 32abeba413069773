package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The sampler against the stateful fake datapath: what the metrics registry shows after its rounds. */
class DatapathSamplerTest {
  static final ActorTestKit KIT = ActorTestKit.create("datapath-sampler-test");
  static final AtomicInteger SEQ = new AtomicInteger();
  static final String UID = "22222222-bbbb";
  static final String PRIV = WgKeys.generate().privateKey();
  static final String K1 = WgKeys.generate().publicKey();
  static final String K2 = WgKeys.generate().publicKey();

  final String node = "gw-s" + SEQ.incrementAndGet();
  final FakeGatewayDatapath dp = new FakeGatewayDatapath();
  final TestConfigSource views = new TestConfigSource();
  final Metrics m = Metrics.get(KIT.system());

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  ActorRef<DatapathSampler.Msg> start() {
    GatewayNode.Deps deps = new GatewayNode.Deps(
        GatewayNodeTest.settings(Duration.ofMinutes(10)).withMetricsInterval(Duration.ofMillis(50)), dp,
        new InMemoryGatewayKeys(), views, hook -> {}, new HealthBoard());
    return KIT.spawn(DatapathSampler.create(node, deps, KIT.system().dispatchers().lookup(akka.actor.typed.DispatcherSelector.blocking())));
  }

  ConfigView view() {
    return new ConfigView("team-a/sgc", UID, 1, "10.224.0.100", 6000, FakeGatewayDatapath.publicKeyOf(PRIV), "s",
        List.of(), "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")), false);
  }

  void programWithTwoPeers() {
    dp.program(new ConfigDatapath(UID, 6000, "10.224.0.5", "10.224.0.15", "", "", "s",
        Map.of(K1, "10.244.1.10/32", K2, "10.244.1.11/32")), PRIV);
  }

  void await(Runnable assertion) {
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertion.run();
      return null;
    });
  }

  double gauge(String name, String... labels) {
    return m.gauge(name, "", labels.length == 3 ? new String[] {"config", "node", "ip"} : new String[] {"config", "node"})
        .value(labels);
  }

  double counter(String name) {
    return m.counter(name, "", "config", "node").value("team-a/sgc", node);
  }

  @Test
  void seriesFollowTheDeviceCountersPerConfigAndNode() {
    programWithTwoPeers();
    long now = Instant.now().getEpochSecond();
    dp.ns(UID).counters.put(K1, new long[] {now - 20, 100, 200});
    dp.ns(UID).conntrack = 42;
    dp.ns(UID).dropped = 3;
    views.put(view());
    start();

    await(() -> {
      assertEquals(2, gauge("egress_gateway_device_peers", "team-a/sgc", node));
      assertEquals(1, gauge("egress_gateway_device_peers_without_handshake", "team-a/sgc", node));
      assertEquals(42, gauge("egress_gateway_snat_ports_used", "team-a/sgc", node, "10.224.0.15"));
      assertEquals(64512, gauge("egress_gateway_snat_ports_available", "team-a/sgc", node, "10.224.0.15"));
    });
    assertEquals(0, counter("egress_gateway_received_bytes_total"), "the first round is a baseline");

    dp.ns(UID).counters.put(K1, new long[] {now, 1100, 1700});
    dp.ns(UID).counters.put(K2, new long[] {now, 40, 0});
    dp.ns(UID).dropped = 8;
    await(() -> {
      assertEquals(1040, counter("egress_gateway_received_bytes_total"));
      assertEquals(1500, counter("egress_gateway_sent_bytes_total"));
      assertEquals(5, counter("egress_gateway_dropped_packets_total"));
      assertEquals(0, gauge("egress_gateway_device_peers_without_handshake", "team-a/sgc", node));
    });
    Metrics.Histogram ages = m.histogram("egress_gateway_handshake_age_seconds", "", DatapathMetrics.AGE_BUCKETS, "config", "node");
    assertTrue(ages.count("team-a/sgc", node) >= 3, "one observation per handshaken peer and round");
    String text = m.scrape();
    assertTrue(text.contains("egress_gateway_device_peers{config=\"team-a/sgc\",node=\"" + node + "\"} 2"), text);
    assertTrue(!text.contains(K1) && !text.contains("10.244.1.10"), "no pod in any label");
    for (String series : List.of("egress_gateway_received_bytes_total", "egress_gateway_sent_bytes_total",
        "egress_gateway_dropped_packets_total", "egress_gateway_handshake_age_seconds_bucket")) {
      assertTrue(text.contains(series + "{config=\"team-a/sgc\""), series + " has a series:\n" + text);
    }

    views.remove("team-a/sgc");
    await(() -> assertTrue(Double.isNaN(gauge("egress_gateway_device_peers", "team-a/sgc", node)),
        "a config no longer on this node has no gauges"));
  }

  @Test
  void aRoundThatCannotReadIsCountedAndTheNextOneReads() {
    programWithTwoPeers();
    views.put(view());
    dp.failWith("wg: device busy");
    start();
    Metrics.Counter rounds = m.counter("egress_gateway_datapath_samples_total", "", "node", "result");
    await(() -> assertTrue(rounds.value(node, "error") >= 1));
    assertTrue(Double.isNaN(gauge("egress_gateway_device_peers", "team-a/sgc", node)));
    dp.failWith(null);
    await(() -> {
      assertTrue(rounds.value(node, "ok") >= 1);
      assertEquals(2, gauge("egress_gateway_device_peers", "team-a/sgc", node));
    });
  }

  @Test
  void aConfigThatCannotBeReadKeepsItsGaugesAndItsCountersCatchUp() {
    programWithTwoPeers();
    dp.ns(UID).counters.put(K1, new long[] {0, 100, 100});
    views.put(view());
    start();
    await(() -> assertEquals(2, gauge("egress_gateway_device_peers", "team-a/sgc", node)));
    Metrics.Counter rounds = m.counter("egress_gateway_datapath_samples_total", "", "node", "result");
    double errorsBefore = rounds.value(node, "error");
    dp.failWith("nft: busy");
    await(() -> assertTrue(rounds.value(node, "error") >= errorsBefore + 2));
    assertEquals(2, gauge("egress_gateway_device_peers", "team-a/sgc", node), "kept while unreadable");
    dp.ns(UID).counters.put(K1, new long[] {0, 700, 100});
    dp.failWith(null);
    await(() -> assertEquals(600, counter("egress_gateway_received_bytes_total")));
  }

  @Test
  void aConfigOfAnotherNodeIsNotSampled() {
    programWithTwoPeers();
    views.put(new ConfigView("team-a/sgc", UID, 1, "10.224.0.100", 6000, "", "s", List.of(), "staticEgressGateway", "",
        Map.of("other-node", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), false));
    start();
    Metrics.Counter rounds = m.counter("egress_gateway_datapath_samples_total", "", "node", "result");
    await(() -> assertTrue(rounds.value(node, "ok") >= 2));
    assertTrue(Double.isNaN(gauge("egress_gateway_device_peers", "team-a/sgc", node)));
  }
}
