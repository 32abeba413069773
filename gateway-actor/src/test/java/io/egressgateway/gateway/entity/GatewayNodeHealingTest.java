package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.infra.ProbeServer;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A gateway heals itself: its device follows its journal (the periodic resync), its journal follows the
 * workers' lists of their live tunnels ({@link GatewayNodeProtocol.PeersOfNode}), and after a restart its
 * probe answers 200 only once the journaled peers are back on the device.
 */
class GatewayNodeHealingTest {
  static final ActorTestKit KIT = ActorTestKit.create("gateway-node-healing-test", GatewayNodeTest.CONFIG);
  static final AtomicInteger SEQ = new AtomicInteger();
  static final String PRIV = WgKeys.generate().privateKey();
  static final String IP1 = "10.244.1.1/32";
  static final String IP2 = "10.244.1.2/32";
  static final String IP3 = "10.244.1.3/32";

  final String node = "gwh-" + SEQ.incrementAndGet();
  final String uid = "4444444" + SEQ.get() + "-dddd";
  final TestConfigSource views = new TestConfigSource();
  final HealthBoard board = new HealthBoard();
  final String k1 = WgKeys.generate().publicKey();
  final String k2 = WgKeys.generate().publicKey();
  final String k3 = WgKeys.generate().publicKey();
  FakeGatewayDatapath dp = new FakeGatewayDatapath();
  EventSourcedBehaviorTestKit<GatewayNodeProtocol.Command, GatewayNode.Event, GatewayNode.State> es;

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  static GatewaySettings settings(Duration resync, Duration digestExpiry) {
    return new GatewaySettings("wireguard-go", "", "eth0", "egw-", 2, 8, Duration.ofMillis(20), resync, Duration.ofMillis(100),
        Duration.ofMinutes(10), Duration.ofSeconds(30), digestExpiry, 3, Duration.ofSeconds(5), false, "127.0.0.1", 0,
        Duration.ZERO, Duration.ofMillis(1));
  }

  void start(GatewaySettings s) {
    GatewayNode.Deps deps = new GatewayNode.Deps(s, dp, new InMemoryGatewayKeys().put("sgw-h", PRIV), views, hook -> { }, board);
    es = EventSourcedBehaviorTestKit.create(KIT.system(), GatewayNode.create(node, deps));
  }

  ConfigView view() {
    return new ConfigView("default/heal-" + uid, uid, 1, "10.224.0.100", 6000, FakeGatewayDatapath.publicKeyOf(PRIV), "sgw-h",
        List.of(), "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")), true);
  }

  void serve() {
    views.put(view());
    await(() -> assertTrue(board.snapshot().serving().contains(uid)));
  }

  StatusReply<Done> add(String key, String ip, String worker, long seq) {
    return es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, key, ip, r, worker, seq)).reply();
  }

  void digest(String worker, long seq, Map<String, String> peers) {
    es.runCommand(new GatewayNodeProtocol.PeersOfNode(worker, uid, seq, peers));
  }

  double repaired(String kind, String source) {
    return Metrics.get(KIT.system()).counter("egress_gateway_peers_repaired_total", "", "config", "kind", "source")
        .value(uid, kind, source);
  }

  static void await(Runnable check) {
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      check.run();
      return null;
    });
  }

  /** A worker node adds and removes only its own peers. */
  @Test
  void aNodeCannotRemoveOrTakeOverAnotherNodesPeer() {
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    serve();
    assertTrue(add(k1, IP1, "w1", 1).isSuccess());
    var refused = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(uid, k1, r, "w2"));
    assertTrue(refused.reply().isError());
    assertEquals(List.of(), refused.events());
    assertEquals(Map.of(k1, IP1), es.getState().peersOf(uid));
    assertTrue(add(k1, "10.244.2.9/32", "w2", 2).isError(), "nor take it over");
    assertEquals(Map.of(k1, IP1), es.getState().peersOf(uid));
    var own = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(uid, k1, r, "w1"));
    assertTrue(own.reply().isSuccess());
    assertEquals(Map.of(), es.getState().peersOf(uid));
  }

  @Test
  void aPeerRemovedBehindItsBackAndOneAddedBehindItsBackAreRepairedWithinOnePeriod() {
    start(settings(Duration.ofMillis(300), Duration.ofHours(1)));
    serve();
    assertTrue(add(k1, IP1, "w1", 1).isSuccess());
    assertTrue(add(k2, IP2, "w1", 2).isSuccess());
    // someone runs `wg set <dev> peer <k1> remove` and adds a peer of their own
    dp.removePeer(uid, k1);
    dp.addPeer(uid, k3, IP3);
    await(() -> assertEquals(Map.of(k1, IP1, k2, IP2), dp.peers(uid)));
    assertEquals(1, repaired("added", "kernel"));
    assertEquals(1, repaired("removed", "kernel"));
    assertEquals(Map.of(k1, IP1, k2, IP2), es.getState().peersOf(uid), "the journal was right all along");
  }

  @Test
  void aWorkersListBringsBackAMissedAdditionAndTakesAwayAMissedRemoval() {
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    serve();
    assertTrue(add(k1, IP1, "w1", 5).isSuccess());
    assertTrue(add(k2, IP2, "w1", 6).isSuccess());
    // k1's pod was deleted and k3's created while this gateway did not hear of it
    var synced = es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 10, Map.of(k2, IP2, k3, IP3)));
    assertEquals(List.of(new GatewayNode.PeerRemoved(uid, k1), new GatewayNode.PeerAdded(uid, k3, IP3, "w1", 10)), synced.events());
    await(() -> assertEquals(Map.of(k2, IP2, k3, IP3), dp.peers(uid)));
    assertEquals(1, repaired("added", "digest"));
    assertEquals(1, repaired("removed", "digest"));

    var again = es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 10, Map.of(k2, IP2, k3, IP3)));
    assertEquals(List.of(), again.events(), "the same list twice changes nothing");
    var older = es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 8, Map.of(k1, IP1)));
    assertEquals(List.of(), older.events(), "an older list than the last is ignored");

    // a pod created after the list was taken is not removed by it, even when the list arrives later
    String fresh = WgKeys.generate().publicKey();
    assertTrue(add(fresh, "10.244.1.4/32", "w1", 12).isSuccess());
    var late = es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 11, Map.of(k2, IP2, k3, IP3)));
    assertEquals(List.of(), late.events());
    // and a request sent before that list, for a tunnel the list no longer has, is refused
    StatusReply<Done> gone = add(WgKeys.generate().publicKey(), "10.244.1.5/32", "w1", 9);
    assertTrue(gone.isError() && gone.getError().getMessage().contains("later list of node w1"), String.valueOf(gone));

    // a key removed explicitly is not brought back by a list taken before its removal
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(uid, k3, r)).reply().isSuccess());
    assertEquals(List.of(), es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 13,
        Map.of(k2, IP2, k3, IP3, fresh, "10.244.1.4/32"))).events());
    await(() -> assertEquals(Map.of(k2, IP2, fresh, "10.244.1.4/32"), dp.peers(uid)));
  }

  @Test
  void ownersAreJournaledSoAListAfterARestartRemovesAPodDeletedWhileTheGatewayWasDown() {
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    serve();
    assertTrue(add(k1, IP1, "w1", 1).isSuccess());
    assertTrue(add(k2, IP2, "w1", 2).isSuccess());
    es.restart();
    assertEquals(Map.of(k1, IP1, k2, IP2), es.getState().peersOf(uid));
    digest("w1", 5, Map.of(k2, IP2));
    await(() -> assertEquals(Map.of(k2, IP2), dp.peers(uid)));
    assertEquals(Map.of(k2, IP2), es.getState().peersOf(uid));
  }

  @Test
  void aWorkersListClaimsPeersWhoseOwnerWasNotKnownAndThenFollowsThem() {
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    serve();
    assertTrue(add(k1, IP1, "", 0).isSuccess()); // from a worker of the previous release
    assertTrue(add(k2, IP2, "", 0).isSuccess());
    var claimed = es.runCommand(new GatewayNodeProtocol.PeersOfNode("w1", uid, 10, Map.of(k1, IP1)));
    assertEquals(List.of(new GatewayNode.PeerClaimed(uid, k1, "w1", 10)), claimed.events());
    assertEquals(Map.of(k1, IP1, k2, IP2), dp.peers(uid), "a peer nobody claimed is left alone");
    digest("w1", 11, Map.of());
    await(() -> assertEquals(Map.of(k2, IP2), dp.peers(uid)));
  }

  @Test
  void aListForAConfigNotServedYetIsFollowedOnceItIs() {
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    digest("w1", 10, Map.of(k1, IP1, k2, IP2));
    assertEquals(Map.of(), es.getState().peers());
    serve();
    await(() -> assertEquals(Map.of(k1, IP1, k2, IP2), dp.peers(uid)));
  }

  @Test
  void aNodeSilentForLongerThanTheExpiryLosesItsPeersOthersKeepTheirs() {
    start(settings(Duration.ofMillis(100), Duration.ofSeconds(3)));
    serve();
    assertTrue(add(k1, IP1, "w1", 1).isSuccess());
    assertTrue(add(k2, IP2, "", 0).isSuccess());
    assertTrue(add(k3, IP3, "w2", 1).isSuccess());
    // w2 keeps sending its list; w1 was deleted and never does
    TestProbe<Object> probe = KIT.createTestProbe();
    long[] seq = {2};
    probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(200), () -> {
      digest("w2", seq[0]++, Map.of(k3, IP3));
      assertFalse(es.getState().peersOf(uid).containsKey(k1), "w1's peer expired");
      return null;
    });
    assertEquals(Map.of(k2, IP2, k3, IP3), es.getState().peersOf(uid));
    await(() -> assertEquals(Map.of(k2, IP2, k3, IP3), dp.peers(uid)));
  }

  @Test
  void afterARestartTheProbeAnswers503UntilTheJournaledPeersAreOnTheDevice() throws Exception {
    java.util.concurrent.atomic.AtomicReference<CountDownLatch> gate = new java.util.concurrent.atomic.AtomicReference<>();
    dp = new FakeGatewayDatapath() {
      @Override
      public void addPeer(String u, String key, String ip) {
        CountDownLatch g = gate.get();
        try {
          if (g != null && !g.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("gate never opened");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        super.addPeer(u, key, ip);
      }
    };
    start(settings(Duration.ofMinutes(5), Duration.ofHours(1)));
    try (ProbeServer probe = ProbeServer.start("127.0.0.1", 0, board, dp, Duration.ofMillis(1))) {
      serve();
      assertTrue(add(k1, IP1, "w1", 1).isSuccess());
      assertTrue(add(k2, IP2, "w1", 2).isSuccess());
      assertEquals(200, status(probe));

      // the entity restarts (a supervised restart: same member, same probe); meanwhile the device lost its
      // peers, while the device itself is fine, so a look at the kernel alone would answer 200
      dp.removePeer(uid, k1);
      dp.removePeer(uid, k2);
      CountDownLatch open = new CountDownLatch(1);
      gate.set(open);
      es.restart();
      await(() -> assertEquals(503, status(probe)));
      assertEquals(Map.of(), dp.peers(uid), "the reconcile that puts them back is held at the gate");

      open.countDown();
      await(() -> assertEquals(200, status(probe)));
      assertEquals(Map.of(k1, IP1, k2, IP2), dp.peers(uid), "200 only once the journaled peers are on the device");
    }
  }

  int status(ProbeServer probe) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probe.port() + "/gw/" + uid))
          .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
