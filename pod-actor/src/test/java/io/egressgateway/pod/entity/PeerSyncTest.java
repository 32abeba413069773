package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.model.PodInfo;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The lists of this node's live tunnels that the gateways heal themselves from: what a gateway missed (an
 * addition, a removal) is repaired by the next list; a gateway joining a pool or coming up gets one at once;
 * nothing goes out before the agent has taken its tunnels back, or when a tunnel does not answer.
 */
class PeerSyncTest {
  static final String UID = "uid-default-gw";
  private ActorTestKit testKit;
  private final InMemoryPodDatapath datapath = new InMemoryPodDatapath();
  private final InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
  private final InMemoryPodDirectory directory = new InMemoryPodDirectory();
  private final ConfigView view = Fixtures.view("default/gw", true);
  private final Map<String, ActorRef<PodTunnel.Command>> entities = new ConcurrentHashMap<>();
  private PodTunnels tunnels;
  private CniHandler handler;

  @BeforeEach
  void start() {
    testKit = ActorTestKit.create(ConfigFactory.parseString("akka.remote.artery.canonical.port = 0")
        .withFallback(EventSourcedBehaviorTestKit.config()));
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> Map.of(view.key(), view), Duration.ofMillis(500),
        Duration.ofMillis(200), new io.egressgateway.pod.infra.PodKeys(), Fixtures.EXCEPTIONS);
    tunnels = PodTunnels.resolvedBy(testKit.system(), id -> entities.computeIfAbsent(id, i -> testKit.spawn(PodTunnel.create(i, deps))));
    handler = new CniHandler("w1", directory, tunnels, datapath, Duration.ofMillis(800), ForkJoinPool.commonPool());
  }

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  ActorRef<PeerSync.Command> sync(Duration interval) {
    ActorRef<PeerSync.Command> sync = testKit.spawn(PeerSync.create(gateways, handler::liveTunnels, interval, false));
    sync.tell(new PeerSync.ViewsChanged(Map.of(view.key(), view)));
    return sync;
  }

  /** An annotated pod on this node with its tunnel; returns its public key. */
  String addPod(String name, String ip) throws Exception {
    directory.put(new PodInfo("default", name, "uid-" + name, Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/" + name);
    PodTunnel.Pod pod = new PodTunnel.Pod("c0ffee" + name, "/var/run/netns/" + name, ip, "169.254.1.1", "default/gw", List.of());
    StatusReply<PodTunnel.Added> r = tunnels.<StatusReply<PodTunnel.Added>>ask("w1/uid-" + name, ref -> new PodTunnel.Add(pod, ref),
        Duration.ofSeconds(5)).toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    return r.getValue().publicKey();
  }

  void deletePod(String name) throws Exception {
    StatusReply<Done> r = tunnels.<StatusReply<Done>>ask("w1/uid-" + name, ref -> new PodTunnel.Remove("", ref), Duration.ofSeconds(5))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertTrue(r.isSuccess());
    directory.remove("default", name);
  }

  void await(Runnable check) {
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      check.run();
      return null;
    });
  }

  double rounds(String result) {
    return Metrics.get(testKit.system()).counter("egress_pod_peer_lists_total", "", "result").value(result);
  }

  @Test
  void aRemovalAGatewayMissedWhileDownIsRepairedByTheNextList() throws Exception {
    String a = addPod("a", "10.244.1.5");
    String b = addPod("b", "10.244.1.6");
    sync(Duration.ofMillis(300)).tell(new PeerSync.Start());
    gateways.silent("gw2", true); // restarting
    deletePod("a");
    assertEquals(Map.of(b, "10.244.1.6"), gateways.peersOf("gw1", UID));
    assertEquals(Map.of(a, "10.244.1.5", b, "10.244.1.6"), gateways.peersOf("gw2", UID), "missed while down");
    gateways.silent("gw2", false);
    await(() -> assertEquals(Map.of(b, "10.244.1.6"), gateways.peersOf("gw2", UID)));
  }

  @Test
  void anAdditionAGatewayMissedIsRepairedByTheNextList() throws Exception {
    sync(Duration.ofMillis(300)).tell(new PeerSync.Start());
    gateways.failing("gw2", true);
    String a = addPod("a", "10.244.1.5"); // gw1 confirms: enough for the ADD
    assertEquals(Map.of(), gateways.peersOf("gw2", UID));
    gateways.failing("gw2", false);
    await(() -> assertEquals(Map.of(a, "10.244.1.5"), gateways.peersOf("gw2", UID)));
  }

  @Test
  void aGatewayJoiningThePoolOrComingUpGetsTheListAtOnceAndNothingGoesOutBeforeStart() throws Exception {
    String a = addPod("a", "10.244.1.5");
    ActorRef<PeerSync.Command> sync = sync(Duration.ofHours(1));
    sync.tell(new PeerSync.GatewayUp("gw1")); // not yet: the agent has not taken its tunnels back
    sync.tell(new PeerSync.Start());
    await(() -> assertEquals(1, gateways.listsTaken("gw2", UID)));

    // gw3 joins with its addresses, gw4 still waits for its secondary IP from Azure
    Map<String, ConfigView.GatewayAddresses> pool = new HashMap<>(view.gateways());
    pool.put("gw3", new ConfigView.GatewayAddresses("10.224.0.7", "10.224.0.17"));
    pool.put("gw4", new ConfigView.GatewayAddresses("10.224.0.8", ""));
    sync.tell(new PeerSync.ViewsChanged(Map.of(view.key(), Fixtures.withGateways(view, pool))));
    await(() -> assertEquals(Map.of(a, "10.244.1.5"), gateways.peersOf("gw3", UID)));
    assertEquals(0, gateways.listsTaken("gw4", UID), "not before it can serve the configuration");
    pool.put("gw4", new ConfigView.GatewayAddresses("10.224.0.8", "10.224.0.18"));
    sync.tell(new PeerSync.ViewsChanged(Map.of(view.key(), Fixtures.withGateways(view, pool))));
    await(() -> assertEquals(Map.of(a, "10.244.1.5"), gateways.peersOf("gw4", UID)));

    sync.tell(new PeerSync.GatewayUp("gw2"));
    await(() -> assertEquals(2, gateways.listsTaken("gw2", UID)));
    assertEquals(1, gateways.listsTaken("gw1", UID), "the list at start only: nothing went out before it");
    assertEquals(1, gateways.listsTaken("gw3", UID), "each trigger reaches its gateways only");
  }

  @Test
  void noListGoesOutWhenATunnelDoesNotAnswer() throws Exception {
    addPod("a", "10.244.1.5");
    directory.put(new PodInfo("default", "mute", "uid-mute", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    entities.put("w1/uid-mute", testKit.<PodTunnel.Command>createTestProbe().ref()); // never answers
    sync(Duration.ofHours(1)).tell(new PeerSync.Start());
    await(() -> assertEquals(1, rounds("failed")));
    assertEquals(0, gateways.listsTaken("gw1", UID), "a partial list would drop live pods' peers");
    assertEquals(0, rounds("ok"));
  }
}
