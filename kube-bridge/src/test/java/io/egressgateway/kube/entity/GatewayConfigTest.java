package io.egressgateway.kube.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.infra.SgcApi;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.SgcSpec;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The entity on the persistence test kit (serialization checks on) with fake Kubernetes and Azure ports.
 * Snapshots are fed the way the informer bridge would: always the full current state.
 */
class GatewayConfigTest {
  static ActorTestKit testKit;
  static final List<GatewayNodeInfo> NODES = List.of(new GatewayNodeInfo("gw-1", "gwpool"), new GatewayNodeInfo("gw-2", "gwpool"));
  static final SgcSpec VALID = new SgcSpec("gwpool", null, null, true, "", List.of("10.0.0.0/8"));

  InMemorySgcApi kube;
  InMemoryAzureProvisioner azure;
  EventSourcedBehaviorTestKit<GatewayConfig.Command, GatewayConfig.Event, GatewayConfig.State> es;
  TestProbe<Done> replies;
  String key;

  @BeforeAll
  static void system() {
    testKit = ActorTestKit.create("gc", EventSourcedBehaviorTestKit.config()
        .withFallback(ConfigFactory.parseString("""
            akka.actor.provider = cluster
            akka.remote.artery.canonical.hostname = 127.0.0.1
            akka.remote.artery.canonical.port = 0
            akka.actor.serialization-bindings { "io.egressgateway.core.CborSerializable" = jackson-cbor }
            # the entity test kit asks a new entity for its persistence id within this; 3 s was too short on a
            # loaded machine (the kit then says "Only EventSourcedBehavior ... allowed")
            akka.actor.testkit.typed.single-expect-default = 15s
            """)));
    Cluster.get(testKit.system()).manager().tell(Join.create(Cluster.get(testKit.system()).selfMember().address()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void entity() {
    kube = new InMemorySgcApi();
    azure = new InMemoryAzureProvisioner();
    KubeBridgeSettings settings = new KubeBridgeSettings("egress-system", Duration.ofSeconds(60), Duration.ofSeconds(5),
        Duration.ofMillis(100), Duration.ofMillis(400), Duration.ofMillis(100), 100, "");
    key = "apps/sgc-" + System.nanoTime();
    es = EventSourcedBehaviorTestKit.create(testKit.system(),
        GatewayConfig.create(key, new GatewayConfig.Ports(kube, azure, settings)));
    replies = testKit.createTestProbe();
  }

  ObservedSgc observed(String uid, SgcSpec spec, boolean deleting) {
    String secret = kube.keySecretPublicKey(ObservedSgc.secretName(uid), "", "").orElse("");
    return new ObservedSgc(key, true, uid, 1, deleting, kube.finalizers.contains(uid), spec, kube.status(uid), secret, NODES);
  }

  GatewayConfig.State state() {
    return es.getState();
  }

  @Test
  void validSpecIsAdoptedProvisionedAndARepeatedSnapshotPersistsNothing() {
    var result = es.runCommand(new GatewayConfig.Sync(observed("u1", VALID, false), replies.getRef()));
    assertEquals(Done.getInstance(), replies.receiveMessage());
    assertInstanceOf(GatewayConfig.Adopted.class, result.events().get(0));
    await(() -> state() instanceof GatewayConfig.Active a && a.allocation() != null, "provisioned");
    feedUntil(() -> kube.status("u1").isReady(), "u1", VALID);
    GatewayConfig.Active a = (GatewayConfig.Active) state();
    assertEquals(azure.allocation("u1"), a.allocation());
    assertTrue(kube.finalizers.contains("u1"));
    assertEquals(2, a.allocation().nodes().size());

    int writes = kube.writes();
    int azureWrites = azure.mutations();
    for (int i = 0; i < 3; i++) {
      var repeat = es.runCommand(new GatewayConfig.Sync(observed("u1", VALID, false), replies.getRef()));
      assertEquals(List.of(), repeat.events(), "a repeated snapshot persists nothing");
      replies.receiveMessage();
    }
    passesCompleted("u1");
    assertEquals(writes, kube.writes(), "and writes nothing");
    assertEquals(azureWrites, azure.mutations());
  }

  @Test
  void theGoOriginalsObjectsAreLookedUpUntilProvisionedAndTheirUidsPassedToAzure() {
    SgcApi.LegacyUids go = new SgcApi.LegacyUids("lb-uid", "vm-uid");
    kube.legacy.put("u9", go);
    es.runCommand(new GatewayConfig.Sync(observed("u9", VALID, false), replies.getRef()));
    replies.receiveMessage();
    await(() -> state() instanceof GatewayConfig.Active a && a.allocation() != null, "provisioned");
    assertEquals(go, azure.requests("u9").get(0).legacy());
    feedUntil(() -> kube.status("u9").isReady(), "u9", VALID);
    int lookups = kube.legacyLookups;
    for (int i = 0; i < 3; i++) {
      es.runCommand(new GatewayConfig.Sync(observed("u9", VALID, false), replies.getRef()));
      replies.receiveMessage();
    }
    await(() -> azure.requests("u9").size() > 2, "passes after provisioning");
    assertEquals(SgcApi.LegacyUids.NONE, azure.requests("u9").get(azure.requests("u9").size() - 1).legacy());
    assertEquals(lookups, kube.legacyLookups, "once provisioned, the pool keeps the names: no more lookups");
  }

  /**
   * An upgrade from the layout that kept key Secrets in the release namespace: the first pass moves the key (the same
   * one: no new pair), and the old Secret goes only once the status names the key namespace.
   */
  @Test
  void aKeySecretOfAnEarlierReleaseIsMovedAndTheOldOneRemovedOnlyAfterTheStatusNamesTheNewPlace() {
    kube.keyNamespace = "egress-system-keys";
    String oldKey = io.egressgateway.kube.model.WireGuardKeys.generate().publicKey();
    kube.legacySecrets.put("sgw-u20", oldKey);
    es.runCommand(new GatewayConfig.Sync(observed("u20", VALID, false), replies.getRef()));
    replies.receiveMessage();
    feedUntil(() -> kube.status("u20").isReady() && kube.legacySecrets.isEmpty(), "u20", VALID);
    assertEquals(oldKey, kube.secrets.get("sgw-u20"), "the same key, now in the key namespace");
    assertEquals(oldKey, kube.status("u20").publicKey());
    assertEquals("egress-system-keys", kube.status("u20").secretNamespace());
    assertEquals(List.of("egress-system-keys"), kube.legacyDeletedWhileStatusNamed, "deleted after the status named the new place");
    assertTrue(kube.events.contains("Normal KeySecretMoved"), kube.events::toString);
    assertFalse(kube.events.stream().anyMatch(e -> e.contains("KeyPair")), "no new pair: " + kube.events);
    // the member's copy of the view follows the publish a notification interval later
    await(() -> view() != null && oldKey.equals(view().gatewayPublicKey()), "the view keeps the gateway key");
  }

  ConfigView view() {
    return ConfigViews.get(testKit.system()).current().get(key);
  }

  /**
   * A pod created while Azure provisions must hear "not ready yet", not "not known": the view holds the
   * config as not ready (no endpoint, port or gateways) from before Azure is asked until it answered.
   */
  @Test
  void whileAzureProvisionsTheViewHoldsTheConfigAsNotReady() {
    azure.holdEnsure(key, true);
    es.runCommand(new GatewayConfig.Sync(observed("u8", VALID, false), replies.getRef()));
    replies.receiveMessage();
    await(() -> view() != null, "view published before Azure answered");
    ConfigView v = view();
    assertEquals("u8", v.uid());
    assertFalse(v.ready());
    assertEquals("", v.ilbIp());
    assertEquals(0, v.port());
    assertTrue(v.gateways().isEmpty());
    assertEquals(kube.keySecretPublicKey("sgw-u8", "", "").orElseThrow(), v.gatewayPublicKey());
    assertEquals("sgw-u8", v.keySecretName());
    assertEquals(List.of("10.0.0.0/8"), v.excludeCidrs());
    assertEquals(ConfigView.DEFAULT_ROUTE_GATEWAY, v.defaultRoute());
    assertEquals(1, v.generation());
    assertTrue(azure.provisionedUids().isEmpty(), "Azure has not answered yet");

    azure.holdEnsure(key, false);
    feedUntil(() -> kube.status("u8").isReady(), "u8", VALID);
    await(() -> view().ready(), "ready view");
    assertEquals(azure.allocation("u8").ilbIp(), view().ilbIp());
    assertEquals(azure.allocation("u8").port(), view().port());
    assertEquals(2, view().gateways().size());
    for (int i = 0; i < 3; i++) {
      es.runCommand(new GatewayConfig.Sync(observed("u8", VALID, false), replies.getRef()));
      replies.receiveMessage();
    }
    passesCompleted("u8");
    assertTrue(view().ready(), "later passes never put the not-ready view back");
  }

  @Test
  void aConfigDeletedBeforeAzureAnsweredLeavesNoView() {
    azure.failEnsure(key, "ARM down");
    es.runCommand(new GatewayConfig.Sync(observed("u10", VALID, false), replies.getRef()));
    replies.receiveMessage();
    await(() -> view() != null && !view().ready(), "not-ready view");
    es.runCommand(new GatewayConfig.Sync(observed("u10", VALID, true), replies.getRef()));
    await(() -> state() instanceof GatewayConfig.Idle, "forgotten");
    await(() -> view() == null, "view gone");
  }

  @Test
  void invalidSpecIsReportedButNeverAdopted() {
    SgcSpec invalid = new SgcSpec("", null, null, true, "", List.of());
    var result = es.runCommand(new GatewayConfig.Sync(observed("u2", invalid, false), replies.getRef()));
    assertEquals(List.of(), result.events());
    await(() -> kube.status("u2").condition(SgcStatus.ACCEPTED).isPresent(), "status written");
    assertEquals("MissingGatewayPool", kube.status("u2").condition(SgcStatus.ACCEPTED).orElseThrow().reason());
    await(() -> kube.events.contains("Warning InvalidSpec"), "Warning event recorded");
    assertFalse(kube.finalizers.contains("u2"));
    assertTrue(kube.secrets.isEmpty());
    assertTrue(azure.provisionedUids().isEmpty());
    assertInstanceOf(GatewayConfig.Idle.class, state());
  }

  @Test
  void deletionReleasesAzureThenSecretThenFinalizer() {
    es.runCommand(new GatewayConfig.Sync(observed("u3", VALID, false), replies.getRef()));
    feedUntil(() -> kube.status("u3").isReady(), "u3", VALID);
    await(() -> ConfigViews.get(testKit.system()).current().containsKey(key), "view published");
    // as with any snapshot, a pass of u3 may still be running: then the deletion is persisted when it ends
    es.runCommand(new GatewayConfig.Sync(observed("u3", VALID, true), replies.getRef()));
    awaitPersisted(new GatewayConfig.DeletionRequested("u3"));
    await(() -> state() instanceof GatewayConfig.Idle, "forgotten");
    assertFalse(kube.finalizers.contains("u3"));
    assertFalse(kube.secrets.containsKey("sgw-u3"));
    assertFalse(azure.provisionedUids().contains("u3"));
    await(() -> !ConfigViews.get(testKit.system()).current().containsKey(key), "view gone");
  }

  @Test
  void failedReleaseKeepsTheFinalizerAndIsRetried() {
    es.runCommand(new GatewayConfig.Sync(observed("u4", VALID, false), replies.getRef()));
    feedUntil(() -> kube.status("u4").isReady(), "u4", VALID);
    azure.failRelease(key, "ARM down");
    es.runCommand(new GatewayConfig.Sync(observed("u4", VALID, true), replies.getRef()));
    await(() -> azure.releaseAttempts(key) >= 3, "release failed and was retried");
    assertTrue(state() instanceof GatewayConfig.Deleting d && !d.released());
    assertTrue(kube.finalizers.contains("u4"));
    assertTrue(kube.secrets.containsKey("sgw-u4"));
    azure.failRelease(key, null);
    await(() -> state() instanceof GatewayConfig.Idle, "retried until released and forgotten");
    assertFalse(kube.finalizers.contains("u4"));
  }

  @Test
  void recreatedSgcWithTheSameNameCleansUpTheOldUidFirst() {
    es.runCommand(new GatewayConfig.Sync(observed("u5", VALID, false), replies.getRef()));
    feedUntil(() -> kube.status("u5").isReady(), "u5", VALID);
    // a pass of u5 may still be running (feedUntil feeds several snapshots): then the new uid is taken up, and
    // the old one's deletion persisted, when that pass ends rather than by this command
    es.runCommand(new GatewayConfig.Sync(observed("u6", VALID, false), replies.getRef()));
    awaitPersisted(new GatewayConfig.DeletionRequested("u5"));
    feedUntil(() -> kube.status("u6").isReady(), "u6", VALID);
    assertEquals(java.util.Set.of("u6"), azure.provisionedUids());
    assertEquals(java.util.Set.of("sgw-u6"), kube.secrets.keySet());
    assertEquals("u6", ((GatewayConfig.Active) state()).uid());
    // the old uid's view goes before the new one is published: absent counts as not yet
    await(() -> java.util.Optional.ofNullable(ConfigViews.get(testKit.system()).current().get(key))
        .map(v -> "u6".equals(v.uid())).orElse(false), "view of the new uid");
  }

  @Test
  void apiFailureIsReportedAsWarningAndRetried() {
    kube.failStatusWrites = 3;
    es.runCommand(new GatewayConfig.Sync(observed("u7", VALID, false), replies.getRef()));
    await(() -> kube.events.contains("Warning ReconcileError"), "error event");
    feedUntil(() -> kube.status("u7").isReady(), "u7", VALID);
  }

  /**
   * Waits until the entity persisted {@code event}. A snapshot sent while a pass runs persists nothing itself (the
   * entity takes it up when the pass ends), so a test that sends one after others cannot expect the decision in that
   * command's own events.
   */
  void awaitPersisted(GatewayConfig.Event event) {
    String persistenceId = akka.persistence.typed.PersistenceId.of(GatewayConfig.ENTITY_KEY.name(), key).id();
    await(() -> es.persistenceTestKit().persistedInStorage(persistenceId).contains(event), event + " persisted");
  }

  /** Feeds fresh snapshots (as informer events would) until {@code done}. */
  void feedUntil(BooleanSupplier done, String uid, SgcSpec spec) {
    Eventually.await(Duration.ofSeconds(10), Duration.ofMillis(50), () -> {
      es.runCommand(new GatewayConfig.Sync(observed(uid, spec, false), replies.getRef()));
      replies.receiveMessage();
      return done.getAsBoolean();
    }, settled -> settled, uid + " settled");
  }

  /**
   * Returns once every reconcile pass {@code uid}'s entity had started has ended: passes run one at a time,
   * and each asks Azure, so the second Azure request of two more snapshots comes from a pass that began
   * after the earlier ones had ended.
   */
  void passesCompleted(String uid) {
    for (int i = 0; i < 2; i++) {
      int asked = azure.requests(uid).size();
      es.runCommand(new GatewayConfig.Sync(observed(uid, VALID, false), replies.getRef()));
      replies.receiveMessage();
      await(() -> azure.requests(uid).size() > asked, "one more pass of " + uid);
    }
  }

  static void await(BooleanSupplier c, String what) {
    Eventually.await(Duration.ofSeconds(10), c, what);
  }
}
