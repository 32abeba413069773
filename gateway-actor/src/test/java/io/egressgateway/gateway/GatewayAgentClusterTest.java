package io.egressgateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.pattern.StatusReply;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.entity.ConfigSource;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.infra.WorkerPresence;
import io.egressgateway.gateway.model.AwayWorkers;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import io.egressgateway.testing.Eventually;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The agent in a real member (cluster, sharding, replicated view, PostgreSQL journal): peers added through
 * the shard region survive a member restart and come back in one bulk load on a wiped node.
 */
class GatewayAgentClusterTest {
  static final String NODE = "gw-a";
  static final String UID = "33333333-cccc";
  final String priv = WgKeys.generate().privateKey();

  GatewaySettings settings() {
    return new GatewaySettings("wireguard-go", "", "eth0", "egw-", 2, 8, Duration.ofMillis(20), Duration.ofSeconds(30),
        Duration.ofMillis(200), Duration.ofMinutes(10), Duration.ofSeconds(2), Duration.ofHours(1), 2, Duration.ofSeconds(5), true, "127.0.0.1", 0,
        Duration.ofSeconds(1), Duration.ofMillis(1));
  }

  ConfigView view() {
    return new ConfigView("default/sgc", UID, 1, "10.224.0.100", 6000, FakeGatewayDatapath.publicKeyOf(priv), "sgw-c",
        List.of(), "staticEgressGateway", "", Map.of(NODE, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")), true);
  }

  GatewayAgent startAgent(EgressMember m, FakeGatewayDatapath dp) {
    return GatewayAgent.start(m.system(), NODE, settings(), new InMemoryGatewayKeys().put("sgw-c", priv),
        ConfigSource.replicated(m.system()), dp, hook -> { });
  }

  /** The agent on {@code m}, once it has programmed the config the replicated view gives it. */
  GatewayAgent serving(EgressMember m, FakeGatewayDatapath dp) throws Exception {
    GatewayAgent agent = startAgent(m, dp);
    ConfigViews.get(m.system()).publish(view()).toCompletableFuture().get();
    TestMembers.await(Duration.ofSeconds(15), () -> dp.has(UID), "config programmed from the replicated view");
    return agent;
  }

  StatusReply<Done> addPeer(EgressMember m, GatewayAgent agent, String key, String ip) throws Exception {
    return AskPattern.<ShardingEnvelope<GatewayNodeProtocol.Command>, StatusReply<Done>>ask(agent.region(),
        r -> new ShardingEnvelope<>(NODE, new GatewayNodeProtocol.AddPeer(UID, key, ip, r)), Duration.ofSeconds(15),
        m.system().scheduler()).toCompletableFuture().get();
  }

  @Test
  void peersSurviveAMemberRestartAndReturnInOneBulkLoad() throws Exception {
    try (TestMembers members = new TestMembers()) {
      FakeGatewayDatapath dp = new FakeGatewayDatapath();
      EgressMember m = members.startUp(NODE, List.of(Roles.GATEWAY), null);
      GatewayAgent agent = serving(m, dp);

      Map<String, String> peers = new HashMap<>();
      for (int i = 0; i < 5; i++) {
        String k = WgKeys.generate().publicKey();
        peers.put(k, "10.244.3." + i + "/32");
        assertTrue(addPeer(m, agent, k, "10.244.3." + i + "/32").isSuccess());
      }
      assertEquals(peers, dp.peers(UID));
      HttpResponse<String> ok = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.probePort() + "/gw/" + UID)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ok.statusCode(), ok.body());

      // a worker member reaches the gateway's entity through the proxy, as a PodTunnel does
      EgressMember worker = members.startUp("worker-1", List.of(Roles.WORKER), m);
      GatewayNodeProtocol.initProxy(worker.system());
      String podKey = WgKeys.generate().publicKey();
      GatewayNodeProtocol.addPeer(worker.system(), NODE, UID, podKey, "10.244.4.1", Duration.ofSeconds(15))
          .toCompletableFuture().get();
      assertEquals("10.244.4.1/32", dp.peers(UID).get(podKey), "programmed when the worker's ask completes");
      // a config this gateway never gets: held for peer-hold (2 s here) in case its view lags, then refused
      var refused = GatewayNodeProtocol.addPeer(worker.system(), NODE, "55555555-eeee", podKey, "10.244.4.1", Duration.ofSeconds(15))
          .toCompletableFuture();
      var failure = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class, refused::get);
      assertTrue(failure.getCause().getMessage().contains("not served by gateway node " + NODE), failure.getCause().getMessage());
      GatewayNodeProtocol.removePeer(worker.system(), NODE, UID, podKey, Duration.ofSeconds(15)).toCompletableFuture().get();
      TestMembers.await(Duration.ofSeconds(5), () -> !dp.peers(UID).containsKey(podKey), "peer removed");
      members.stop(worker);
      agent.close();
      members.stop(m);

      dp.wipe();
      int bulk = dp.bulkLoads.get();
      int single = dp.singlePeerOps.get();
      EgressMember again = members.startUp(NODE, List.of(Roles.GATEWAY), null);
      GatewayAgent agent2 = startAgent(again, dp);
      ConfigViews.get(again.system()).publish(view()).toCompletableFuture().get();
      TestMembers.await(Duration.ofSeconds(20), () -> peers.equals(dp.peers(UID)), "peers restored after restart");
      assertEquals(bulk + 1, dp.bulkLoads.get(), "restored in one bulk load");
      assertEquals(single, dp.singlePeerOps.get(), "no peer re-added one by one");
      agent2.close();
    }
  }

  HttpResponse<String> probe(GatewayAgent agent) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.probePort() + "/gw/" + UID)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Each gateway node's probe port in this test (the production wiring asks a node's primary IP). */
  final Map<String, Integer> probePorts = new java.util.concurrent.ConcurrentHashMap<>();

  /** The production wiring's restart hold on an explicitly wired agent. */
  GatewayAgent startHeldAgent(EgressMember m, String node, FakeGatewayDatapath dp) {
    ConfigSource views = ConfigSource.replicated(m.system());
    GatewayAgent agent = GatewayAgent.start(m.system(), node, settings(), new InMemoryGatewayKeys().put("sgw-c", priv),
        views, dp, hook -> { });
    AwayWorkers away = new AwayWorkers(Duration.ofSeconds(1), Duration.ofMinutes(10));
    WorkerPresence.start(m.system(), away, System::nanoTime);
    probePorts.put(node, agent.probePort());
    agent.holdAfterRestart(views, away, Duration.ofSeconds(60), (n, a) -> URI.create("http://127.0.0.1:" + probePorts.get(n)));
    return agent;
  }

  /**
   * An upgrade's order: the worker's member goes, then gateway {@code NODE}'s member restarts with its devices made
   * anew (joining through {@code seed}); the new member's agent.
   */
  private GatewayAgent restartWhileWorkerAway(TestMembers members, EgressMember worker, EgressMember gateway, GatewayAgent agent,
      FakeGatewayDatapath dp, EgressMember seed) throws Exception {
    members.stop(worker);
    agent.close();
    members.stop(gateway);
    dp.wipe();
    return startHeldAgent(members.startUp(NODE, List.of(Roles.GATEWAY), seed), NODE, dp);
  }

  /** The config, served by this test's gateway {@code NODE} and by {@code gw-b}. */
  private ConfigView twoGatewayPool() {
    return new ConfigView("default/sgc", UID, 1, "10.224.0.100", 6000, FakeGatewayDatapath.publicKeyOf(priv),
        "sgw-c", List.of(), "staticEgressGateway", "", Map.of(
            NODE, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
            "gw-b", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), true);
  }

  /**
   * The upgrade's gap: a gateway restarted (its devices made anew, no session with any pod) while the worker
   * member of its peers' node is away keeps its journaled peers and stays out of the load balancer while the
   * pool's other gateway serves; it comes in once that worker is back (whose watchdog moves the pods' tunnels),
   * and that worker's list still removes what it no longer has.
   */
  @Test
  void aRestartedGatewayKeepsItsPeersAndStaysOutUntilTheirWorkerIsBack() throws Exception {
    try (TestMembers members = new TestMembers()) {
      ConfigView pool = twoGatewayPool();
      FakeGatewayDatapath dpA = new FakeGatewayDatapath();
      FakeGatewayDatapath dpB = new FakeGatewayDatapath();
      EgressMember b = members.startUp("gw-b", List.of(Roles.GATEWAY), null);
      GatewayAgent agentB = startHeldAgent(b, "gw-b", dpB);
      EgressMember a = members.startUp(NODE, List.of(Roles.GATEWAY), b);
      GatewayAgent agentA = startHeldAgent(a, NODE, dpA);
      ConfigViews.get(b.system()).publish(pool).toCompletableFuture().get();
      TestMembers.await(Duration.ofSeconds(15), () -> dpA.has(UID) && dpB.has(UID), "config programmed on both gateways");

      EgressMember worker = members.startUp("worker-1", List.of(Roles.WORKER), b);
      GatewayNodeProtocol.initProxy(worker.system());
      String podKey = WgKeys.generate().publicKey();
      String goneKey = WgKeys.generate().publicKey();
      GatewayNodeProtocol.addPeer(worker.system(), NODE, "worker-1", 1, UID, podKey, "10.244.4.1", Duration.ofSeconds(15))
          .toCompletableFuture().get();
      GatewayNodeProtocol.addPeer(worker.system(), NODE, "worker-1", 2, UID, goneKey, "10.244.4.2", Duration.ofSeconds(15))
          .toCompletableFuture().get();
      Map<String, String> both = Map.of(podKey, "10.244.4.1/32", goneKey, "10.244.4.2/32");
      assertEquals(both, dpA.peers(UID));
      TestMembers.await(Duration.ofSeconds(10), () -> call(() -> probe(agentA)).statusCode() == 200, "gw-a serving");

      // an upgrade: worker-1's member goes, then gw-a's restarts with its devices made anew
      GatewayAgent agentA2 = restartWhileWorkerAway(members, worker, a, agentA, dpA, b);
      TestMembers.await(Duration.ofSeconds(20), () -> both.equals(dpA.peers(UID)),
          "the away worker's peers restored from the journal");
      HttpResponse<String> held = Eventually.await(Duration.ofSeconds(10), () -> call(() -> probe(agentA2)),
          r -> r.body().contains("held"), "a held answer");
      assertEquals(503, held.statusCode(), held.body());
      assertTrue(held.body().contains("[worker-1]"), held.body());
      Eventually.holds(Duration.ofMillis(1500), () -> call(() -> probe(agentA2)).statusCode() == 503,
          "out while worker-1 is away");
      assertEquals(200, probe(agentB).statusCode(), "the pool's other gateway serves meanwhile");

      EgressMember worker2 = members.startUp("worker-1", List.of(Roles.WORKER), b);
      TestMembers.await(Duration.ofSeconds(15), () -> call(() -> probe(agentA2)).statusCode() == 200, "gw-a in once worker-1 is back");
      assertEquals(both, dpA.peers(UID), "its peers kept throughout");
      // the worker's list (its pod of 10.244.4.2 was deleted while it was away): the stale peer goes, as before
      GatewayNodeProtocol.initProxy(worker2.system());
      GatewayNodeProtocol.tellPeersOfNode(worker2.system(), NODE,
          new GatewayNodeProtocol.PeersOfNode("worker-1", UID, 10, Map.of(podKey, "10.244.4.1/32")));
      TestMembers.await(Duration.ofSeconds(10), () -> Map.of(podKey, "10.244.4.1/32").equals(dpA.peers(UID)),
          "the stale peer removed by the worker's list");
      members.stop(worker2);
      // served now: a worker away later does not take it out (that side is the drain's wait)
      Eventually.holds(Duration.ofMillis(1500), () -> call(() -> probe(agentA2)).statusCode() == 200,
          "served while worker-1 is away again");
      agentA2.close();
      agentB.close();
    }
  }

  /** Held after its restart while worker-1 is away, then the pool's other gateway starts draining: let in. */
  @Test
  void aHeldGatewayIsLetInOnceThePoolsOtherGatewayNoLongerServes() throws Exception {
    try (TestMembers members = new TestMembers()) {
      ConfigView pool = twoGatewayPool();
      FakeGatewayDatapath dpA = new FakeGatewayDatapath();
      EgressMember b = members.startUp("gw-b", List.of(Roles.GATEWAY), null);
      GatewayAgent agentB = startHeldAgent(b, "gw-b", new FakeGatewayDatapath());
      EgressMember a = members.startUp(NODE, List.of(Roles.GATEWAY), b);
      GatewayAgent agentA = startHeldAgent(a, NODE, dpA);
      ConfigViews.get(b.system()).publish(pool).toCompletableFuture().get();
      EgressMember worker = members.startUp("worker-1", List.of(Roles.WORKER), b);
      GatewayNodeProtocol.initProxy(worker.system());
      GatewayNodeProtocol.addPeer(worker.system(), NODE, "worker-1", 1, UID, WgKeys.generate().publicKey(), "10.244.4.1",
          Duration.ofSeconds(15)).toCompletableFuture().get();
      GatewayAgent agentA2 = restartWhileWorkerAway(members, worker, a, agentA, dpA, b);
      Eventually.await(Duration.ofSeconds(20), () -> call(() -> probe(agentA2)), r -> r.body().contains("held"), "a held answer");
      agentB.drain();
      TestMembers.await(Duration.ofSeconds(10), () -> call(() -> probe(agentA2)).statusCode() == 200,
          "gw-a in while worker-1 is still away: gw-b no longer serves");
      agentA2.close();
      agentB.close();
    }
  }

  static <T> T call(java.util.concurrent.Callable<T> c) {
    try {
      return c.call();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A stopping gateway's handover, over remoting: the worker member of the node whose pod holds a session with
   * the gateway is told that pod's key, and only that one (a pod whose last handshake here is older than a
   * session lives, or never happened, has its session with another gateway).
   */
  @Test
  void aStoppingGatewayNamesToTheWorkerThePodsWithASessionHere() throws Exception {
    try (TestMembers members = new TestMembers()) {
      FakeGatewayDatapath dp = new FakeGatewayDatapath();
      EgressMember m = members.startUp(NODE, List.of(Roles.GATEWAY), null);
      GatewayAgent agent = serving(m, dp);

      EgressMember worker = members.startUp("worker-1", List.of(Roles.WORKER), m);
      GatewayNodeProtocol.initProxy(worker.system());
      java.util.concurrent.BlockingQueue<io.egressgateway.core.gateway.Handover.Leaving> told =
          new java.util.concurrent.LinkedBlockingQueue<>();
      worker.system().systemActorOf(akka.actor.typed.javadsl.Behaviors.<io.egressgateway.core.gateway.Handover.Leaving>setup(ctx -> {
        ctx.getSystem().receptionist().tell(akka.actor.typed.receptionist.Receptionist.register(
            io.egressgateway.core.gateway.Handover.SERVICE, ctx.getSelf()));
        return akka.actor.typed.javadsl.Behaviors.receiveMessage(msg -> {
          told.add(msg);
          return akka.actor.typed.javadsl.Behaviors.same();
        });
      }), "handover-receiver", akka.actor.typed.Props.empty());

      String busy = WgKeys.generate().publicKey();
      String stale = WgKeys.generate().publicKey();
      String elsewhere = WgKeys.generate().publicKey();
      int i = 1;
      for (String k : List.of(busy, stale, elsewhere)) {
        GatewayNodeProtocol.addPeer(worker.system(), NODE, "worker-1", i, UID, k, "10.244.4." + i++, Duration.ofSeconds(15))
            .toCompletableFuture().get();
      }
      long now = java.time.Instant.now().getEpochSecond();
      dp.ns(UID).counters.put(busy, new long[] {now - 3, 5000, 6000});
      dp.ns(UID).counters.put(stale, new long[] {now - 200, 5000, 6000});
      // the gateway must see the worker's registration before it looks (the receptionist is replicated)
      TestMembers.await(Duration.ofSeconds(15), () -> {
        try {
          return !AskPattern.<akka.actor.typed.receptionist.Receptionist.Command, akka.actor.typed.receptionist.Receptionist.Listing>ask(
              m.system().receptionist(), r -> akka.actor.typed.receptionist.Receptionist.find(io.egressgateway.core.gateway.Handover.SERVICE, r),
              Duration.ofSeconds(3), m.system().scheduler()).toCompletableFuture().get()
              .getServiceInstances(io.egressgateway.core.gateway.Handover.SERVICE).isEmpty();
        } catch (Exception e) {
          return false;
        }
      }, "the worker's handover receiver listed on the gateway");

      io.egressgateway.gateway.infra.SessionHandover handover = new io.egressgateway.gateway.infra.SessionHandover(m.system(), NODE,
          agent.region(), dp, Runnable::run, Duration.ofMillis(200));
      assertEquals(1, handover.run().get(), "one pod named");
      var leaving = told.poll(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(new io.egressgateway.core.gateway.Handover.Leaving(NODE, List.of(busy)), leaving);
      assertEquals(null, told.poll(500, java.util.concurrent.TimeUnit.MILLISECONDS), "told once");
      members.stop(worker);
      agent.close();
    }
  }
}
