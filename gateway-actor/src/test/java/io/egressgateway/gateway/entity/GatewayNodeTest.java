package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GatewayNodeTest {
  static final java.util.concurrent.atomic.AtomicInteger SEQ = new java.util.concurrent.atomic.AtomicInteger();
  String node = "gw-0";
  static final String UID = "11111111-aaaa";
  static final String KEY_SECRET = "sgw-" + UID;
  static final String PRIV = WgKeys.generate().privateKey();

  static final Config CONFIG = ConfigFactory.parseString("""
      akka.actor.provider = local
      akka.loglevel = INFO
      """)
      .withFallback(EventSourcedBehaviorTestKit.config())
      .withFallback(ConfigFactory.load())
      .resolve();
  static final ActorTestKit KIT = ActorTestKit.create("gateway-node-test", CONFIG);

  FakeGatewayDatapath dp;
  TestConfigSource views;
  HealthBoard board;
  final List<Consumer<String>> lostHooks = new CopyOnWriteArrayList<>();
  EventSourcedBehaviorTestKit<GatewayNodeProtocol.Command, GatewayNode.Event, GatewayNode.State> es;

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  static GatewaySettings settings(Duration viewGrace) {
    return settings(viewGrace, Duration.ofSeconds(30));
  }

  static GatewaySettings settings(Duration viewGrace, Duration peerHold) {
    return new GatewaySettings("wireguard-go", "", "eth0", "egw-", 2, 8, Duration.ofMillis(20), Duration.ofMinutes(5),
        Duration.ofMillis(100), viewGrace, peerHold, Duration.ofHours(1), 3, Duration.ofSeconds(5), false, "127.0.0.1", 0, Duration.ZERO,
        Duration.ofMillis(1));
  }

  ConfigView view(int port) {
    return new ConfigView("default/sgc", UID, 1, "10.224.0.100", port, FakeGatewayDatapath.publicKeyOf(PRIV), KEY_SECRET,
        List.of(), "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")), false);
  }

  @BeforeEach
  void setUp() {
    setUp(Duration.ofMinutes(10));
  }

  void setUp(Duration viewGrace) {
    setUp(viewGrace, Duration.ofSeconds(30));
  }

  void setUp(Duration viewGrace, Duration peerHold) {
    dp = new FakeGatewayDatapath();
    views = new TestConfigSource();
    board = new HealthBoard();
    lostHooks.clear();
    node = "gw-" + SEQ.incrementAndGet();
    GatewayNode.Deps deps = new GatewayNode.Deps(settings(viewGrace, peerHold), dp, new InMemoryGatewayKeys().put(KEY_SECRET, PRIV),
        views, lostHooks::add, board);
    es = EventSourcedBehaviorTestKit.create(KIT.system(), GatewayNode.create(node, deps));
  }

  GatewayNode.Status status() {
    return es.runCommand(GatewayNode.GetStatus::new).reply();
  }

  void awaitServing() {
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertTrue(status().configs().get(UID).serving());
      return null;
    });
  }

  @Test
  void viewProgramsTheConfigAndPublishesItServing() {
    views.put(view(6000));
    awaitServing();
    assertEquals(6000, dp.port(UID));
    assertEquals(java.util.Set.of(UID), board.snapshot().serving());
    assertTrue(board.servingConfig(UID).isPresent());
  }

  @Test
  void addPeerRepliesOnceProgrammedAndIsIdempotent() {
    views.put(view(6000));
    awaitServing();
    String pod = WgKeys.generate().publicKey();
    var first = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.10/32", r));
    assertTrue(first.reply().isSuccess());
    assertEquals(List.of(new GatewayNode.PeerAdded(UID, pod, "10.244.1.10/32")), first.events());
    assertEquals(Map.of(pod, "10.244.1.10/32"), dp.peers(UID), "programmed before the reply");
    int ops = dp.singlePeerOps.get();

    var second = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.10/32", r));
    assertTrue(second.reply().isSuccess());
    assertEquals(List.of(), second.events());
    assertEquals(ops, dp.singlePeerOps.get(), "a repeated add touches nothing");
    assertEquals(0, dp.bulkLoads.get() - 1, "one peer is never a bulk load");
  }

  @Test
  void eventsBeforeASnapshotAreDeletedAndTheStateRecoversFromWhatIsLeft() {
    views.put(view(6000));
    awaitServing();
    Map<String, String> added = new java.util.HashMap<>();
    for (int i = 0; i < 8; i++) { // snapshot-every is 3 here
      String pod = WgKeys.generate().publicKey();
      added.put(pod, "10.244.1." + (20 + i) + "/32");
      assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, added.get(pod), r)).reply().isSuccess());
    }
    String pid = akka.persistence.typed.PersistenceId.of(GatewayNode.ENTITY_KEY.name(), node).id();
    List<Object> kept = es.persistenceTestKit().persistedInStorage(pid);
    assertTrue(kept.size() < 8, "the journal keeps only the events after the last snapshots, not all 8+: " + kept.size());
    es.restart();
    assertEquals(added, dp.peers(UID), "programmed as before");
    assertEquals(8, status().configs().get(UID).peers(), "recovered from the snapshot and the events after it");
  }

  @Test
  void aBurstOfPeersIsPersistedAndProgrammedInFewBatchesAndEveryOneAnswered() {
    views.put(view(6000));
    awaitServing();
    es.runCommand(new GatewayNode.WakeUp());
    // the test kit runs one command at a time; a real mailbox receives a burst: talk to a second incarnation
    String burstNode = node + "-burst";
    dp = new FakeGatewayDatapath();
    board = new HealthBoard();
    var ref = KIT.spawn(GatewayNode.create(burstNode, new GatewayNode.Deps(settings(Duration.ofMinutes(10)), dp,
        new InMemoryGatewayKeys().put(KEY_SECRET, PRIV), views, lostHooks::add, board)));
    views.put(new ConfigView("default/sgc", UID, 2, "10.224.0.100", 6000, FakeGatewayDatapath.publicKeyOf(PRIV), KEY_SECRET,
        List.of(), "staticEgressGateway", "", Map.of(burstNode, new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")),
        false));
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertTrue(board.snapshot().serving().contains(UID));
      return null;
    });
    TestProbe<StatusReply<Done>> replies = KIT.createTestProbe();
    java.util.Map<String, String> want = new java.util.HashMap<>();
    for (int i = 0; i < 20; i++) {
      String pod = WgKeys.generate().publicKey();
      want.put(pod, "10.244.3." + i + "/32");
      ref.tell(new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.3." + i + "/32", replies.getRef()));
    }
    for (int i = 0; i < 20; i++) {
      assertTrue(replies.receiveMessage(Duration.ofSeconds(5)).isSuccess());
    }
    assertEquals(want, dp.peers(UID));
    int calls = dp.peerBatches.get() + dp.singlePeerOps.get();
    assertTrue(calls < 20 && dp.peerBatches.get() >= 1, "20 peers in " + calls + " datapath calls");
    KIT.stop(ref);
    // every peer journaled: a new incarnation recovers (snapshot plus the events after it) and programs all 20
    FakeGatewayDatapath again = new FakeGatewayDatapath();
    var recovered = KIT.spawn(GatewayNode.create(burstNode, new GatewayNode.Deps(settings(Duration.ofMinutes(10)), again,
        new InMemoryGatewayKeys().put(KEY_SECRET, PRIV), views, lostHooks::add, new HealthBoard())));
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(want, again.peers(UID), "every peer journaled");
      return null;
    });
    KIT.stop(recovered);
  }

  @Test
  void aRemovalOvertakingAPendingAdditionWins() {
    views.put(view(6000));
    awaitServing();
    TestProbe<StatusReply<Done>> added = KIT.createTestProbe();
    String pod = WgKeys.generate().publicKey();
    es.runCommand(new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.4.1/32", added.getRef()));
    var removed = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(UID, pod, r));
    assertTrue(removed.reply().isSuccess());
    StatusReply<Done> addReply = added.receiveMessage(Duration.ofSeconds(5));
    if (addReply.isSuccess()) {
      // the addition was journaled before the removal arrived: then the removal took it out again
      es.runCommand(new GatewayNode.Resync());
    }
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertFalse(dp.peers(UID).containsKey(pod), "the later removal wins");
      return null;
    });
    assertFalse(es.getState().peersOf(UID).containsKey(pod));
  }

  @Test
  void addPeerBeforeTheDatapathExistsIsAnsweredAfterProgramming() {
    views.put(view(6000));
    String pod = WgKeys.generate().publicKey();
    var r = es.<StatusReply<Done>>runCommand(ref -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.11/32", ref));
    assertTrue(r.reply().isSuccess());
    assertEquals(Map.of(pod, "10.244.1.11/32"), dp.peers(UID));
  }

  @Test
  void badPeersAndUnknownConfigsAreRejectedAndPersistNothing() {
    setUp(Duration.ofMinutes(10), Duration.ofMillis(300));
    views.put(view(6000));
    awaitServing();
    String pod = WgKeys.generate().publicKey();
    var badKey = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, "not-a-key", "10.244.1.10/32", r));
    assertTrue(badKey.reply().isError());
    assertTrue(badKey.reply().getError().getMessage().contains("WireGuard public key"));
    var badIp = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.0/24", r));
    assertTrue(badIp.reply().getError().getMessage().contains("a.b.c.d/32"));
    var unknown = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer("22222222-bbbb", pod, "10.244.1.10/32", r));
    assertTrue(unknown.reply().getError().getMessage().contains("not served by gateway node " + node + " (waited 300 ms"),
        unknown.reply().getError().getMessage());
    assertEquals(List.of(), badKey.events());
    assertEquals(List.of(), badIp.events());
    assertEquals(List.of(), unknown.events());
    assertEquals(Map.of(), es.getState().peers());
  }

  @Test
  void aPeerArrivingBeforeItsConfigIsHeldAndProgrammedOnceTheViewCatchesUp() {
    // the worker's copy of the view is ahead of this gateway's: the peer must not be refused for good
    TestProbe<StatusReply<Done>> early = KIT.createTestProbe();
    String pod = WgKeys.generate().publicKey();
    es.runCommand(new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.6.1/32", early.getRef()));
    early.expectNoMessage(Duration.ofMillis(300));
    assertEquals(Map.of(), es.getState().peers(), "nothing journaled while the config is unknown here");

    views.put(view(6000));
    assertTrue(early.receiveMessage(Duration.ofSeconds(5)).isSuccess());
    assertEquals(Map.of(pod, "10.244.6.1/32"), dp.peers(UID), "programmed before the answer");
    assertEquals(Map.of(pod, "10.244.6.1/32"), es.getState().peersOf(UID));
    assertTrue(status().configs().get(UID).serving());
  }

  @Test
  void aHeldPeerRemovedOrSupersededMeanwhileIsNeverProgrammed() {
    TestProbe<StatusReply<Done>> removedEarly = KIT.createTestProbe();
    TestProbe<StatusReply<Done>> oldSandbox = KIT.createTestProbe();
    TestProbe<StatusReply<Done>> newSandbox = KIT.createTestProbe();
    String gone = WgKeys.generate().publicKey();
    String oldKey = WgKeys.generate().publicKey();
    String newKey = WgKeys.generate().publicKey();
    es.runCommand(new GatewayNodeProtocol.AddPeer(UID, gone, "10.244.6.2/32", removedEarly.getRef()));
    es.runCommand(new GatewayNodeProtocol.AddPeer(UID, oldKey, "10.244.6.3/32", oldSandbox.getRef()));
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(UID, gone, r)).reply().isSuccess());
    assertTrue(removedEarly.receiveMessage(Duration.ofSeconds(1)).getError().getMessage().contains("was removed before"));
    es.runCommand(new GatewayNodeProtocol.AddPeer(UID, newKey, "10.244.6.3/32", newSandbox.getRef()));
    assertTrue(oldSandbox.receiveMessage(Duration.ofSeconds(1)).getError().getMessage().contains("superseded by " + newKey));

    views.put(view(6000));
    assertTrue(newSandbox.receiveMessage(Duration.ofSeconds(5)).isSuccess());
    assertEquals(Map.of(newKey, "10.244.6.3/32"), dp.peers(UID), "only the newest sandbox's peer");
  }

  @Test
  void aNewKeyForAPodIpTakesItFromTheOldKeyAlsoAfterARestart() {
    // the old sandbox's removal never reached this gateway (it was down): its key must not keep the IP
    views.put(view(6000));
    awaitServing();
    String stale = WgKeys.generate().publicKey();
    String fresh = WgKeys.generate().publicKey();
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, stale, "10.244.6.9/32", r)).reply().isSuccess());
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, fresh, "10.244.6.9/32", r)).reply().isSuccess());
    assertEquals(Map.of(fresh, "10.244.6.9/32"), es.getState().peersOf(UID));
    es.runCommand(new GatewayNode.Resync());
    KIT.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(Map.of(fresh, "10.244.6.9/32"), dp.peers(UID), "the stale peer leaves the device");
      return null;
    });
    es.restart();
    assertEquals(Map.of(fresh, "10.244.6.9/32"), es.getState().peersOf(UID), "the same after replaying the journal");
  }

  @Test
  void aHeldPeerIsRefusedWhenItsConfigNeverArrives() {
    setUp(Duration.ofMinutes(10), Duration.ofMillis(300));
    TestProbe<StatusReply<Done>> probe = KIT.createTestProbe();
    es.runCommand(new GatewayNodeProtocol.AddPeer("33333333-cccc", WgKeys.generate().publicKey(), "10.244.6.4/32", probe.getRef()));
    long start = System.nanoTime();
    StatusReply<Done> reply = probe.receiveMessage(Duration.ofSeconds(5));
    assertTrue(reply.isError());
    assertTrue(reply.getError().getMessage().contains("is not served by gateway node " + node), reply.getError().getMessage());
    assertTrue(System.nanoTime() - start >= Duration.ofMillis(250).toNanos(), "held before the refusal");
    assertEquals(Map.of(), es.getState().peers());
  }

  @Test
  void removePeerIsIdempotentAndLeavesTheDevice() {
    views.put(view(6000));
    awaitServing();
    String pod = WgKeys.generate().publicKey();
    es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.10/32", r));
    var first = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(UID, pod, r));
    assertTrue(first.reply().isSuccess());
    assertEquals(List.of(new GatewayNode.PeerRemoved(UID, pod)), first.events());
    var second = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(UID, pod, r));
    assertTrue(second.reply().isSuccess());
    assertEquals(List.of(), second.events());
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(3), () -> {
      assertEquals(Map.of(), dp.peers(UID));
      return null;
    });
  }

  @Test
  void restartAfterRebootRestoresAllPeersInOneBulkLoad() {
    views.put(view(6000));
    awaitServing();
    for (int i = 0; i < 10; i++) {
      String pod = WgKeys.generate().publicKey();
      int n = i;
      es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.2." + n + "/32", r));
    }
    Map<String, String> before = dp.peers(UID);
    assertEquals(10, before.size());
    dp.wipe();
    int bulk = dp.bulkLoads.get();
    int single = dp.singlePeerOps.get();
    es.restart();
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(before, dp.peers(UID));
      return null;
    });
    assertEquals(bulk + 1, dp.bulkLoads.get(), "all peers restored in one bulk load");
    assertEquals(single, dp.singlePeerOps.get(), "no peer added one by one");
    assertEquals(10, es.getState().peersOf(UID).size());
  }

  @Test
  void lostDeviceIsRepairedWithItsPeers() {
    views.put(view(6000));
    awaitServing();
    String pod = WgKeys.generate().publicKey();
    es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.10/32", r));
    dp.killDevice(UID);
    assertEquals(Map.of(), dp.peers(UID));
    lostHooks.forEach(h -> h.accept("egwdevice"));
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(Map.of(pod, "10.244.1.10/32"), dp.peers(UID));
      return null;
    });
  }

  @Test
  void failuresSurfaceInStatusAndAreRetried() {
    dp.failWith("ip: RTNETLINK answers: Operation not permitted");
    views.put(view(6000));
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      GatewayNode.ConfigStatus s = status().configs().get(UID);
      assertFalse(s.serving());
      assertTrue(s.error().contains("Operation not permitted"), s.error());
      return null;
    });
    assertTrue(board.servingConfig(UID).isEmpty());
    dp.failWith(null);
    awaitServing();
  }

  @Test
  void configLeavingTheNodeIsRemovedAndItsPeersReleasedAfterTheGrace() {
    setUp(Duration.ZERO);
    dp.leftover("99999999-dead");
    views.put(view(6000));
    awaitServing();
    assertFalse(dp.has("99999999-dead"), "stale namespace of ours collected");
    String pod = WgKeys.generate().publicKey();
    es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(UID, pod, "10.244.1.10/32", r));
    views.remove("default/sgc");
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertFalse(dp.has(UID));
      assertEquals(Map.of(), es.getState().peers());
      return null;
    });
  }

  @Test
  void unknownConfigsAreKeptDuringTheGrace() {
    dp.leftover("99999999-dead");
    views.put(view(6000));
    awaitServing();
    assertTrue(dp.has("99999999-dead"));
  }

  @Test
  void portChangeReprogramsTheDevice() {
    views.put(view(6000));
    awaitServing();
    views.put(view(6001));
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(6001, dp.port(UID));
      return null;
    });
  }
}
