package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.metrics.Metrics;
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
import io.egressgateway.gateway.model.GatewayNames;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The datapath metrics of a GatewayNode on the real datapath in a namespace lab: a pod sends traffic through
 * its tunnel, and the series of its config and node move (peers, handshake age, bytes, SNAT port use); a
 * TCP segment the gateway's conntrack cannot place is dropped and counted.
 */
@Tag("privileged")
class GatewayDatapathMetricsTest {
  static final String CONFIG = "team-a/sgc";

  Lab lab;
  LinuxGatewayDatapath real;
  String uid;
  Process stream;
  final WgKeys.KeyPair gwKey = WgKeys.generate();
  final WgKeys.KeyPair podKey = WgKeys.generate();
  /** One kit per test, stopped before the namespaces are removed: the entity must not make them again. */
  final ActorTestKit kit = ActorTestKit.create("gateway-datapath-metrics-test", GatewayNodeTest.CONFIG);
  final Metrics metrics = Metrics.get(kit.system());

  @BeforeEach
  void setUp() throws Exception {
    Privileged.require("conntrack");
    lab = new Lab();
    lab.up();
    lab.startEcho();
    uid = "cfg-" + lab.sfx;
  }

  @AfterEach
  void tearDown() {
    try {
      kit.shutdownTestKit();
      if (stream != null) {
        stream.descendants().forEach(ProcessHandle::destroy);
        stream.destroy();
      }
      if (real != null) {
        real.remove(uid);
      }
    } finally {
      lab.close();
    }
  }

  void await(Runnable check) {
    TestProbe<Object> p = kit.createTestProbe();
    p.awaitAssert(Duration.ofSeconds(15), () -> {
      check.run();
      return null;
    });
  }

  double gauge(String name, String... labelNames) {
    return metrics.gauge(name, "", labelNames).value(labelNames.length == 3
        ? new String[] {CONFIG, lab.gw, Lab.SECONDARY_IP} : new String[] {CONFIG, lab.gw});
  }

  double counter(String name) {
    return metrics.counter(name, "", "config", "node").value(CONFIG, lab.gw);
  }

  long handshakesObserved() {
    return metrics.histogram("egress_gateway_handshake_age_seconds", "", DatapathMetrics.AGE_BUCKETS, "config", "node")
        .count(CONFIG, lab.gw);
  }

  @Test
  void trafficMovesTheSeriesOfItsConfigAndNode() throws Exception {
    String node = lab.gw;
    GoWireGuard wg = new GoWireGuard(lab.cmd);
    real = new LinuxGatewayDatapath(lab.cmd, wg, new GatewayNames(node, "egwm-" + lab.sfx + "-"), lab.gw, 2, "eth0");
    TestConfigSource views = new TestConfigSource();
    GatewaySettings s = new GatewaySettings("wireguard-go", lab.gw, "eth0", "egwm-" + lab.sfx + "-", 2, 8, Duration.ofMillis(20),
        Duration.ofMinutes(5), Duration.ofMillis(200), Duration.ofMinutes(10), Duration.ofSeconds(30), Duration.ofHours(1), 100,
        Duration.ofSeconds(10), false, "127.0.0.1", 0, Duration.ZERO, Duration.ofMillis(1)).withMetricsInterval(Duration.ofMillis(200));
    HealthBoard board = new HealthBoard();
    GatewayNode.Deps deps = new GatewayNode.Deps(s, real, new InMemoryGatewayKeys().put("sgw-x", gwKey.privateKey()),
        views, wg::onDeviceLost, board);
    var es = EventSourcedBehaviorTestKit.<GatewayNodeProtocol.Command, GatewayNode.Event, GatewayNode.State>create(
        kit.system(), GatewayNode.create(node, deps));
    views.put(new ConfigView(CONFIG, uid, 1, Lab.ILB_IP, 6000, gwKey.publicKey(), "sgw-x", List.of(),
        "staticEgressGateway", "", Map.of(node, new ConfigView.GatewayAddresses(Lab.GW_IP, Lab.SECONDARY_IP)), false));
    await(() -> assertTrue(board.snapshot().serving().contains(uid), "config programmed"));
    for (String[] peer : List.of(new String[] {podKey.publicKey(), Lab.POD_IP}, new String[] {WgKeys.generate().publicKey(), "10.244.7.1"},
        new String[] {WgKeys.generate().publicKey(), "10.244.7.2"})) {
      var added = es.<StatusReply<Done>>runCommand(r -> new GatewayNodeProtocol.AddPeer(uid, peer[0], peer[1] + "/32", r));
      await(() -> assertTrue(added.reply().isSuccess()));
    }
    await(() -> assertEquals(3, gauge("egress_gateway_device_peers", "config", "node")));
    assertEquals(3, gauge("egress_gateway_device_peers_without_handshake", "config", "node"), "no pod has sent yet");
    double rxBefore = counter("egress_gateway_received_bytes_total");

    lab.attachPod(podKey.privateKey(), gwKey.publicKey(), 6000);
    for (int i = 0; i < 3; i++) {
      CommandRunner.Result echo = lab.echoFromPod();
      assertTrue(echo.ok(), echo.stderr());
      assertEquals(Lab.SECONDARY_IP, echo.stdout().strip());
    }
    await(() -> {
      assertTrue(counter("egress_gateway_received_bytes_total") > rxBefore, "bytes received from the pod");
      assertTrue(counter("egress_gateway_sent_bytes_total") > 0, "bytes sent to the pod");
      assertEquals(2, gauge("egress_gateway_device_peers_without_handshake", "config", "node"));
      assertTrue(handshakesObserved() > 0, "the pod's handshake age is observed");
      assertTrue(gauge("egress_gateway_snat_ports_used", "config", "node", "ip") >= 1, "the echo connections hold SNAT mappings");
    });
    assertEquals(3, gauge("egress_gateway_device_peers", "config", "node"));
    assertEquals(DatapathMetrics.SNAT_PORTS, gauge("egress_gateway_snat_ports_available", "config", "node", "ip"));
    System.out.printf("after 3 echoes: rx %.0f B, tx %.0f B, conntrack entries %.0f, handshake observations %d%n",
        counter("egress_gateway_received_bytes_total"), counter("egress_gateway_sent_bytes_total"),
        gauge("egress_gateway_snat_ports_used", "config", "node", "ip"), handshakesObserved());

    long t0 = System.nanoTime();
    for (int i = 0; i < 10; i++) {
      assertTrue(real.sample(uid).isPresent());
    }
    System.out.printf("one sample of a config (3 peers, wireguard-go): %.1f ms%n", (System.nanoTime() - t0) / 10 / 1e6);

    assertEquals(0, counter("egress_gateway_dropped_packets_total"));
    segmentConntrackCannotPlace();
    await(() -> assertTrue(counter("egress_gateway_dropped_packets_total") >= 1, "the orphaned segment is dropped and counted"));
    String text = metrics.scrape();
    assertTrue(!text.contains(podKey.publicKey()) && !text.contains(Lab.POD_IP), "no pod in any label");
  }

  /**
   * A TCP connection from the pod is established through the gateway; then the config namespace's conntrack
   * forgets it (and picks up no mid-stream connection: {@code tcp_loose} off), so the next segment the pod
   * sends on it is one conntrack cannot place: our forward chain drops it instead of letting it out un-SNATed.
   */
  private void segmentConntrackCannotPlace() throws Exception {
    String ns = real.names().netns(uid);
    Process p = new ProcessBuilder("ip", "netns", "exec", lab.inet, "socat", "TCP-LISTEN:8081,reuseaddr", "EXEC:cat")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try {
      awaitListening(8081);
      stream = new ProcessBuilder("ip", "netns", "exec", lab.pod, "socat", "-", "TCP:" + Lab.ECHO_IP + ":8081").start();
      OutputStream in = stream.getOutputStream();
      BufferedReader out = new BufferedReader(new InputStreamReader(stream.getInputStream(), StandardCharsets.UTF_8));
      in.write("first\n".getBytes(StandardCharsets.UTF_8));
      in.flush();
      assertEquals("first", CompletableFuture.supplyAsync(() -> readLine(out)).get(10, TimeUnit.SECONDS), "established");
      lab.cmd.run(CommandRunner.inNetns(ns, List.of("sysctl", "-w", "net.netfilter.nf_conntrack_tcp_loose=0")));
      lab.cmd.run(CommandRunner.inNetns(ns, List.of("conntrack", "-F")));
      in.write("second\n".getBytes(StandardCharsets.UTF_8));
      in.flush();
    } finally {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
  }

  private void awaitListening(int port) {
    await(() -> assertTrue(lab.cmd.attempt(CommandRunner.inNetns(lab.inet, List.of("ss", "-tlnH", "sport", "= :" + port)))
        .stdout().contains(":" + port)));
  }

  private static String readLine(BufferedReader r) {
    try {
      return r.readLine();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
