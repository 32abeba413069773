package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14's hole: a member that can write the replicated view puts a newline into a configuration's
 * {@code excludeCidrs} (or its ILB address), which workers joined into {@code ip -batch} text. Each such ADD
 * is now a CNI error naming the bad value: nothing persisted, no device, no peer on any gateway.
 */
class HostileViewTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("akka.actor.testkit.typed.default-timeout = 5s\nakka.remote.artery.canonical.port = 0")
          .withFallback(EventSourcedBehaviorTestKit.config()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static ConfigView withExcludes(ConfigView v, List<String> excludes, String ilbIp) {
    return new ConfigView(v.key(), v.uid(), v.generation(), ilbIp, v.port(), v.gatewayPublicKey(), v.keySecretName(),
        excludes, v.defaultRoute(), v.egressPrefix(), v.gateways(), v.ready());
  }

  @Test
  void aViewWithHostileValuesGetsNoTunnel() {
    ConfigView good = Fixtures.view("default/gw", true);
    List<ConfigView> hostile = List.of(
        withExcludes(good, List.of("198.18.20.0/24\nnetns exec egwt-x touch /tmp/pwned"), good.ilbIp()),
        withExcludes(good, List.of("198.18.20.0/24 dev lo"), good.ilbIp()),
        withExcludes(good, List.of("198.18.20.0/24;id"), good.ilbIp()),
        withExcludes(good, List.of("198.18.20.1/24"), good.ilbIp()),
        withExcludes(good, List.of("198.18.20.0/24"), "10.224.0.100\nnetns exec egwt-x id"));
    int i = 0;
    for (ConfigView v : hostile) {
      InMemoryPodDatapath datapath = new InMemoryPodDatapath();
      InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
      datapath.addNamespace("/var/run/netns/pod1");
      Map<String, ConfigView> views = Fixtures.views(v);
      PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> views, Duration.ofMillis(500), Duration.ofMillis(200),
          new io.egressgateway.pod.infra.PodKeys(), Fixtures.EXCEPTIONS);
      var kit = EventSourcedBehaviorTestKit.<PodTunnel.Command, PodTunnel.Event, PodTunnel.State>create(testKit.system(),
          PodTunnel.create("w1/uid-h" + i++, deps));
      var r = kit.<akka.pattern.StatusReply<PodTunnel.Added>>runCommand(
          reply -> new PodTunnel.Add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"), reply));
      assertTrue(r.reply().isError(), "refused: " + v.excludeCidrs() + " " + v.ilbIp());
      assertFalse(r.reply().getError().getMessage().contains("\n"), r.reply().getError().getMessage());
      assertTrue(r.events().isEmpty(), "nothing persisted");
      assertInstanceOf(PodTunnel.Absent.class, r.state());
      assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty(), "no device");
      assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().routes().isEmpty(), "no routes");
      assertTrue(gateways.peersOf("gw1", v.uid()).isEmpty() && gateways.peersOf("gw2", v.uid()).isEmpty(), "no peer");
    }
  }
}
