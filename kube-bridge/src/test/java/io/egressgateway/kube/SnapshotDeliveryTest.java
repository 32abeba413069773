package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.health.Watches;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.testing.Eventually;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A snapshot the entity does not confirm (its recovery failed while the journal was down) is sent again within
 * seconds, not at the next resync: the bridge against fabric8's mock API server with a sink that refuses the first
 * snapshot, as an entity's ask times out.
 */
@EnableKubernetesMockClient(crud = true)
class SnapshotDeliveryTest {
  static KubernetesClient client;

  @Test
  void anUnconfirmedSnapshotIsSentAgainAndOnlyUntilConfirmed() {
    MockController.crds(client, "staticgatewayconfigurations");
    MockController.namespaces(client, MockController.RELEASE_NS, MockController.KEYS_NS, "apps");
    MockController.gatewayNode(client, "gw-1", "gwpool");
    MockController.createSgc(client, "apps", "made-during-outage", s -> s.setGatewayNodepoolName("gwpool"));

    // resync far away: only redelivery can bring the snapshot a second time
    KubeBridgeSettings settings = KubeBridgeSettings.fromConfig(ConfigFactory.parseString("egress.kube-bridge.resync = 1h")
        .withFallback(ConfigFactory.load())).withNamespace(MockController.RELEASE_NS);
    List<ObservedSgc> delivered = new CopyOnWriteArrayList<>();
    AtomicInteger undelivered = new AtomicInteger();
    long start = System.nanoTime();
    try (ControllerBridge bridge = ControllerBridge.startWith(client, settings,
        Watches.standalone(Metrics.standalone(), Clock.systemUTC()),
        o -> {
          delivered.add(o);
          return delivered.size() == 1
              ? CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("no confirmation (test)"))
              : CompletableFuture.completedFuture(null);
        },
        undelivered::incrementAndGet)) {
      Eventually.await(Duration.ofSeconds(20), () -> delivered.size() >= 2, "a second delivery");
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertTrue(took.compareTo(Duration.ofSeconds(15)) < 0, "sent again after " + took);
      assertEquals("apps/made-during-outage", delivered.get(0).key());
      assertEquals(delivered.get(0).key(), delivered.get(1).key());
      assertTrue(delivered.get(1).present(), "the second snapshot is the SGC as it is");
      assertEquals(1, undelivered.get());
      // confirmed: not sent again
      Eventually.holds(Duration.ofSeconds(6), () -> delivered.size() == 2, "no delivery after the confirmation");
    }
  }
}
