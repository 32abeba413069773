package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.cni.AgentClient;
import io.egressgateway.cni.CniPlugin;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.CniServer;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.model.PodInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole CNI path with fakes below it: plugin -> unix socket -> server -> handler -> PodTunnel. */
class CniPathTest {
  @TempDir Path tmp;

  private ActorTestKit testKit;
  private CniServer server;
  private final InMemoryPodDatapath datapath = new InMemoryPodDatapath();
  private final InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
  private final InMemoryPodDirectory directory = new InMemoryPodDirectory();
  private final Map<String, ConfigView> views = Fixtures.views(Fixtures.view("default/gw", true));
  private final Map<String, ActorRef<PodTunnel.Command>> entities = new ConcurrentHashMap<>();

  private io.egressgateway.pod.infra.PodKeys keys;
  private CniHandler handler;
  /** What the agent's observer heard: {@code namespace/name=public key} per provisioned pod. */
  private final List<String> provisioned = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void start() throws Exception {
    testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(EventSourcedBehaviorTestKit.config()));
    startAgent();
  }

  /** The agent's parts (entities, keys, handler, socket) over the test's datapath, journal and directory. */
  private CniHandler startAgent() throws Exception {
    keys = new io.egressgateway.pod.infra.PodKeys();
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, () -> views, Duration.ofMillis(500), Duration.ofMillis(200), keys,
        Fixtures.EXCEPTIONS);
    PodTunnels tunnels = PodTunnels.resolvedBy(testKit.system(),
        id -> entities.computeIfAbsent(id, i -> testKit.spawn(PodTunnel.create(i, deps))));
    CniHandler handler = new CniHandler("w1", directory, tunnels, datapath, Duration.ofSeconds(3), ForkJoinPool.commonPool());
    handler.observedBy(new CniHandler.Observer() {
      @Override
      public void provisioned(PodInfo pod, String podIp, String configKey, String podPublicKey) {
        provisioned.add(pod.namespace() + "/" + pod.name() + "=" + podPublicKey);
      }
    });
    server = CniServer.start(tmp.resolve("run/cni.sock"), 2, Duration.ofSeconds(4), handler);
    this.handler = handler;
    return handler;
  }

  /** The agent process ends (its entities, keys and device listener with it) and a new one starts. */
  private CniHandler restartAgent() throws Exception {
    server.close();
    entities.values().forEach(testKit::stop);
    entities.clear();
    datapath.forgetListeners();
    return startAgent();
  }

  @Test
  void aRestartedAgentTakesItsTunnelsBackAndRepairsThemAgain() throws Exception {
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    directory.put(new PodInfo("default", "plain", "uid-p", Map.of()));
    datapath.addNamespace("/var/run/netns/w");
    assertEquals(0, plugin("ADD", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());
    String device = io.egressgateway.pod.model.DeviceNames.forContainer("bbbb2222cc");

    CniHandler restarted = restartAgent();
    assertTrue(keys.get(device).isEmpty());
    assertEquals(1, restarted.resumeTunnels().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertTrue(keys.get(device).isPresent(), "the key is back in memory");
    assertEquals(java.util.Set.of("w1/uid-w"), entities.keySet(), "only annotated pods' entities are asked");

    datapath.kill("/var/run/netns/w");
    for (int i = 0; i < 100 && datapath.pod("/var/run/netns/w").orElseThrow().wg0().isEmpty(); i++) {
      sleep(20);
    }
    assertEquals(device, datapath.pod("/var/run/netns/w").orElseThrow().wg0().orElseThrow().alias(),
        "a device dying after the restart is still repaired");
  }

  @Test
  void aDelThatFindsTheAgentDownRunsWhenTheAgentStarts() throws Exception {
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    assertEquals(0, plugin("ADD", "web", "bbbb2222cc", "/var/run/netns/w", "uid-w").exitCode());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size());

    server.close(); // the agent is down while the pod is deleted
    datapath.deleteNamespace("/var/run/netns/w");
    directory.remove("default", "web");
    CniPlugin.Outcome del = plugin("DEL", "web", "bbbb2222cc", "/var/run/netns/w", "uid-w");
    assertEquals(0, del.exitCode(), "DEL never fails the runtime");
    assertTrue(del.stderr().contains("kept for the agent's next start"), del.stderr());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size(), "nothing could be removed yet");

    CniHandler restarted = restartAgent();
    assertEquals(1, server.runDeferredDels().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"), "the pod's peer left the gateways");
    assertEquals(Map.of(), gateways.peersOf("gw2", "uid-default-gw"));
    try (var left = java.nio.file.Files.list(tmp.resolve("run/deferred-del"))) {
      assertEquals(0, left.count(), "the kept DEL is gone once it ran");
    }
    assertEquals(0, restarted.resumeTunnels().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(0, server.runDeferredDels().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS));
  }

  @Test
  void aTunnelWhoseDeviceDiedWithTheAgentGetsANewKeyAndItsPodEndpointHearsOfIt() throws Exception {
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    assertEquals(0, plugin("ADD", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());
    String before = provisioned.get(0);

    server.close();
    datapath.forgetListeners();
    datapath.kill("/var/run/netns/w"); // wireguard-go ended with the agent's container
    CniHandler restarted = restartAgent();
    assertEquals(1, restarted.resumeTunnels().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(2, provisioned.size(), provisioned.toString());
    String after = provisioned.get(1);
    assertTrue(after.startsWith("default/web=") && !after.equals(before), "the new public key is reported: " + provisioned);
    assertEquals(Map.of(after.substring("default/web=".length()), "10.244.1.7"), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(0, plugin("CHECK", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());
  }

  @Test
  void aGatewayJoiningThePoolGetsThePeersOfThePodsAlreadyRunning() throws Exception {
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    assertEquals(0, plugin("ADD", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());
    Map<String, String> peer = gateways.peersOf("gw1", "uid-default-gw");
    assertEquals(1, peer.size());
    ConfigView v = views.get("default/gw");
    handler.onViews(Map.copyOf(views)); // the pool as the tunnel was made: nothing to tell

    // gw3 joins with its addresses, gw4 still waits for its secondary IP from Azure
    Map<String, ConfigView.GatewayAddresses> pool = new HashMap<>(v.gateways());
    pool.put("gw3", new ConfigView.GatewayAddresses("10.224.0.7", "10.224.0.17"));
    pool.put("gw4", new ConfigView.GatewayAddresses("10.224.0.8", ""));
    handler.onViews(Map.of(v.key(), Fixtures.withGateways(v, pool)));
    for (int i = 0; i < 100 && gateways.peersOf("gw3", "uid-default-gw").isEmpty(); i++) {
      sleep(20);
    }
    assertEquals(peer, gateways.peersOf("gw3", "uid-default-gw"), "the newcomer gets the running pod's peer");
    assertEquals(Map.of(), gateways.peersOf("gw4", "uid-default-gw"), "not before it can serve the configuration");

    pool.put("gw4", new ConfigView.GatewayAddresses("10.224.0.8", "10.224.0.18"));
    handler.onViews(Map.of(v.key(), Fixtures.withGateways(v, pool)));
    for (int i = 0; i < 100 && gateways.peersOf("gw4", "uid-default-gw").isEmpty(); i++) {
      sleep(20);
    }
    assertEquals(peer, gateways.peersOf("gw4", "uid-default-gw"));
    assertEquals(peer, gateways.peersOf("gw1", "uid-default-gw"), "the others keep it");
  }

  @AfterEach
  void stop() {
    server.close();
    testKit.shutdownTestKit();
  }

  private CniPlugin.Outcome plugin(String command, String pod, String containerId, String netns) {
    return plugin(command, pod, containerId, netns, "");
  }

  /** {@code uid}: passed as K8S_POD_UID (containerd and CRI-O do) unless empty. */
  private CniPlugin.Outcome plugin(String command, String pod, String containerId, String netns, String uid) {
    Map<String, String> env = new HashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", containerId);
    env.put("CNI_NETNS", netns);
    env.put("CNI_IFNAME", "eth0");
    env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + pod + (uid.isEmpty() ? "" : ";K8S_POD_UID=" + uid));
    String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + server.socket() + "\",\"prevResult\":" + prev(netns) + "}";
    return CniPlugin.run(env, conf, t -> new AgentClient(t.socket(), t.timeout()));
  }

  private static String prev(String netns) {
    return "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"" + netns + "\"}],"
        + "\"ips\":[{\"address\":\"10.244.1.7/32\",\"gateway\":\"169.254.1.1\",\"interface\":0}]}";
  }

  @Test
  void unannotatedPodGetsPrevResultUntouchedForOneLookup() {
    directory.put(new PodInfo("default", "plain", "uid-p", Map.of()));
    datapath.addNamespace("/var/run/netns/p");
    long before = directory.lookups();
    CniPlugin.Outcome o = plugin("ADD", "plain", "aaaa1111", "/var/run/netns/p");
    assertEquals(0, o.exitCode(), o.stdout());
    assertEquals(prev("/var/run/netns/p"), o.stdout());
    assertEquals(1, directory.lookups() - before);
    assertTrue(entities.isEmpty(), "no entity for an unannotated pod");
    assertTrue(datapath.pod("/var/run/netns/p").orElseThrow().wg0().isEmpty());
  }

  @Test
  void annotatedPodAddCheckDel() {
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    CniPlugin.Outcome add = plugin("ADD", "web", "bbbb2222cc", "/var/run/netns/w");
    assertEquals(0, add.exitCode(), add.stdout());
    assertTrue(add.stdout().contains("{\"name\":\"wg0\",\"sandbox\":\"/var/run/netns/w\"}"), add.stdout());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size());
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("bbbb2222cc"), datapath.pod("/var/run/netns/w").orElseThrow().wg0().orElseThrow().alias());

    assertEquals(0, plugin("CHECK", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());

    datapath.kill("/var/run/netns/w");
    // the device comes back first, the routes right after it (both asynchronously)
    for (int i = 0; i < 100 && !datapath.pod("/var/run/netns/w").orElseThrow().routes()
        .contains(io.egressgateway.pod.model.Route.main("0.0.0.0/0", io.egressgateway.pod.model.Route.TUNNEL_VIA, "wg0")); i++) {
      sleep(20);
    }
    assertEquals(io.egressgateway.pod.model.DeviceNames.forContainer("bbbb2222cc"), datapath.pod("/var/run/netns/w").orElseThrow().wg0().orElseThrow().alias(),
        "a dead device is re-created by its entity");
    assertEquals(0, plugin("CHECK", "web", "bbbb2222cc", "/var/run/netns/w").exitCode());

    CniPlugin.Outcome del = plugin("DEL", "web", "bbbb2222cc", "/var/run/netns/w");
    assertEquals(0, del.exitCode());
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"));
    assertEquals(Map.of(), gateways.peersOf("gw2", "uid-default-gw"));
    assertTrue(datapath.pod("/var/run/netns/w").orElseThrow().wg0().isEmpty());

    CniPlugin.Outcome check = plugin("CHECK", "web", "bbbb2222cc", "/var/run/netns/w");
    assertEquals(1, check.exitCode(), "CHECK after DEL reports the missing tunnel");
    assertTrue(check.stdout().contains("no established egress tunnel"), check.stdout());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void errorsReachTheRuntimeAsCniErrors() {
    CniPlugin.Outcome unknown = plugin("ADD", "ghost", "cccc3333", "/var/run/netns/g");
    assertEquals(1, unknown.exitCode());
    assertTrue(unknown.stdout().contains("\"code\":11") && unknown.stdout().contains("not known on node w1"), unknown.stdout());

    directory.put(new PodInfo("default", "lost", "uid-l", Map.of(PodInfo.GATEWAY_ANNOTATION, "missing")));
    CniPlugin.Outcome missing = plugin("ADD", "lost", "dddd4444", "/var/run/netns/l");
    assertEquals(1, missing.exitCode());
    assertTrue(missing.stdout().contains("\"code\":100") && missing.stdout().contains("default/missing is not known"), missing.stdout());

    // the config exists but Azure is still provisioning it: the runtime hears so, and retries the sandbox later
    views.put("default/coming", Fixtures.provisioning("default/coming"));
    directory.put(new PodInfo("default", "early", "uid-e", Map.of(PodInfo.GATEWAY_ANNOTATION, "coming")));
    datapath.addNamespace("/var/run/netns/e");
    CniPlugin.Outcome early = plugin("ADD", "early", "eeee5555", "/var/run/netns/e");
    assertEquals(1, early.exitCode());
    assertTrue(early.stdout().contains("\"code\":100")
        && early.stdout().contains("default/coming is not ready yet (gateways or Azure resources still provisioning)"), early.stdout());
    assertTrue(datapath.pod("/var/run/netns/e").orElseThrow().wg0().isEmpty());

    assertEquals(0, plugin("DEL", "ghost", "cccc3333", "/var/run/netns/g").exitCode(), "DEL of an unknown pod succeeds");
  }
}
