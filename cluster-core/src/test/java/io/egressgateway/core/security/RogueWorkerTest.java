package io.egressgateway.core.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.core.view.PolicyViews;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Five members over mutual TLS, each with the certificate of its role: a controller, a gateway, the worker of
 * node w1 and a rogue holding a worker certificate (of node "rogue"), plus the worker of node w3 holding a
 * worker certificate that names no node (as the chart issues them), which proves its node with its pod's
 * ServiceAccount token (the gateway requires node proofs). The rogues try everything a worker may not do;
 * each attempt is refused, logged and counted, and nothing changes on the other members or in the journal.
 * The gateway hosts a stand-in for {@code GatewayNode} that journals every peer request it accepts.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RogueWorkerTest {
  private static final String W1_KEY = "uPAXGtc9gaKW7pdJMxu2WbPEcLVdHSc31XPkmaLNc3w=";
  private static final String ROGUE_KEY = "cm9ndWUtcm9ndWUtcm9ndWUtcm9ndWUtcm9ndWUtcm8=";
  private static final String W3_KEY = "dzMtdzMtdzMtdzMtdzMtdzMtdzMtdzMtdzMtdzMtdzM=";
  private static final Duration SHORT = Duration.ofSeconds(3);

  /** The gateway's stand-in: journals each peer request it is given, in order. */
  static final class PeerBook extends EventSourcedBehavior<GatewayNodeProtocol.Command, PeerBook.Recorded, List<String>> {
    record Recorded(String what) implements CborSerializable {}

    /** A command of the gateway's own (only controllers and gateways may send such). */
    record Forget() implements GatewayNodeProtocol.Command {}

    record Read(ActorRef<List<String>> replyTo) implements GatewayNodeProtocol.Command {}

    PeerBook(String id) {
      super(PersistenceId.of("PeerBook", id));
    }

    @Override
    public List<String> emptyState() {
      return List.of();
    }

    @Override
    public CommandHandler<GatewayNodeProtocol.Command, Recorded, List<String>> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(GatewayNodeProtocol.AddPeer.class, c -> Effect()
              .persist(new Recorded("add " + c.publicKey() + " " + c.allowedIp() + " for " + c.node()))
              .thenRun(s -> c.replyTo().tell(StatusReply.ack())))
          .onCommand(GatewayNodeProtocol.RemovePeer.class, c -> Effect()
              .persist(new Recorded("remove " + c.publicKey() + " for " + c.node()))
              .thenRun(s -> c.replyTo().tell(StatusReply.ack())))
          .onCommand(GatewayNodeProtocol.PeersOfNode.class, c -> Effect().persist(new Recorded("digest of " + c.node())))
          .onCommand(Forget.class, c -> Effect().persist(new Recorded("forget")))
          .onCommand(Read.class, (s, c) -> Effect().none().thenRun(x -> c.replyTo().tell(s)))
          .build();
    }

    @Override
    public EventHandler<List<String>, Recorded> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> {
        List<String> next = new ArrayList<>(s);
        next.add(e.what());
        return List.copyOf(next);
      });
    }
  }

  static TestMembers members;
  static EgressMember ctl;
  static EgressMember gw1;
  static EgressMember w1;
  static EgressMember rogue;
  static EgressMember w3;
  static TestTokens apiServer;

  @BeforeAll
  static void start() {
    members = new TestMembers();
    try {
      apiServer = new TestTokens("sa-key-1", false);
      java.nio.file.Path token = java.nio.file.Files.createTempFile("node-proof", ".jwt");
      token.toFile().deleteOnExit();
      java.nio.file.Files.writeString(token, apiServer.workerToken("w3"));
      ctl = member("ctl", Roles.CONTROLLER, "controller", null);
      gw1 = member("gw1", Roles.GATEWAY, TestCertificates.memberConfig("gateway")
          .withValue("egress.security.node-proof.required", com.typesafe.config.ConfigValueFactory.fromAnyRef(true))
          .withValue("egress.security.node-proof.audience", com.typesafe.config.ConfigValueFactory.fromAnyRef(TestTokens.AUDIENCE))
          .withValue("egress.security.node-proof.subjects", com.typesafe.config.ConfigValueFactory.fromIterable(List.of(TestTokens.WORKER_SA))),
          ctl);
      Security.get(gw1.system()).nodeProofs().useKeys(apiServer.jwksKeys());
      w3 = member("w3", Roles.WORKER, TestCertificates.memberConfig("worker")
          .withValue("egress.security.node-proof.token-file", com.typesafe.config.ConfigValueFactory.fromAnyRef(token.toString())), ctl);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    NodePinned.init(gw1.system(), GatewayNodeProtocol.ENTITY_KEY, Roles.GATEWAY, ctx -> new PeerBook(ctx.getEntityId()));
    Security.get(gw1.system()).podCidrs().put("w1", List.of("10.244.1.0/24"));
    Security.get(gw1.system()).podCidrs().put("rogue", List.of("10.244.9.0/24"));
    Security.get(gw1.system()).podCidrs().put("w3", List.of("10.244.3.0/24"));
    w1 = member("w1", Roles.WORKER, "worker-w1", ctl);
    rogue = member("rogue", Roles.WORKER, "rogue", ctl);
    for (EgressMember m : List.of(ctl, w1, rogue, w3)) {
      GatewayNodeProtocol.initProxy(m.system());
    }
    TestMembers.awaitUp(ctl, 5);
  }

  private static EgressMember member(String node, String role, String identity, EgressMember seed) {
    return member(node, role, TestCertificates.memberConfig(identity), seed);
  }

  private static EgressMember member(String node, String role, com.typesafe.config.Config config, EgressMember seed) {
    EgressMember m = members.start(node, List.of(role), seed, config);
    m.join();
    return m;
  }

  @AfterAll
  static void stop() {
    members.close();
  }

  @Test
  @Order(1)
  void aRogueWorkerIsRefusedEverythingAndChangesNothing() throws Exception {
    // what the legitimate members do works
    ConfigView v1 = view(1);
    assertTrue(ConfigViews.get(ctl.system()).publish(v1).toCompletableFuture().get(5, TimeUnit.SECONDS));
    awaitEverywhere(v1);
    GatewayNodeProtocol.addPeer(w1.system(), "gw1", "w1", 1, "uid-1", W1_KEY, "10.244.1.10", Duration.ofSeconds(20))
        .toCompletableFuture().get(25, TimeUnit.SECONDS);
    SealedValue signedV1 = entry(rogue, "ns1/sgc");
    ConfigView v2 = view(2);
    assertTrue(ConfigViews.get(ctl.system()).publish(v2).toCompletableFuture().get(5, TimeUnit.SECONDS));
    awaitEverywhere(v2);
    List<String> book = book();
    assertEquals(List.of("add " + W1_KEY + " 10.244.1.10/32 for w1"), book);
    long journalRows = journalRows();

    // 1. peers for a pod of another node, claiming to be that node
    refusedAsk(GatewayNodeProtocol.addPeer(rogue.system(), "gw1", "w1", 2, "uid-1", ROGUE_KEY, "10.244.1.66", SHORT));
    // 2. peers for an address outside its own node's pod CIDR, under its own name
    refusedAsk(GatewayNodeProtocol.addPeer(rogue.system(), "gw1", "rogue", 3, "uid-1", ROGUE_KEY, "10.244.1.67", SHORT));
    // 3. removing another node's peer
    refusedAsk(GatewayNodeProtocol.removePeer(rogue.system(), "gw1", "w1", "uid-1", W1_KEY, SHORT));
    // 4. a request that names no node at all (as the previous release sent them)
    refusedAsk(GatewayNodeProtocol.removePeer(rogue.system(), "gw1", "uid-1", W1_KEY, SHORT));
    // 5. an empty list of another node's tunnels (a gateway would drop all of that node's peers)
    GatewayNodeProtocol.tellPeersOfNode(rogue.system(), "gw1", new GatewayNodeProtocol.PeersOfNode("w1", "uid-1", 9, Map.of()));
    // 6. one of the gateway's own commands
    ClusterSharding.get(rogue.system()).entityRefFor(GatewayNodeProtocol.ENTITY_KEY, "gw1").tell(new PeerBook.Forget());

    Metrics.Counter gwRefused = refusals(gw1);
    TestMembers.await(Duration.ofSeconds(15), () -> gwRefused.value("worker", "AddPeer") >= 2
            && gwRefused.value("worker", "RemovePeer") >= 2 && gwRefused.value("worker", "PeersOfNode") >= 1
            && gwRefused.value("worker", "Forget") >= 1,
        "the gateway refused and counted each request: " + Metrics.get(gw1.system()).scrape());

    // 7. the configuration view: a new entry signed with the worker key, a deletion, a replay of an old
    // controller entry, and a controller entry copied under another key
    ConfigView evil = new ConfigView("ns1/sgc", "uid-1", 3, "10.66.66.66", 6666, "evil=", "sgw-evil",
        List.of("0.0.0.0/0\nnetns exec x sh"), null, "", Map.of(), true);
    ConfigViews.get(rogue.system()).publish(evil).toCompletableFuture().get(5, TimeUnit.SECONDS);
    ConfigViews.get(rogue.system()).publish(new ConfigView("ns1/new", "uid-9", 1, "10.66.66.66", 6666, "evil=",
        "sgw-evil", List.of(), null, "", Map.of(), true)).toCompletableFuture().get(5, TimeUnit.SECONDS);
    Metrics.Counter w1Refused = refusals(w1);
    TestMembers.await(Duration.ofSeconds(20), () -> w1Refused.value("worker", "ConfigView") >= 2,
        "the worker key's entries reached w1 and were refused");
    rawUpdate(rogue, map -> map.remove(self(rogue), "ns1/sgc"));
    rawUpdate(rogue, map -> map.put(self(rogue), "ns1/sgc", signedV1));
    rawUpdate(rogue, map -> map.put(self(rogue), "ns1/copied", signedV1));
    // signed by the controller, so counted under its role: the replay, and the copy (whose signature names
    // another key)
    TestMembers.await(Duration.ofSeconds(20), () -> w1Refused.value("controller", "ConfigView") >= 2,
        "the replayed and the copied controller entries reached w1 and were refused");

    // nothing changed: the view everywhere, the gateway's peers, the journal
    for (EgressMember m : List.of(ctl, gw1, w1)) {
      TestMembers.await(Duration.ofSeconds(20), () -> refusals(m).value("worker", "ConfigView") >= 1
          && refusals(m).value("controller", "ConfigView") >= 2, "refused and counted on " + m.settings().nodeName());
      assertEquals(Map.of("ns1/sgc", v2), ConfigViews.get(m.system()).current(), "view on " + m.settings().nodeName());
    }
    assertEquals(book, book());
    assertEquals(journalRows, journalRows());
    // the Prometheus client writes labels in name order
    String scrape = Metrics.get(gw1.system()).scrape();
    assertTrue(scrape.lines().anyMatch(l -> l.startsWith("egress_refused_messages_total{") && l.contains("kind=\"AddPeer\"")
        && l.contains("role=\"worker\"")), scrape);

    // and the legitimate worker still gets what it may ask for
    GatewayNodeProtocol.removePeer(w1.system(), "gw1", "w1", "uid-1", W1_KEY, Duration.ofSeconds(10))
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    assertEquals(List.of(book.get(0), "remove " + W1_KEY + " for w1"), book());
  }

  @Test
  @Order(2)
  void aRogueWorkerCannotWriteThePolicyView() throws Exception {
    var selector = new io.egressgateway.core.model.LabelSelection(Map.of("app", "batch"), List.of());
    var policy = new io.egressgateway.core.model.GatewayPolicy("batch", "uid-p", 1000, List.of("data"), selector, "egress/gw");
    assertTrue(PolicyViews.get(ctl.system()).publish(policy).toCompletableFuture().get(5, TimeUnit.SECONDS));
    for (EgressMember m : List.of(ctl, gw1, w1)) {
      TestMembers.await(Duration.ofSeconds(20), () -> policy.equals(PolicyViews.get(m.system()).current().get("batch")),
          "policy replicated to " + m.settings().nodeName());
    }
    // every pod of every namespace through the rogue's choice, and the legitimate policy removed
    var everything = new io.egressgateway.core.model.GatewayPolicy("batch", "uid-p", 0, List.of("data", "kube-system"),
        new io.egressgateway.core.model.LabelSelection(Map.of(), List.of()), "evil/gw");
    PolicyViews.get(rogue.system()).publish(everything).toCompletableFuture().get(5, TimeUnit.SECONDS);
    PolicyViews.get(rogue.system()).remove("batch").toCompletableFuture().get(5, TimeUnit.SECONDS);
    for (EgressMember m : List.of(ctl, gw1, w1)) {
      TestMembers.await(Duration.ofSeconds(20), () -> refusals(m).value("worker", "GatewayPolicy") >= 1,
          "the rogue's policy entries refused on " + m.settings().nodeName());
      assertEquals(Map.of("batch", policy), PolicyViews.get(m.system()).current(), "policy view on " + m.settings().nodeName());
    }
  }

  @Test
  @Order(3)
  void aWorkerWhoseCertificateNamesNoNodeMayAskOnlyForThePodsOfTheNodeItsTokenProves() throws Exception {
    List<String> before = book();
    // what w3 may do: its own pod, under its own node, with its token
    GatewayNodeProtocol.addPeer(w3.system(), "gw1", "w3", 1, "uid-1", W3_KEY, "10.244.3.10", Duration.ofSeconds(20))
        .toCompletableFuture().get(25, TimeUnit.SECONDS);
    List<String> accepted = new ArrayList<>(before);
    accepted.add("add " + W3_KEY + " 10.244.3.10/32 for w3");
    assertEquals(accepted, book());
    long rows = journalRows();
    Metrics.Counter gwRefused = refusals(gw1);
    double adds = gwRefused.value("worker", "AddPeer");
    double removes = gwRefused.value("worker", "RemovePeer");
    double digests = gwRefused.value("worker", "PeersOfNode");

    // 1. a pod of node w1, claiming to be w1: its token proves w3
    refusedAsk(GatewayNodeProtocol.addPeer(w3.system(), "gw1", "w1", 2, "uid-1", ROGUE_KEY, "10.244.1.66", SHORT));
    // 2. under its own node, a pod outside that node's pod CIDR
    refusedAsk(GatewayNodeProtocol.addPeer(w3.system(), "gw1", "w3", 3, "uid-1", ROGUE_KEY, "10.244.1.67", SHORT));
    // 3. w1's peer removed with no proof at all
    refusedAsk(ask(w3, r -> new GatewayNodeProtocol.RemovePeer("uid-1", W1_KEY, r, "w1", null)));
    // 4. a token for w1 signed by a key the API server never had
    NodeProof forged = new NodeProof(new TestTokens(apiServer.kid, false).workerToken("w1"));
    refusedAsk(ask(w3, r -> new GatewayNodeProtocol.AddPeer("uid-1", ROGUE_KEY, "10.244.1.68/32", r, "w1", 4, forged)));
    // 5. a genuine token, but of another audience (one meant for the API server, say)
    String apiToken = apiServer.token(TestTokens.WORKER_SA, "https://kubernetes.default.svc", "w1", System.currentTimeMillis() / 1000 + 600);
    refusedAsk(ask(w3, r -> new GatewayNodeProtocol.AddPeer("uid-1", ROGUE_KEY, "10.244.1.69/32", r, "w1", 5, new NodeProof(apiToken))));
    // 6. an empty list of w1's tunnels (the gateway would drop all of w1's peers), with w3's genuine token
    GatewayNodeProtocol.tellPeersOfNode(w3.system(), "gw1", new GatewayNodeProtocol.PeersOfNode("w1", "uid-1", 10, Map.of()));

    TestMembers.await(Duration.ofSeconds(15), () -> gwRefused.value("worker", "AddPeer") >= adds + 4
            && gwRefused.value("worker", "RemovePeer") >= removes + 1 && gwRefused.value("worker", "PeersOfNode") >= digests + 1,
        "the gateway refused and counted each request: " + Metrics.get(gw1.system()).scrape());
    assertEquals(accepted, book(), "no peer request of the rogue reached the gateway's entity");
    assertEquals(rows, journalRows(), "nothing journaled");
  }

  private static java.util.concurrent.CompletionStage<Done> ask(EgressMember from,
      java.util.function.Function<ActorRef<StatusReply<Done>>, GatewayNodeProtocol.Command> request) {
    return ClusterSharding.get(from.system()).entityRefFor(GatewayNodeProtocol.ENTITY_KEY, "gw1")
        .<Done>askWithStatus(r -> request.apply(r), SHORT);
  }

  /**
   * Membership bound to certificates: a member holding the rogue's worker certificate joins once as a
   * controller, once as a worker of another node (w1). The controller asks each to prove its roles; both
   * proofs are refused on arrival (the certificate names neither the role nor the node), so both are downed,
   * counted; every member whose certificate holds its roles stays up.
   */
  @Test
  @Order(4)
  void aMemberWhoseCertificateDoesNotHoldTheRolesItJoinedWithIsDowned() {
    Metrics.Counter downed = Metrics.get(ctl.system()).counter("egress_refused_members_total", "", "role");
    double controllersBefore = downed.value("controller");
    double workersBefore = downed.value("worker");
    EgressMember asController = members.start("impostor", List.of(Roles.CONTROLLER), ctl, TestCertificates.memberConfig("rogue"));
    asController.join();
    EgressMember asOtherNode = members.start("w1", List.of(Roles.WORKER), ctl, TestCertificates.memberConfig("rogue"));
    asOtherNode.join();
    TestMembers.await(Duration.ofSeconds(60), () -> downed.value("controller") >= controllersBefore + 1
        && downed.value("worker") >= workersBefore + 1, "both impostors downed, each counted under the role it claimed");
    for (EgressMember impostor : List.of(asController, asOtherNode)) {
      akka.actor.Address address = akka.cluster.typed.Cluster.get(impostor.system()).selfMember().address();
      TestMembers.await(Duration.ofSeconds(30), () -> {
        for (akka.cluster.Member m : akka.cluster.typed.Cluster.get(ctl.system()).state().getMembers()) {
          if (m.address().equals(address)) {
            return m.status() == akka.cluster.MemberStatus.down() || m.status() == akka.cluster.MemberStatus.removed();
          }
        }
        return true; // removed
      }, "the impostor on " + impostor.settings().nodeName() + " is down in the controller's view");
    }
    assertTrue(refusals(ctl).value("worker", "Proof") >= 2, "both proofs refused on arrival");
    var up = new java.util.HashSet<akka.actor.Address>();
    akka.cluster.typed.Cluster.get(ctl.system()).state().getMembers().forEach(m -> {
      if (m.status() == akka.cluster.MemberStatus.up()) {
        up.add(m.address());
      }
    });
    for (EgressMember m : List.of(ctl, gw1, w1, rogue, w3)) {
      assertTrue(up.contains(akka.cluster.typed.Cluster.get(m.system()).selfMember().address()),
          m.settings().nodeName() + " proved its roles and stays up");
    }
  }

  /**
   * Two controllers writing the same value at about the same time: the map's merge can keep the one signed first.
   * A reader that already took the newer signature treats the older one as superseded, not as a replay: nothing
   * refused, the view unchanged (a different value signed earlier stays a replay, see the first test).
   */
  @Test
  @Order(5)
  void theSameValueSignedEarlierByAControllerIsSupersededNotRefused() throws Exception {
    ConfigView v3 = view(3);
    assertTrue(ConfigViews.get(ctl.system()).publish(v3).toCompletableFuture().get(5, TimeUnit.SECONDS));
    awaitEverywhere(v3);
    SealedValue earlier = entry(w1, "ns1/sgc");
    Thread.sleep(20); // a later signing time
    assertTrue(ConfigViews.get(ctl.system()).publish(v3).toCompletableFuture().get(5, TimeUnit.SECONDS));
    TestMembers.await(Duration.ofSeconds(20), () -> !earlier.equals(entry(w1, "ns1/sgc")), "the newer signature reached w1");
    double refusedBefore = refusals(w1).value("controller", "ConfigView");

    rawUpdate(ctl, map -> map.put(self(ctl), "ns1/sgc", earlier));
    TestMembers.await(Duration.ofSeconds(20), () -> earlier.equals(entry(w1, "ns1/sgc")), "the earlier signature reached w1");
    io.egressgateway.testing.Eventually.holds(Duration.ofSeconds(2),
        () -> refusals(w1).value("controller", "ConfigView") == refusedBefore, "nothing refused on w1");
    assertEquals(Map.of("ns1/sgc", v3), ConfigViews.get(w1.system()).current());
  }

  private static ConfigView view(long generation) {
    return new ConfigView("ns1/sgc", "uid-1", generation, "10.0.0.100", 6000, "pubkey=", "sgw-uid-1",
        List.of("10.1.0.0/16"), null, "", Map.of("gw1", new ConfigView.GatewayAddresses("10.0.0.5", "10.0.0.15")), true);
  }

  private static void awaitEverywhere(ConfigView v) {
    for (EgressMember m : List.of(ctl, gw1, w1, rogue)) {
      TestMembers.await(Duration.ofSeconds(20), () -> v.equals(ConfigViews.get(m.system()).current().get(v.key())),
          "view generation " + v.generation() + " on " + m.settings().nodeName());
    }
  }

  private static void refusedAsk(java.util.concurrent.CompletionStage<Done> reply) {
    assertThrows(ExecutionException.class, () -> reply.toCompletableFuture().get(10, TimeUnit.SECONDS));
  }

  private static Metrics.Counter refusals(EgressMember m) {
    return Metrics.get(m.system()).counter("egress_refused_messages_total", "", "role", "kind");
  }

  private static List<String> book() throws Exception {
    return ClusterSharding.get(gw1.system()).entityRefFor(GatewayNodeProtocol.ENTITY_KEY, "gw1")
        .<List<String>>ask(PeerBook.Read::new, Duration.ofSeconds(10))
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  private static long journalRows() throws Exception {
    var s = members.journal().settings();
    try (Connection c = DriverManager.getConnection(s.jdbcUrl(), "postgres", s.password());
        ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM event_journal")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static SelfUniqueAddress self(EgressMember m) {
    return DistributedData.get(m.system()).selfUniqueAddress();
  }

  private static SealedValue entry(EgressMember m, String key) {
    TestProbe<Replicator.GetResponse<LWWMap<String, SealedValue>>> probe = TestProbe.create(m.system());
    DistributedData.get(m.system()).replicator().tell(new Replicator.Get<>(ConfigViews.KEY, Replicator.readLocal(), probe.getRef()));
    var got = (Replicator.GetSuccess<LWWMap<String, SealedValue>>) probe.receiveMessage(Duration.ofSeconds(5));
    return got.get(ConfigViews.KEY).getEntries().get(key);
  }

  private static void rawUpdate(EgressMember m,
      java.util.function.Function<LWWMap<String, SealedValue>, LWWMap<String, SealedValue>> modify) {
    TestProbe<Replicator.UpdateResponse<LWWMap<String, SealedValue>>> probe = TestProbe.create(m.system());
    DistributedData.get(m.system()).replicator().tell(
        new Replicator.Update<>(ConfigViews.KEY, LWWMap.empty(), Replicator.writeLocal(), probe.getRef(), modify));
    assertTrue(probe.receiveMessage(Duration.ofSeconds(5)) instanceof Replicator.UpdateSuccess);
  }
}
