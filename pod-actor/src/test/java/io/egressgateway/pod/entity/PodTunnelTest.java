package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.model.Route;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PodTunnelTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      ConfigFactory.parseString("akka.actor.testkit.typed.default-timeout = 5s\nakka.remote.artery.canonical.port = 0")
          .withFallback(EventSourcedBehaviorTestKit.config()));

  private final InMemoryPodDatapath datapath = new InMemoryPodDatapath();
  private final InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
  private final io.egressgateway.pod.infra.PodKeys keys = new io.egressgateway.pod.infra.PodKeys();
  /** Read by the entity at each use, so a test can change what has replicated. */
  private volatile Map<String, ConfigView> views = Fixtures.views(Fixtures.view("default/gw", true), Fixtures.view("default/cold", false),
      Fixtures.provisioning("default/provisioning"));
  private EventSourcedBehaviorTestKit<PodTunnel.Command, PodTunnel.Event, PodTunnel.State> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    datapath.addNamespace("/var/run/netns/pod1");
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> views, Duration.ofMillis(500), Duration.ofMillis(200), keys,
        Fixtures.EXCEPTIONS);
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), PodTunnel.create("w1/uid-1", deps));
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<PodTunnel.Command, PodTunnel.Event, PodTunnel.State, StatusReply<PodTunnel.Added>> add(
      PodTunnel.Pod pod) {
    return kit.<StatusReply<PodTunnel.Added>>runCommand(r -> new PodTunnel.Add(pod, r));
  }

  @Test
  void addProgramsDeviceGatewaysAndRoutesThenRepeatedAddPersistsNothing() {
    var first = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    assertTrue(first.reply().isSuccess(), () -> first.reply().getError().getMessage());
    PodTunnel.Established st = assertInstanceOf(PodTunnel.Established.class, first.state());
    String pub = st.tunnel().publicKey();

    var pod = datapath.pod("/var/run/netns/pod1").orElseThrow();
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200"), pod.wg0().orElseThrow().alias());
    assertEquals("10.224.0.100:6000", pod.wg0().orElseThrow().endpoint());
    assertTrue(pod.wg0().orElseThrow().hasPrivateKey());
    assertTrue(pod.routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")));
    assertTrue(pod.routes().contains(Route.main("198.18.20.0/24", "169.254.1.1", "eth0")));
    assertTrue(pod.routes().contains(Route.main("169.254.169.254/32", "169.254.1.1", "eth0")), "the agent's exceptions go via eth0");
    assertTrue(pod.routes().contains(Route.main("169.254.10.11/32", "169.254.1.1", "eth0")), "the agent's exceptions go via eth0");
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw2", "uid-default-gw"));

    var again = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    assertTrue(again.reply().isSuccess());
    assertTrue(again.events().isEmpty(), "a repeated ADD persists nothing");
    assertEquals(pub, again.reply().getValue().publicKey());
  }

  @Test
  void aDeadDeviceIsRecreatedWithTheSameKeyAndNothingPersisted() throws Exception {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    datapath.kill("/var/run/netns/pod1");
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty());
    var r = kit.runCommand(new PodTunnel.Reattach(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200")));
    assertTrue(r.events().isEmpty());
    // the device comes back first, the routes right after it (both asynchronously)
    await(() -> datapath.pod("/var/run/netns/pod1").orElseThrow().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")),
        "routes restored");
    var pod = datapath.pod("/var/run/netns/pod1").orElseThrow();
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200"), pod.wg0().orElseThrow().alias());
    assertTrue(pod.routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")), "routes restored");

    var unrelated = kit.runCommand(new PodTunnel.Reattach("wgsomeoneelse"));
    assertTrue(unrelated.events().isEmpty());
    assertInstanceOf(PodTunnel.Established.class, unrelated.state());
  }

  @Test
  void aNewSandboxGetsANewKeyAndTheOldPeerLeavesTheGateways() {
    String oldKey = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    datapath.addNamespace("/var/run/netns/pod2");
    var second = add(Fixtures.pod("beefbeef00", "/var/run/netns/pod2"));
    assertTrue(second.reply().isSuccess());
    String newKey = second.reply().getValue().publicKey();
    assertTrue(!newKey.equals(oldKey), "a new sandbox gets a new key");
    assertEquals(Map.of(newKey, "10.244.1.5"), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(newKey, "10.244.1.5"), gateways.peersOf("gw2", "uid-default-gw"));
  }

  @Test
  void aRestartedEntityStillRepairsItsDeviceButNotWithoutTheKey() throws Exception {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    kit.restart();
    datapath.kill("/var/run/netns/pod1");
    kit.runCommand(new PodTunnel.Reattach(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200")));
    await(() -> datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isPresent(), "the key outlives the entity's restart");
    // the repair's last step (the routes) done before the next kill
    await(() -> datapath.pod("/var/run/netns/pod1").orElseThrow().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")),
        "the repair finished");

    keys.remove(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200"));
    datapath.kill("/var/run/netns/pod1");
    // without a key the entity decides at once (no pipeline starts): the state after the command is final
    var r = kit.runCommand(new PodTunnel.Reattach(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200")));
    assertInstanceOf(PodTunnel.Established.class, kit.getState(), "the command was handled, not stashed behind a repair");
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty(), "no key, no device: the pod stays fail-closed");
    assertTrue(r.events().isEmpty());
  }

  private static final String DEVICE = io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200");

  /** An agent restart as the entity sees it: the in-memory keys are gone and the entity recovers from its journal. */
  private void agentRestart() {
    keys.remove(DEVICE);
    kit.restart();
  }

  private StatusReply<PodTunnel.TakenBack> resume() throws Exception {
    var probe = testKit.<StatusReply<PodTunnel.TakenBack>>createTestProbe();
    kit.runCommand(new PodTunnel.Resume(0, probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(5));
  }

  @Test
  void afterAnAgentRestartALiveDeviceGivesItsKeyBackAndCanBeRepairedAgain() throws Exception {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    String key = keys.get(DEVICE).orElseThrow();
    agentRestart();

    StatusReply<PodTunnel.TakenBack> r = resume();
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertEquals(DEVICE, r.getValue().deviceName());
    assertFalse(r.getValue().newKey());
    assertEquals(key, keys.get(DEVICE).orElseThrow(), "the key is read back from the device");
    assertInstanceOf(PodTunnel.Established.class, kit.getState());

    datapath.kill("/var/run/netns/pod1");
    kit.runCommand(new PodTunnel.Reattach(DEVICE));
    await(() -> datapath.pod("/var/run/netns/pod1").orElseThrow().routes().stream().anyMatch(x -> x.dev().equals("wg0")), "routes restored");
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isPresent(), "a device dying after the restart is repaired");
    assertEquals(key, keys.get(DEVICE).orElseThrow(), "with the same key");
    assertTrue(resume().isSuccess(), "a second resume is a no-op");
  }

  @Test
  void afterAnAgentRestartAGoneDeviceIsMadeAgainWithANewKeyAndTheOldPeerLeaves() throws Exception {
    String oldKey = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    datapath.kill("/var/run/netns/pod1"); // e.g. wireguard-go ended with the agent's container
    agentRestart();

    StatusReply<PodTunnel.TakenBack> r = resume();
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertTrue(r.getValue().newKey());
    PodTunnel.Established st = assertInstanceOf(PodTunnel.Established.class, kit.getState());
    String newKey = st.tunnel().publicKey();
    assertFalse(newKey.equals(oldKey), "a new key");
    assertEquals(newKey, r.getValue().publicKey(), "told to the agent (for the pod's PodEndpoint)");
    assertEquals(Map.of(newKey, "10.244.1.5"), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(newKey, "10.244.1.5"), gateways.peersOf("gw2", "uid-default-gw"));
    var pod = datapath.pod("/var/run/netns/pod1").orElseThrow();
    assertEquals(DEVICE, pod.wg0().orElseThrow().alias());
    assertTrue(pod.routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")), "routes back");
  }

  @Test
  void aReKeyThatNoGatewayConfirmsIsTriedAgainUntilOneDoes() throws Exception {
    String oldKey = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    datapath.kill("/var/run/netns/pod1");
    agentRestart();
    gateways.silent("gw1", true); // the gateways restart too
    gateways.silent("gw2", true);
    StatusReply<PodTunnel.TakenBack> r = resume();
    assertTrue(r.isError(), "no gateway confirmed the new key");
    assertInstanceOf(PodTunnel.Requested.class, kit.getState());
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().routes().stream().noneMatch(x -> x.dev().equals("wg0")),
        "fail-closed meanwhile");

    gateways.silent("gw2", false);
    await(() -> kit.getState() instanceof PodTunnel.Established, "the tunnel made again");
    PodTunnel.Established st = assertInstanceOf(PodTunnel.Established.class, kit.getState(), "made again on a later attempt");
    assertFalse(st.tunnel().publicKey().equals(oldKey));
    assertTrue(gateways.peersOf("gw2", "uid-default-gw").containsKey(st.tunnel().publicKey()));
    assertFalse(gateways.peersOf("gw2", "uid-default-gw").containsKey(oldKey), "the old key left the gateway");
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")));
  }

  @Test
  void aTunnelStillBeingMadeAgainWhenTheAgentStopsAgainIsMadeAgainAfterTheNextStart() throws Exception {
    String oldKey = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    datapath.kill("/var/run/netns/pod1");
    agentRestart();
    gateways.silent("gw1", true);
    gateways.silent("gw2", true);
    assertTrue(resume().isError(), "no gateway confirmed the new key");
    PodTunnel.Requested pending = assertInstanceOf(PodTunnel.Requested.class, kit.getState());
    assertTrue(pending.replacing(), "a re-key of an established tunnel, not a pending ADD");
    String unconfirmed = pending.tunnel().publicKey();

    agentRestart(); // the agent stops again before any gateway answered
    assertTrue(((PodTunnel.Requested) kit.getState()).replacing(), "known again from the journal");
    gateways.silent("gw1", false);
    gateways.silent("gw2", false);
    StatusReply<PodTunnel.TakenBack> r = resume();
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertTrue(r.getValue().newKey());
    PodTunnel.Established st = assertInstanceOf(PodTunnel.Established.class, kit.getState());
    String newKey = st.tunnel().publicKey();
    assertFalse(newKey.equals(oldKey) || newKey.equals(unconfirmed));
    assertEquals(newKey, r.getValue().publicKey());
    assertTrue(gateways.peersOf("gw1", "uid-default-gw").containsKey(newKey));
    // (silent gateways record nothing, so the unconfirmed key never reached one here)
    assertTrue(gateways.peersOf("gw2", "uid-default-gw").containsKey(newKey), "the whole pool has the new key");
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")));
  }

  @Test
  void aPendingAddIsNotResumedTheRuntimeRetriesIt() throws Exception {
    gateways.silent("gw1", true);
    gateways.silent("gw2", true);
    assertTrue(add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().isError());
    PodTunnel.Requested pending = assertInstanceOf(PodTunnel.Requested.class, kit.getState());
    assertFalse(pending.replacing());
    agentRestart();
    gateways.silent("gw1", false);
    assertTrue(resume().getError().getMessage().contains("no established tunnel"));
  }

  @Test
  void afterAnAgentRestartAGoneNamespaceOrNoTunnelChangesNothing() throws Exception {
    String pub = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    datapath.deleteNamespace("/var/run/netns/pod1");
    agentRestart();
    StatusReply<PodTunnel.TakenBack> gone = resume();
    assertTrue(gone.isError());
    assertEquals("the pod's network namespace is gone", gone.getError().getMessage());
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw1", "uid-default-gw"), "left to the pod's DEL");
    assertInstanceOf(PodTunnel.Established.class, kit.getState());

    kit.<StatusReply<Done>>runCommand(rr -> new PodTunnel.Remove("c0ffee4200", rr));
    assertTrue(resume().isError(), "no tunnel, nothing to resume");
  }

  @Test
  void resumeWaitsForAConfigurationThatHasNotReplicatedYet() throws Exception {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    Map<String, ConfigView> replicated = views;
    views = Map.of();
    agentRestart();
    var probe = testKit.<StatusReply<PodTunnel.TakenBack>>createTestProbe();
    kit.runCommand(new PodTunnel.Resume(0, probe.ref()));
    probe.expectNoMessage(Duration.ofMillis(1500));
    assertTrue(keys.get(DEVICE).isEmpty());
    views = replicated;
    StatusReply<PodTunnel.TakenBack> r = probe.receiveMessage(Duration.ofSeconds(3));
    assertTrue(r.isSuccess(), () -> r.getError().getMessage());
    assertTrue(keys.get(DEVICE).isPresent());
  }

  @Test
  void aTunnelResumedAfterAnAgentRestartReachesAGatewayThatJoinedWhileTheAgentWasAway() throws Exception {
    String pub = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    agentRestart();
    ConfigView v = views.get("default/gw");
    Map<String, ConfigView.GatewayAddresses> pool = new java.util.HashMap<>(v.gateways());
    pool.put("gw3", new ConfigView.GatewayAddresses("10.224.0.7", "10.224.0.17"));
    views = Fixtures.views(Fixtures.withGateways(v, pool));

    assertTrue(resume().isSuccess());
    await(() -> !gateways.peersOf("gw3", "uid-default-gw").isEmpty(), "the peer on the new gateway");
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw3", "uid-default-gw"));
  }

  @Test
  void aRemovalReachesEveryGatewayOfThePoolAlsoBeforeTheViewHasReplicated() {
    // right after an agent restart a kept DEL runs before this node has the configuration's view
    String pub = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw2", "uid-default-gw"));
    agentRestart();
    views = Fixtures.views();
    assertTrue(kit.<StatusReply<Done>>runCommand(r -> new PodTunnel.Remove("c0ffee4200", r)).reply().isSuccess());
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(), gateways.peersOf("gw2", "uid-default-gw"), "not only the gateway that confirmed first");
  }

  private static void await(java.util.function.BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(java.time.Duration.ofSeconds(5), condition, what);
  }

  @Test
  void privateKeyIsNeverPersisted() {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    String journal = kit.getState().toString();
    var restarted = kit.restart();
    PodTunnel.Established st = assertInstanceOf(PodTunnel.Established.class, restarted.state());
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("c0ffee4200"), st.tunnel().deviceName());
    assertFalse(journal.contains("PrivateKey"));
    assertFalse(java.util.Arrays.stream(PodTunnel.Tunnel.class.getRecordComponents())
        .anyMatch(c -> c.getName().toLowerCase().contains("private")), "no private key field in persisted state");
  }

  @Test
  void missingOrUnreadyConfigIsAClearErrorAndChangesNothing() {
    var missing = add(new PodTunnel.Pod("c1c1c1c1", "/var/run/netns/pod1", "10.244.1.5", "169.254.1.1", "default/nope", java.util.List.of()));
    assertTrue(missing.reply().isError());
    assertTrue(missing.reply().getError().getMessage().contains("default/nope is not known"));
    var cold = add(new PodTunnel.Pod("c1c1c1c1", "/var/run/netns/pod1", "10.244.1.5", "169.254.1.1", "default/cold", java.util.List.of()));
    assertTrue(cold.reply().getError().getMessage().contains("not ready"));
    var provisioning = add(new PodTunnel.Pod("c1c1c1c1", "/var/run/netns/pod1", "10.244.1.5", "169.254.1.1", "default/provisioning",
        java.util.List.of()));
    assertEquals("gateway configuration default/provisioning is not ready yet (gateways or Azure resources still provisioning)",
        provisioning.reply().getError().getMessage());
    assertTrue(missing.events().isEmpty() && cold.events().isEmpty() && provisioning.events().isEmpty());
    assertInstanceOf(PodTunnel.Absent.class, kit.getState());
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty());
  }

  @Test
  void oneSilentGatewayIsEnoughButNoConfirmationMeansNoTunnelRoutes() {
    gateways.silent("gw1", true);
    var ok = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    assertTrue(ok.reply().isSuccess());
    assertEquals("gw2", ok.reply().getValue().gateway());

    datapath.addNamespace("/var/run/netns/pod2");
    gateways.silent("gw2", true);
    var failed = add(Fixtures.pod("d00d00d00d", "/var/run/netns/pod2"));
    assertTrue(failed.reply().isError());
    assertTrue(failed.reply().getError().getMessage().contains("confirmed the pod's peer within 500 ms"), failed.reply().getError().getMessage());
    assertInstanceOf(PodTunnel.Requested.class, failed.state());
    assertTrue(datapath.pod("/var/run/netns/pod2").orElseThrow().routes().isEmpty(),
        "without a gateway the default route is not moved into the tunnel");
  }

  @Test
  void aFailedAttemptLeavesNoDeviceSoTheNextSandboxOfThePodGetsItsTunnel() {
    // the runtime gave up on this ADD and removed eth0 while the agent still served it: the routes fail
    datapath.routesFailing("/var/run/netns/pod1", true);
    var failed = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    assertTrue(failed.reply().isError());
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty(), "the failed attempt took its wg0 out again");

    // the runtime's next attempt, a new container in the same namespace
    datapath.routesFailing("/var/run/netns/pod1", false);
    var next = add(Fixtures.pod("beefbeef00", "/var/run/netns/pod1"));
    assertTrue(next.reply().isSuccess(), () -> next.reply().getError().getMessage());
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("beefbeef00"),
        datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().orElseThrow().alias());
  }

  @Test
  void aNewSandboxInTheSameNamespaceReplacesTheOldSandboxsDevice() {
    // a stale ADD served after its own DEL: its tunnel stands, the runtime meanwhile moved on to a new container
    String oldKey = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();
    var next = add(Fixtures.pod("beefbeef00", "/var/run/netns/pod1"));
    assertTrue(next.reply().isSuccess(), () -> next.reply().getError().getMessage());
    String newKey = next.reply().getValue().publicKey();
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("beefbeef00"),
        datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().orElseThrow().alias());
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().routes().contains(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")));
    assertTrue(!newKey.equals(oldKey));
    await(() -> gateways.peersOf("gw1", "uid-default-gw").equals(Map.of(newKey, "10.244.1.5"))
        && gateways.peersOf("gw2", "uid-default-gw").equals(Map.of(newKey, "10.244.1.5")), "the old sandbox's peer left the gateways");
  }

  @Test
  void datapathFailureIsReported() {
    datapath.failing("/var/run/netns/pod1", true);
    var r = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    assertTrue(r.reply().isError());
    assertTrue(r.reply().getError().getMessage().contains("datapath operation failed"));
  }

  @Test
  void removeTakesThePeerOffBothGatewaysAndIsIdempotent() {
    String pub = add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1")).reply().getValue().publicKey();

    var stale = kit.<StatusReply<Done>>runCommand(r -> new PodTunnel.Remove("other-sandbox", r));
    assertTrue(stale.reply().isSuccess());
    assertTrue(stale.events().isEmpty(), "a DEL for another sandbox leaves the tunnel alone");
    assertEquals(Map.of(pub, "10.244.1.5"), gateways.peersOf("gw1", "uid-default-gw"));

    var removed = kit.<StatusReply<Done>>runCommand(r -> new PodTunnel.Remove("c0ffee4200", r));
    assertTrue(removed.reply().isSuccess());
    assertInstanceOf(PodTunnel.Absent.class, removed.state());
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(), gateways.peersOf("gw2", "uid-default-gw"));
    assertTrue(datapath.pod("/var/run/netns/pod1").orElseThrow().wg0().isEmpty());

    var twice = kit.<StatusReply<Done>>runCommand(r -> new PodTunnel.Remove("c0ffee4200", r));
    assertTrue(twice.reply().isSuccess());
    assertTrue(twice.events().isEmpty());
  }

  @Test
  void removeSucceedsEvenWhenAGatewayIsDownAndThePodIsGone() {
    add(Fixtures.pod("c0ffee4200", "/var/run/netns/pod1"));
    gateways.failing("gw2", true);
    datapath.deleteNamespace("/var/run/netns/pod1");
    var removed = kit.<StatusReply<Done>>runCommand(r -> new PodTunnel.Remove("c0ffee4200", r));
    assertTrue(removed.reply().isSuccess());
    assertInstanceOf(PodTunnel.Absent.class, removed.state());
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"));
  }
}
