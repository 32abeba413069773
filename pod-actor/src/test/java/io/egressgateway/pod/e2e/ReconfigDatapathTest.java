package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.pod.entity.PodTunnel;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.PodKeys;
import io.egressgateway.pod.infra.TunnelGenerations;
import io.egressgateway.pod.model.DeviceNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Live reconfiguration on real namespaces: a running pod's tunnel ({@link PodTunnel} over the real datapath)
 * follows each kind of configuration change without a restart. Measures, per change, the time from the new
 * view to the tunnel reporting the new generation (its routes and peer in place), and checks that while the
 * pod's default route is the gateway nothing leaves by eth0: a route check loop asks the kernel, all along,
 * where the pod's traffic to a public address goes, and the node counts what arrives from the pod's eth0 for
 * that address while the pod pings it.
 */
@Tag("privileged")
class ReconfigDatapathTest {
  private static final String KEY = "ns/gw";
  private static final String PUBLIC = "203.0.113.7";
  private static final String ETH0_GW = "169.254.1.1";

  @Test
  void aRunningPodFollowsEveryKindOfChangeWithinTheBudgetAndNeverLeaks() throws Exception {
    Lab.requirePrerequisites();
    if (!Files.isExecutable(Path.of("/usr/bin/ping")) && !Files.isExecutable(Path.of("/bin/ping"))) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail("privileged test prerequisite missing under CI=true: ping");
      }
      Assumptions.abort("ping not installed");
    }
    ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString(
        "akka.actor.testkit.typed.default-timeout = 10s\nakka.remote.artery.canonical.port = 0")
        .withFallback(EventSourcedBehaviorTestKit.config()));
    HostPodDatapath dp = null;
    String netns = null;
    String device = null;
    try (Lab lab = new Lab()) {
      WireGuardBackend wg = WireGuardBackends.choose(lab.cmd, "auto");
      String node = lab.ns("node");
      String pod = lab.ns("pod");
      netns = "/var/run/netns/" + pod;
      lab.ip(node, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod);
      lab.ip(node, "link", "set", "vpod", "up");
      lab.ip(node, "addr", "add", ETH0_GW + "/32", "dev", "vpod");
      lab.ip(node, "route", "add", "10.244.1.5/32", "dev", "vpod");
      lab.ip(pod, "addr", "add", "10.244.1.5/32", "dev", "eth0");
      lab.ip(pod, "link", "set", "eth0", "up");
      lab.ip(pod, "route", "add", ETH0_GW, "dev", "eth0", "scope", "link");
      lab.ip(pod, "route", "add", "default", "via", ETH0_GW, "dev", "eth0");
      // what arrives at the node from the pod's eth0 for the public address: a leak
      Path rules = lab.dir.resolve("leak.nft");
      Files.writeString(rules, "table ip egress_leak {\n  chain pre {\n    type filter hook prerouting priority -300; policy accept;\n"
          + "    iifname \"vpod\" ip daddr " + PUBLIC + " counter drop\n  }\n}\n");
      lab.in(node, "nft", "-f", rules.toString());

      dp = new HostPodDatapath(lab.cmd, wg, node);
      Map<String, Long> reportedAt = new ConcurrentHashMap<>();
      Map<String, ConfigView> views = new ConcurrentHashMap<>();
      String gwKey1 = WgKeys.generate().publicKey();
      ConfigView v1 = view(1, "10.224.0.100", 6000, gwKey1, List.of("198.18.20.0/24"), ConfigView.DEFAULT_ROUTE_GATEWAY);
      views.put(KEY, v1);
      Map<Long, Long> generationAt = new ConcurrentHashMap<>();
      TunnelGenerations generations = new TunnelGenerations() {
        @Override
        public void applied(String tunnelId, String configKey, String configUid, long generation) {
          generationAt.putIfAbsent(generation, System.nanoTime());
        }

        @Override
        public void gone(String tunnelId) {}
      };
      PodTunnel.Deps deps = new PodTunnel.Deps(dp, new InMemoryGatewayPeers(), () -> Map.copyOf(views), Duration.ofSeconds(2),
          Duration.ofMillis(200), new PodKeys(), List.of(Ipv4Cidr.parse("169.254.169.254/32")), generations);
      ActorRef<PodTunnel.Command> tunnel = testKit.spawn(PodTunnel.create("w1/uid-reconfig", deps));
      String containerId = "c0ffee" + lab.prefix;
      device = DeviceNames.forContainer(containerId);
      var reply = testKit.<StatusReply<PodTunnel.Added>>createTestProbe();
      tunnel.tell(new PodTunnel.Add(new PodTunnel.Pod(containerId, netns, "10.244.1.5", ETH0_GW, KEY, List.of()), reply.ref()));
      StatusReply<PodTunnel.Added> added = reply.receiveMessage(Duration.ofSeconds(20));
      assertTrue(added.isSuccess(), () -> added.getError().getMessage());
      eventually(() -> generationAt.containsKey(1L), "generation 1 reported after the ADD");
      WgDevice inPod = WgDevice.created(device, node).movedTo(pod, "wg0");

      // the pod sends to the public address all along; a route check loop asks the kernel where that goes
      lab.spawn(pod, List.of("ping", "-q", "-n", "-i", "0.005", PUBLIC));
      AtomicBoolean checking = new AtomicBoolean(true);
      AtomicInteger checks = new AtomicInteger();
      List<String> offTunnel = java.util.Collections.synchronizedList(new ArrayList<>());
      String podName = pod;
      Thread loop = new Thread(() -> {
        CommandRunner runner = new CommandRunner();
        while (checking.get()) {
          String where = runner.attempt(List.of("ip", "-n", podName, "-4", "route", "get", PUBLIC)).stdout();
          checks.incrementAndGet();
          if (!where.contains("dev wg0")) {
            offTunnel.add(where.strip());
          }
        }
      }, "route-check-loop");
      loop.start();

      List<String> results = new ArrayList<>();
      ConfigView v = v1;
      // excludeCidrs
      v = view(v.generation() + 1, v.ilbIp(), v.port(), v.gatewayPublicKey(), List.of("198.18.30.0/24"), v.defaultRoute());
      results.add(change("excludeCidrs", v, views, tunnel, generationAt));
      assertTrue(lab.ip(pod, "-4", "route", "get", "198.18.30.1").contains("dev eth0"), "the new exclude bypasses the tunnel");
      assertTrue(lab.ip(pod, "-4", "route", "get", "198.18.20.1").contains("dev wg0"), "the old one is tunnelled again");
      // the ILB address and port
      v = view(v.generation() + 1, "10.224.0.200", 6001, v.gatewayPublicKey(), v.excludeCidrs(), v.defaultRoute());
      results.add(change("ilb", v, views, tunnel, generationAt));
      WgDump.Peer peer = wg.dump(inPod).peers().get(v.gatewayPublicKey());
      assertEquals("10.224.0.200:6001", peer.endpoint());
      assertTrue(lab.ip(pod, "-4", "route", "get", "10.224.0.200").contains("dev eth0"), "the new endpoint stays off the tunnel");
      // the gateway key
      v = view(v.generation() + 1, v.ilbIp(), v.port(), WgKeys.generate().publicKey(), v.excludeCidrs(), v.defaultRoute());
      results.add(change("gatewayKey", v, views, tunnel, generationAt));
      assertEquals(java.util.Set.of(v.gatewayPublicKey()), wg.dump(inPod).peers().keySet(), "the old key's peer is gone");
      // the prefix: nothing to do on the pod, only taken note of
      v = new ConfigView(KEY, v.uid(), v.generation() + 1, v.ilbIp(), v.port(), v.gatewayPublicKey(), v.keySecretName(),
          v.excludeCidrs(), v.defaultRoute(), "198.51.100.0/31", v.gateways(), true);
      results.add(change("prefix", v, views, tunnel, generationAt));

      checking.set(false);
      loop.join();
      long leaked = counted(lab, node);
      assertTrue(checks.get() >= 5, "the route check loop ran (" + checks.get() + " checks)");
      assertEquals(List.of(), offTunnel, "the pod's traffic always went into the tunnel");
      assertEquals(0, leaked, "nothing left the pod by eth0 for " + PUBLIC);

      // defaultRoute: to azureNetworking (eth0 by configuration) and back to the gateway
      v = view(v.generation() + 1, v.ilbIp(), v.port(), v.gatewayPublicKey(), v.excludeCidrs(), ConfigView.DEFAULT_ROUTE_AZURE);
      results.add(change("defaultRoute=azureNetworking", v, views, tunnel, generationAt));
      assertTrue(lab.ip(pod, "-4", "route", "get", PUBLIC).contains("dev eth0"));
      assertTrue(lab.ip(pod, "-4", "route", "get", "198.18.30.1").contains("dev wg0"), "excludes now mean the gateway");
      v = view(v.generation() + 1, v.ilbIp(), v.port(), v.gatewayPublicKey(), v.excludeCidrs(), ConfigView.DEFAULT_ROUTE_GATEWAY);
      results.add(change("defaultRoute=staticEgressGateway", v, views, tunnel, generationAt));
      long afterSwitch = counted(lab, node);
      assertTrue(lab.ip(pod, "-4", "route", "get", PUBLIC).contains("dev wg0"));
      holds(Duration.ofMillis(500), () -> counted(lab, node) == afterSwitch, "back on the gateway: nothing more leaves by eth0");
      assertTrue(lab.ip(pod, "-4", "route", "show", "default").contains("dev wg0"));

      System.out.println("live reconfiguration (" + wg.kind() + ", " + checks.get() + " route checks, 0 off the tunnel): "
          + String.join(", ", results));
    } finally {
      if (dp != null) {
        dp.detach(netns, device);
      }
      testKit.shutdownTestKit();
    }
  }

  private static ConfigView view(long generation, String ilb, int port, String gatewayKey, List<String> excludes, String mode) {
    return new ConfigView(KEY, "uid-ns-gw", generation, ilb, port, gatewayKey, "sgw-uid", excludes, mode, "",
        Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")), true);
  }

  /** Publishes {@code v}, tells the tunnel (as the agent does on a view change), waits for the generation. */
  private static String change(String what, ConfigView v, Map<String, ConfigView> views, ActorRef<PodTunnel.Command> tunnel,
      Map<Long, Long> generationAt) {
    long start = System.nanoTime();
    views.put(KEY, v);
    tunnel.tell(new PodTunnel.Follow(KEY));
    eventually(() -> generationAt.containsKey(v.generation()), what + ": generation " + v.generation() + " followed");
    long ms = (generationAt.get(v.generation()) - start) / 1_000_000;
    return what + " " + ms + " ms";
  }

  private static long counted(Lab lab, String node) {
    String out = lab.in(node, "nft", "list", "table", "ip", "egress_leak");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(out);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Polls {@code condition} for {@code period}: it must hold every time. */
  private static void holds(Duration period, BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.holds(period, condition, what);
  }

  /** Polls {@code condition} every 5 ms (the times measured are this fine) for up to 10 s. */
  private static void eventually(BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(Duration.ofSeconds(10), Duration.ofMillis(5), condition::getAsBoolean, b -> b, what);
  }
}
