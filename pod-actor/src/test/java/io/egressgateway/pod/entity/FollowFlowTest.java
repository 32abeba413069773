package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.PodKeys;
import io.egressgateway.pod.infra.TunnelGenerations;
import io.egressgateway.pod.model.Route;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A running tunnel follows each kind of configuration change without a restart, and reports what it runs. */
class FollowFlowTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("akka.actor.testkit.typed.default-timeout = 5s\nakka.remote.artery.canonical.port = 0")
          .withFallback(EventSourcedBehaviorTestKit.config()));
  private static final String NS = "/var/run/netns/pod1";
  private static final String KEY = "default/gw";

  private final InMemoryPodDatapath datapath = new InMemoryPodDatapath();
  private final InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
  private final Map<String, Long> reported = new ConcurrentHashMap<>();
  private volatile Map<String, ConfigView> views = Fixtures.views(Fixtures.view(KEY, true), Fixtures.view("default/other", true));
  private EventSourcedBehaviorTestKit<PodTunnel.Command, PodTunnel.Event, PodTunnel.State> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    datapath.addNamespace(NS);
    TunnelGenerations generations = new TunnelGenerations() {
      @Override
      public void applied(String tunnelId, String configKey, String configUid, long generation) {
        reported.put(tunnelId + " " + configKey + " " + configUid, generation);
      }

      @Override
      public void gone(String tunnelId) {
        reported.keySet().removeIf(k -> k.startsWith(tunnelId + " "));
      }
    };
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> views, Duration.ofMillis(500), Duration.ofMillis(200),
        new PodKeys(), Fixtures.EXCEPTIONS, generations);
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), PodTunnel.create("w1/uid-1", deps));
    StatusReply<PodTunnel.Added> added = kit.<StatusReply<PodTunnel.Added>>runCommand(
        r -> new PodTunnel.Add(Fixtures.pod("c0ffee4200", NS), r)).reply();
    assertTrue(added.isSuccess(), () -> added.getError().getMessage());
  }

  private long reportedGeneration() {
    return reported.getOrDefault("w1/uid-1 " + KEY + " uid-default-gw", -1L);
  }

  private void publish(ConfigView v) {
    Map<String, ConfigView> next = new java.util.HashMap<>(views);
    next.put(v.key(), v);
    views = Map.copyOf(next);
  }

  private static ConfigView next(ConfigView v, String ilb, int port, String key, List<String> excludes, String mode) {
    return new ConfigView(v.key(), v.uid(), v.generation() + 1, ilb, port, key, v.keySecretName(), excludes, mode,
        v.egressPrefix(), v.gateways(), true);
  }

  private InMemoryPodDatapath.Pod pod() {
    return datapath.pod(NS).orElseThrow();
  }

  @Test
  void everyKindOfChangeReachesTheRunningPodWithoutAJournalEntry() {
    assertEquals(1L, reportedGeneration(), "the ADD reports the generation it was made with");
    ConfigView v1 = views.get(KEY);
    String newKey = WgKeys.generate().publicKey();
    ConfigView v2 = next(v1, "10.224.0.200", 6001, newKey, List.of("198.18.30.0/24"), ConfigView.DEFAULT_ROUTE_GATEWAY);
    publish(v2);
    var r = kit.runCommand(new PodTunnel.Follow(KEY));
    assertTrue(r.events().isEmpty(), "following journals nothing");
    eventually(() -> reportedGeneration() == 2L, "generation 2 reported");
    InMemoryPodDatapath.Device wg0 = pod().wg0().orElseThrow();
    assertEquals("10.224.0.200:6001", wg0.endpoint());
    assertEquals(newKey, wg0.gatewayPublicKey());
    assertTrue(pod().routes().contains(Route.main("198.18.30.0/24", "169.254.1.1", "eth0")), "new exclude via eth0");
    assertFalse(pod().routes().contains(Route.main("198.18.20.0/24", "169.254.1.1", "eth0")), "old exclude gone");
    assertTrue(pod().routes().contains(Route.main("10.224.0.200/32", "169.254.1.1", "eth0")), "new ILB kept off the tunnel");
    assertFalse(pod().routes().contains(Route.main("10.224.0.100/32", "169.254.1.1", "eth0")), "old ILB route gone");
    assertTrue(pod().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")));

    publish(next(v2, v2.ilbIp(), v2.port(), v2.gatewayPublicKey(), v2.excludeCidrs(), ConfigView.DEFAULT_ROUTE_AZURE));
    kit.runCommand(new PodTunnel.Follow(KEY));
    eventually(() -> reportedGeneration() == 3L, "generation 3 reported");
    assertTrue(pod().routes().contains(Route.main("0.0.0.0/0", "169.254.1.1", "eth0")), "azureNetworking: default via eth0");
    assertTrue(pod().routes().contains(Route.main("198.18.30.0/24", Route.TUNNEL_VIA, "wg0")), "excludes now mean the tunnel");
    assertInstanceOf(PodTunnel.Established.class, kit.getState(), "the tunnel was never taken down");
  }

  @Test
  void aGenerationThatLeavesThePodsPathAloneIsOnlyTakenNoteOf() {
    ConfigView v1 = views.get(KEY);
    publish(new ConfigView(v1.key(), v1.uid(), 2, v1.ilbIp(), v1.port(), v1.gatewayPublicKey(), v1.keySecretName(),
        v1.excludeCidrs(), v1.defaultRoute(), "198.51.100.0/31", Map.of("gw1", v1.gateways().get("gw1")), true));
    kit.runCommand(new PodTunnel.Follow(KEY));
    eventually(() -> reportedGeneration() == 2L, "generation 2 reported");
    assertEquals(0, datapath.follows(), "no datapath work for a new prefix or pool");

    kit.runCommand(new PodTunnel.Follow(KEY));
    kit.runCommand(new PodTunnel.Follow("default/other"));
    assertEquals(0, datapath.follows(), "a repeated or foreign Follow changes nothing");
  }

  @Test
  void aFailedFollowIsRetriedAndAViewThatMovedOnDuringTheAddIsFollowedAtOnce() {
    ConfigView v1 = views.get(KEY);
    datapath.failing(NS, true);
    publish(next(v1, v1.ilbIp(), v1.port(), v1.gatewayPublicKey(), List.of("198.18.40.0/24"), v1.defaultRoute()));
    kit.runCommand(new PodTunnel.Follow(KEY));
    assertEquals(1L, reportedGeneration(), "not reported before it is true");
    datapath.failing(NS, false);
    eventually(() -> reportedGeneration() == 2L, "the retry brought generation 2");
    assertTrue(pod().routes().contains(Route.main("198.18.40.0/24", "169.254.1.1", "eth0")));
  }

  @Test
  void aRemovedTunnelNoLongerCounts() {
    kit.<StatusReply<akka.Done>>runCommand(r -> new PodTunnel.Remove("c0ffee4200", r));
    eventually(() -> reported.isEmpty(), "the tunnel's report withdrawn");
  }

  /** Polls {@code condition} for up to 5 s. */
  private static void eventually(BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(Duration.ofSeconds(5), condition, what);
  }
}
