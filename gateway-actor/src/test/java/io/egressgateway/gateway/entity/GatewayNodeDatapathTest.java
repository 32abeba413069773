package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.infra.Lab;
import io.egressgateway.gateway.infra.LinuxGatewayDatapath;
import io.egressgateway.gateway.infra.ProbeServer;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import io.egressgateway.gateway.model.ObservedConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The GatewayNode entity driving the real datapath in a namespace lab: a pod's first request after its peer
 * was added, a killed wireguard-go, an agent restart on a wiped node, a broken SNAT seen by the probe, drain,
 * and a peer removed behind the gateway's back with {@code wg set}.
 */
@Tag("privileged")
class GatewayNodeDatapathTest {
  static final ActorTestKit KIT = ActorTestKit.create("gateway-node-datapath-test", GatewayNodeTest.CONFIG);
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  Lab lab;
  LinuxGatewayDatapath real;
  Counting dp;
  ProbeServer probe;
  String uid;
  final WgKeys.KeyPair gwKey = WgKeys.generate();
  final WgKeys.KeyPair podKey = WgKeys.generate();

  /** Counts bulk loads and single-peer operations on the way to the real executor. */
  static final class Counting implements GatewayDatapath {
    final GatewayDatapath inner;
    final AtomicInteger bulk = new AtomicInteger();
    final AtomicInteger single = new AtomicInteger();

    Counting(GatewayDatapath inner) {
      this.inner = inner;
    }

    public Map<String, ObservedConfig> observe() {
      return inner.observe();
    }

    public Optional<ObservedConfig> observe(String uid) {
      return inner.observe(uid);
    }

    public Optional<io.egressgateway.gateway.model.ConfigSample> sample(String uid) {
      return inner.sample(uid);
    }

    public void program(ConfigDatapath c, String k) {
      bulk.incrementAndGet();
      inner.program(c, k);
    }

    public void syncPeers(ConfigDatapath c, String k) {
      bulk.incrementAndGet();
      inner.syncPeers(c, k);
    }

    public void addPeer(String u, String k, String ip) {
      single.incrementAndGet();
      inner.addPeer(u, k, ip);
    }

    public void removePeer(String u, String k) {
      single.incrementAndGet();
      inner.removePeer(u, k);
    }

    public void remove(String u) {
      inner.remove(u);
    }

    public java.util.Set<String> frontends() {
      return inner.frontends();
    }

    public void addFrontend(String ip) {
      inner.addFrontend(ip);
    }

    public void removeFrontend(String ip) {
      inner.removeFrontend(ip);
    }
  }

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  @BeforeEach
  void setUp() throws Exception {
    Privileged.require();
    lab = new Lab();
    lab.up();
    lab.startEcho();
    uid = "cfg-" + lab.sfx;
  }

  @AfterEach
  void tearDown() {
    try {
      if (probe != null) {
        probe.close();
      }
      if (real != null) {
        real.remove(uid);
      }
    } finally {
      lab.close();
    }
  }

  int probe(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probe.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  Map<String, String> devicePeers() {
    return real.observe(uid).map(ObservedConfig::peers).orElse(Map.of());
  }

  void await(Runnable check) {
    TestProbe<Object> p = KIT.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(10), () -> {
      check.run();
      return null;
    });
  }

  @Test
  void entityProgramsRepairsRestoresAndReportsHealth() throws Exception {
    String node = lab.gw;
    GoWireGuard wg = new GoWireGuard(lab.cmd);
    real = new LinuxGatewayDatapath(lab.cmd, wg, new GatewayNames(node, "egwt-" + lab.sfx + "-"), lab.gw, 2, "eth0");
    dp = new Counting(real);
    HealthBoard board = new HealthBoard();
    probe = ProbeServer.start("127.0.0.1", 0, board, dp, Duration.ofMillis(1));
    TestConfigSource views = new TestConfigSource();
    GatewaySettings s = new GatewaySettings("wireguard-go", lab.gw, "eth0", "egwt-" + lab.sfx + "-", 2, 8, Duration.ofMillis(20),
        Duration.ofMinutes(5), Duration.ofMillis(200), Duration.ofMinutes(10), Duration.ofSeconds(30), Duration.ofHours(1), 100, Duration.ofSeconds(10), true,
        "127.0.0.1", 0, Duration.ZERO, Duration.ofMillis(1));
    GatewayNode.Deps deps = new GatewayNode.Deps(s, dp, new InMemoryGatewayKeys().put("sgw-x", gwKey.privateKey()),
        views, wg::onDeviceLost, board);
    var es = EventSourcedBehaviorTestKit.<GatewayNodeProtocol.Command, GatewayNode.Event, GatewayNode.State>create(
        KIT.system(), GatewayNode.create(node, deps));

    assertEquals(503, probe("/gw/" + uid), "unknown config");
    views.put(new ConfigView("default/sgc", uid, 1, Lab.ILB_IP, 6000, gwKey.publicKey(), "sgw-x", List.of(),
        "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses(Lab.GW_IP, Lab.SECONDARY_IP)), false));
    await(() -> assertEquals(Boolean.TRUE, board.snapshot().serving().contains(uid)));
    assertEquals(200, probe("/gw/" + uid));

    var added = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, podKey.publicKey(), Lab.POD_IP + "/32", r));
    assertTrue(added.reply().isSuccess());
    assertEquals(Lab.POD_IP + "/32", devicePeers().get(podKey.publicKey()), "peer programmed before the reply");
    lab.attachPod(podKey.privateKey(), gwKey.publicKey(), 6000);
    long t0 = System.nanoTime();
    CommandRunner.Result first = lab.echoFromPod();
    long firstMs = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(first.ok(), first.stderr());
    assertEquals(Lab.SECONDARY_IP, first.stdout().strip());
    System.out.println("first request through a fresh tunnel: " + firstMs + " ms (handshake included)");

    for (int i = 0; i < 2; i++) {
      String other = WgKeys.generate().publicKey();
      String ip = "10.244.7." + i + "/32";
      assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, other, ip, r)).reply().isSuccess());
    }
    Map<String, String> all = devicePeers();
    assertEquals(3, all.size());

    // wireguard-go dies: the entity hears of it and re-creates the device with the same key and all peers
    long pid = wg.pidOf(real.names().device(uid)).orElseThrow();
    lab.cmd.run(List.of("kill", "-9", Long.toString(pid)));
    await(() -> {
      assertTrue(wg.pidOf(real.names().device(uid)).filter(p -> p != pid).isPresent());
      assertEquals(all, devicePeers());
    });
    await(() -> assertTrue(board.snapshot().serving().contains(uid)));
    lab.kickPod(gwKey.publicKey(), 6000);
    CommandRunner.Result afterCrash = lab.echoFromPod();
    assertTrue(afterCrash.ok(), afterCrash.stderr());
    assertEquals(Lab.SECONDARY_IP, afterCrash.stdout().strip());

    // node rebooted (nothing left) and agent restarted: all peers come back in one bulk load
    real.remove(uid);
    int bulk = dp.bulk.get();
    int single = dp.single.get();
    es.restart();
    await(() -> assertEquals(all, devicePeers()));
    assertEquals(bulk + 1, dp.bulk.get(), "one bulk load");
    assertEquals(single, dp.single.get(), "no peer added one by one");
    await(() -> assertTrue(board.snapshot().serving().contains(uid)));
    await(() -> {
      try {
        assertEquals(200, probe("/gw/" + uid));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });

    // a broken datapath turns the probe to 503 before any repair; a resync repairs it
    // (the probe may still answer from its last good check for a moment: wait for the table itself)
    await(() -> assertTrue(lab.cmd.attempt(CommandRunner.inNetns(real.names().netns(uid),
        List.of("nft", "list", "table", "ip", GatewayNames.NFT_TABLE))).ok()));
    lab.cmd.run(CommandRunner.inNetns(real.names().netns(uid), List.of("nft", "delete", "table", "ip", GatewayNames.NFT_TABLE)));
    // (at most the answers already under way still come from the last good check)
    await(() -> {
      try {
        assertEquals(503, probe("/gw/" + uid));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    es.runCommand(new GatewayNode.Resync());
    await(() -> {
      try {
        assertEquals(200, probe("/gw/" + uid));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });

    // the pod leaves
    var removed = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.RemovePeer(uid, podKey.publicKey(), r));
    assertTrue(removed.reply().isSuccess());
    await(() -> assertTrue(!devicePeers().containsKey(podKey.publicKey())));
    assertEquals(2, devicePeers().size());

    // SIGTERM: 503 at once
    probe.drain(Duration.ofSeconds(30));
    assertEquals(503, probe("/gw/" + uid));
  }

  @Test
  void aPeerRemovedWithWgSetBehindTheGatewaysBackIsBackWithinOnePeriod() throws Exception {
    String node = lab.gw;
    GoWireGuard wg = new GoWireGuard(lab.cmd);
    real = new LinuxGatewayDatapath(lab.cmd, wg, new GatewayNames(node, "egwt-" + lab.sfx + "-"), lab.gw, 2, "eth0");
    HealthBoard board = new HealthBoard();
    TestConfigSource views = new TestConfigSource();
    Duration period = Duration.ofSeconds(1);
    GatewaySettings s = new GatewaySettings("wireguard-go", lab.gw, "eth0", "egwt-" + lab.sfx + "-", 2, 8, Duration.ofMillis(20),
        period, Duration.ofMillis(200), Duration.ofMinutes(10), Duration.ofSeconds(30), Duration.ofHours(1), 100,
        Duration.ofSeconds(10), true, "127.0.0.1", 0, Duration.ZERO, Duration.ofMillis(1));
    var es = EventSourcedBehaviorTestKit.<GatewayNodeProtocol.Command, GatewayNode.Event, GatewayNode.State>create(KIT.system(),
        GatewayNode.create(node, new GatewayNode.Deps(s, real, new InMemoryGatewayKeys().put("sgw-x", gwKey.privateKey()), views,
            wg::onDeviceLost, board)));
    views.put(new ConfigView("default/sgc", uid, 1, Lab.ILB_IP, 6000, gwKey.publicKey(), "sgw-x", List.of(),
        "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses(Lab.GW_IP, Lab.SECONDARY_IP)), false));
    await(() -> assertTrue(board.snapshot().serving().contains(uid)));
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, podKey.publicKey(), Lab.POD_IP + "/32", r,
        "w1", 1)).reply().isSuccess());
    String other = WgKeys.generate().publicKey();
    assertTrue(es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, other, "10.244.7.1/32", r, "w1", 2))
        .reply().isSuccess());
    Map<String, String> all = devicePeers();
    assertEquals(2, all.size());
    lab.attachPod(podKey.privateKey(), gwKey.publicKey(), 6000);
    assertTrue(lab.echoFromPod().ok());

    // an operator (or anything else) takes the pod's peer off the device, and puts a stranger on it
    String device = real.names().device(uid);
    String stranger = WgKeys.generate().publicKey();
    lab.cmd.run(List.of("wg", "set", device, "peer", podKey.publicKey(), "remove"));
    lab.cmd.run(List.of("wg", "set", device, "peer", stranger, "allowed-ips", "10.244.9.9/32"));
    // (the repair may come before any look of ours: the repair counter below is what says it happened)
    long removedAt = System.nanoTime();
    await(() -> assertEquals(all, devicePeers()));
    System.out.printf("peer removed with wg set restored after %d ms (resync period %d ms)%n",
        (System.nanoTime() - removedAt) / 1_000_000, period.toMillis());
    var repaired = io.egressgateway.core.metrics.Metrics.get(KIT.system())
        .counter("egress_gateway_peers_repaired_total", "", "config", "kind", "source");
    assertEquals(1, repaired.value(uid, "added", "kernel"), "the pod's peer, put back");
    assertEquals(1, repaired.value(uid, "removed", "kernel"), "the stranger, taken off");

    lab.kickPod(gwKey.publicKey(), 6000);
    CommandRunner.Result again = lab.echoFromPod();
    assertTrue(again.ok(), again.stderr());
    assertEquals(Lab.SECONDARY_IP, again.stdout().strip(), "the pod's traffic flows again");
  }
}
