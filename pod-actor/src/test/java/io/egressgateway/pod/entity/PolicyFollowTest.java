package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.cni.AgentClient;
import io.egressgateway.cni.CniPlugin;
import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.model.LabelSelection;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.CniServer;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.model.PodInfo;
import io.egressgateway.pod.model.Route;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster-wide policies on the worker, with fakes below the entities: the CNI ADD picks a pod's configuration by its
 * annotation, else by the oldest policy selecting it; a running pod whose labels (or the policies) change gets its
 * tunnel made, moved or removed without a restart; an annotated pod never gets a second tunnel.
 */
class PolicyFollowTest {
  static final String NETNS = "/var/run/netns/web";

  @TempDir Path tmp;

  private ActorTestKit testKit;
  private CniServer server;
  private CniHandler handler;
  private final InMemoryPodDatapath datapath = new InMemoryPodDatapath();
  private final InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
  private final InMemoryPodDirectory directory = new InMemoryPodDirectory();
  private final Map<String, ConfigView> views = Fixtures.views(Fixtures.view("default/gw", true), Fixtures.view("egress/batch", true));
  private final Map<String, GatewayPolicy> policies = new ConcurrentHashMap<>();
  private final Map<String, ActorRef<PodTunnel.Command>> entities = new ConcurrentHashMap<>();

  @BeforeEach
  void start() throws Exception {
    testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString("akka.remote.artery.canonical.port = 0")
        .withFallback(EventSourcedBehaviorTestKit.config()));
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> views, Duration.ofSeconds(3), Duration.ofMillis(200),
        new io.egressgateway.pod.infra.PodKeys(), Fixtures.EXCEPTIONS);
    PodTunnels tunnels = PodTunnels.resolvedBy(testKit.system(),
        id -> entities.computeIfAbsent(id, i -> testKit.spawn(PodTunnel.create(i, deps))));
    handler = new CniHandler("w1", directory, tunnels, datapath, Duration.ofSeconds(15), ForkJoinPool.commonPool());
    handler.selectedBy(policies::values);
    server = CniServer.start(tmp.resolve("run/cni.sock"), 2, Duration.ofSeconds(20), handler);
    datapath.addNamespace(NETNS);
  }

  @AfterEach
  void stop() {
    server.close();
    testKit.shutdownTestKit();
  }

  @Test
  void aRunningPodFollowsItsLabelsAndThePoliciesWithoutARestart() throws Exception {
    policy("batch", 2_000, "app", "batch", "egress/batch");
    directory.put(pod(Map.of("app", "web"), Map.of()));
    assertEquals(0, plugin("ADD").exitCode());
    assertTrue(wg0().isEmpty(), "not selected: a plain pod");
    assertEquals(0, follow(), "nothing to do");

    // its labels change: the policy selects it, and its tunnel is made while it runs
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    assertEquals(1, follow());
    assertTrue(wg0().isPresent(), "the running pod got its tunnel");
    assertEquals("wg0", defaultRoute().dev(), "its default route goes into the tunnel");
    assertEquals(1, gateways.peersOf("gw1", "uid-egress-batch").size());
    assertEquals(0, follow(), "a second pass changes nothing");
    assertEquals(0, plugin("CHECK").exitCode(), "CHECK sees the policy's tunnel");

    // an older policy selecting it appears: it wins, and the tunnel moves to its configuration
    policy("older", 1_000, "app", "batch", "default/gw");
    assertEquals(1, follow());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size(), "on the older policy's gateways");
    assertEquals(0, gateways.peersOf("gw1", "uid-egress-batch").size(), "and no longer on the other: one tunnel");
    assertEquals("wg0", defaultRoute().dev());

    // its labels change again: no policy selects it; the tunnel goes and eth0 is its way out again
    directory.put(pod(Map.of("app", "web"), Map.of()));
    assertEquals(1, follow());
    assertTrue(wg0().isEmpty());
    assertEquals(new Route("0.0.0.0/0", "169.254.1.1", "eth0", Route.MAIN), defaultRoute());
    assertEquals(0, gateways.peersOf("gw1", "uid-default-gw").size(), "its peer left the gateways");

    // selected again by a policy that is then deleted
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    assertEquals(1, follow());
    policies.clear();
    assertEquals(1, follow());
    assertTrue(wg0().isEmpty());
    assertEquals("eth0", defaultRoute().dev());
  }

  @Test
  void aPodSelectedAtItsStartGetsItsTunnelOnItsAdd() throws Exception {
    policy("batch", 2_000, "app", "batch", "egress/batch");
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    assertEquals(0, plugin("ADD").exitCode());
    assertTrue(wg0().isPresent());
    assertEquals(1, gateways.peersOf("gw1", "uid-egress-batch").size());
    assertEquals(0, follow());
  }

  @Test
  void theAnnotationWinsAndAPodNeverHasTwoTunnels() throws Exception {
    policy("batch", 2_000, "app", "batch", "egress/batch");
    directory.put(pod(Map.of("app", "batch"), Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    assertEquals(0, plugin("ADD").exitCode());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size(), "its annotation's configuration");
    assertEquals(0, gateways.peersOf("gw1", "uid-egress-batch").size(), "not the policy's");
    policy("older", 1_000, "app", "batch", "egress/batch");
    assertEquals(0, follow(), "no policy moves an annotated pod");
    assertEquals(0, gateways.peersOf("gw1", "uid-egress-batch").size());
  }

  @Test
  void aPolicyNamingAMissingConfigurationFailsTheAddClosedAndLeavesARunningPodAsItIs() throws Exception {
    policy("ghost", 1_000, "app", "batch", "egress/missing");
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    assertEquals(1, plugin("ADD").exitCode(), "the pod does not start without its gateway");

    directory.put(pod(Map.of("app", "web"), Map.of()));
    assertEquals(0, plugin("ADD").exitCode());
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    assertEquals(0, follow(), "the move could not be made");
    assertTrue(wg0().isEmpty(), "it keeps what it has, and the next pass tries again");
  }

  @Test
  void whilePoliciesHaveNotReachedARestartedAgentAPodOfANamespaceTheySelectedWaits() throws Exception {
    directory.put(pod(Map.of("app", "batch"), Map.of()));
    handler.policiesPendingFor("default"::equals);
    CniPlugin.Outcome waiting = plugin("ADD");
    assertEquals(1, waiting.exitCode());
    assertTrue(waiting.stdout().contains("policies have not reached"), waiting.stdout());
    assertTrue(wg0().isEmpty());

    policy("batch", 2_000, "app", "batch", "egress/batch");
    handler.policiesPendingFor(ns -> false);
    assertEquals(0, plugin("ADD").exitCode());
    assertTrue(wg0().isPresent(), "added with the policy's tunnel once the policies are here");
  }

  // ---- helpers

  private int follow() throws Exception {
    return handler.followPolicies().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private void policy(String name, long createdAt, String label, String value, String config) {
    policies.put(name, new GatewayPolicy(name, "uid-" + name, createdAt, List.of("default"),
        new LabelSelection(Map.of(label, value), List.of()), config));
  }

  private static PodInfo pod(Map<String, String> labels, Map<String, String> annotations) {
    return new PodInfo("default", "web", "uid-web", annotations, labels);
  }

  private Optional<InMemoryPodDatapath.Device> wg0() {
    return datapath.pod(NETNS).orElseThrow().wg0();
  }

  private Route defaultRoute() {
    return datapath.pod(NETNS).orElseThrow().routes().stream()
        .filter(r -> r.dst().equals("0.0.0.0/0") && r.table() == Route.MAIN).findFirst().orElseThrow();
  }

  private CniPlugin.Outcome plugin(String command) {
    Map<String, String> env = new HashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", "cccc3333dd");
    env.put("CNI_NETNS", NETNS);
    env.put("CNI_IFNAME", "eth0");
    env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-web");
    String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + server.socket() + "\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\""
        + NETNS + "\"}],\"ips\":[{\"address\":\"10.244.1.7/32\",\"gateway\":\"169.254.1.1\",\"interface\":0}]}}";
    return CniPlugin.run(env, conf, t -> new AgentClient(t.socket(), t.timeout()));
  }
}
