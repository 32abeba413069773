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
    // the entities' answer time is not what these tests check: a loaded CI machine took over 3 s for a GC's DELs
    CniHandler handler = new CniHandler("w1", directory, tunnels, datapath, Duration.ofSeconds(15), ForkJoinPool.commonPool());
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
    await(() -> datapath.pod("/var/run/netns/w").orElseThrow().wg0().isPresent(), "the device re-created");
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
    await(() -> datapath.pod("/var/run/netns/w").orElseThrow().routes()
        .contains(io.egressgateway.pod.model.Route.main("0.0.0.0/0", io.egressgateway.pod.model.Route.TUNNEL_VIA, "wg0")), "routes restored");
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

  /**
   * A runtime retries a failed ADD in a new sandbox; the DEL of the failed one may run after the new one's ADD
   * (the plugin kept it while the agent was down). It must leave the pod's tunnel and PodEndpoint alone.
   */
  @Test
  void aLateDelOfAnEarlierSandboxLeavesTheCurrentTunnelAndItsPodEndpoint() {
    List<String> removed = new java.util.concurrent.CopyOnWriteArrayList<>();
    handler.observedBy(new CniHandler.Observer() {
      @Override
      public void removed(String namespace, String name) {
        removed.add(namespace + "/" + name);
      }
    });
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    assertEquals(0, plugin("ADD", "web", "dddd4444ee", "/var/run/netns/w").exitCode());
    assertEquals(0, plugin("DEL", "web", "cccc3333aa", "/var/run/netns/w").exitCode(), "the failed attempt's DEL");
    assertEquals(List.of(), removed, "the PodEndpoint stays");
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size(), "the peer stays");
    assertEquals(0, plugin("CHECK", "web", "dddd4444ee", "/var/run/netns/w").exitCode(), "the tunnel stays");
    assertEquals(0, plugin("DEL", "web", "dddd4444ee", "/var/run/netns/w").exitCode());
    assertEquals(List.of("default/web"), removed, "the current sandbox's DEL removes it");
    assertEquals(Map.of(), gateways.peersOf("gw1", "uid-default-gw"));
  }

  private CniPlugin.Outcome gc(String... validContainers) {
    String attachments = java.util.Arrays.stream(validContainers)
        .map(c -> "{\"containerID\":\"" + c + "\",\"ifname\":\"eth0\"}")
        .collect(java.util.stream.Collectors.joining(","));
    String conf = "{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + server.socket() + "\",\"cni.dev/valid-attachments\":[" + attachments + "]}";
    return CniPlugin.run(Map.of("CNI_COMMAND", "GC", "CNI_PATH", "/opt/cni/bin"), conf, t -> new AgentClient(t.socket(), t.timeout()));
  }

  @Test
  void gcRemovesTheTunnelsOfAttachmentsTheRuntimeNoLongerHasAndKeepsTheOthers() {
    directory.put(new PodInfo("default", "kept", "uid-k", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    directory.put(new PodInfo("default", "stale", "uid-s", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/k");
    datapath.addNamespace("/var/run/netns/s");
    CniPlugin.Outcome kept = plugin("ADD", "kept", "kkkk1111", "/var/run/netns/k");
    assertEquals(0, kept.exitCode(), kept.stdout());
    CniPlugin.Outcome stale = plugin("ADD", "stale", "ssss2222", "/var/run/netns/s");
    assertEquals(0, stale.exitCode(), stale.stdout());
    assertEquals(2, gateways.peersOf("gw1", "uid-default-gw").size());

    CniPlugin.Outcome o = gc("kkkk1111", "some-plain-pod");
    assertEquals(0, o.exitCode(), o.stdout());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size(), "only the stale attachment's peer left the gateway");
    assertTrue(datapath.pod("/var/run/netns/s").orElseThrow().wg0().isEmpty(), "its device is gone");
    assertTrue(datapath.pod("/var/run/netns/k").orElseThrow().wg0().isPresent(), "the valid one is untouched");
    assertEquals(0, plugin("CHECK", "kept", "kkkk1111", "/var/run/netns/k").exitCode());

    assertEquals(0, gc("kkkk1111").exitCode(), "a second GC finds nothing more to do");
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size());
  }

  @Test
  void statusIsAnsweredByTheAgent() {
    String conf = "{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + server.socket() + "\"}";
    CniPlugin.Outcome o = CniPlugin.run(Map.of("CNI_COMMAND", "STATUS"), conf, t -> new AgentClient(t.socket(), t.timeout()));
    assertEquals(0, o.exitCode(), o.stdout());
    assertEquals("", o.stdout());
  }

  /**
   * The CNI half of the bad-input corpus, through the real plugin, socket and handler: each request ends in its
   * CNI error code with a message saying what is wrong, sets nothing up, and a valid annotated pod right after it
   * still gets its tunnel.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.MethodSource("badCniInputs")
  void aBadCniRequestGetsAClearErrorAndTheNextPodIsServed(String what, Map<String, String> envChanges, String confChange,
      int code, String says) {
    directory.put(new PodInfo("default", "bad", "uid-b", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    directory.put(new PodInfo("default", "good", "uid-g", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/b");
    datapath.addNamespace("/var/run/netns/good");
    Map<String, String> env = new HashMap<>(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "bbbb0000", "CNI_NETNS",
        "/var/run/netns/b", "CNI_IFNAME", "eth0", "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bad"));
    envChanges.forEach((k, v) -> {
      if (v == null) {
        env.remove(k);
      } else {
        env.put(k, v);
      }
    });
    String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + server.socket() + "\",\"prevResult\":" + prev("/var/run/netns/b") + "}";
    conf = confChange.startsWith("=") ? confChange.substring(1).replace("SOCKET", server.socket().toString())
        : conf.replace("\"prevResult\"", confChange + "\"prevResult\"");
    CniPlugin.Outcome o = CniPlugin.run(env, conf, t -> new AgentClient(t.socket(), t.timeout()));
    assertEquals(1, o.exitCode(), what + ": " + o.stdout());
    Map<String, Object> err = io.egressgateway.cni.Json.parseObject(o.stdout());
    assertEquals(new io.egressgateway.cni.Json.Num(Integer.toString(code)), err.get("code"), what + ": " + o.stdout());
    String text = err.get("msg") + " " + err.getOrDefault("details", "");
    assertTrue(text.contains(says), what + ": " + text);
    assertTrue(datapath.pod("/var/run/netns/b").orElseThrow().wg0().isEmpty(), what + ": nothing set up");
    assertEquals(0, gateways.peersOf("gw1", "uid-default-gw").size(), what + ": no peer on a gateway");

    CniPlugin.Outcome good = plugin("ADD", "good", "gggg1111", "/var/run/netns/good");
    assertEquals(0, good.exitCode(), what + ", then a valid pod: " + good.stdout());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size());
  }

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> badCniInputs() {
    String bigPad = "\"padding\":\"" + "x".repeat(1_100_000) + "\",";
    return java.util.stream.Stream.of(
        bad("malformed JSON", Map.of(), "={\"cniVersion\":", 6, "cannot parse"),
        bad("not an object", Map.of(), "=[1,2,3]", 6, "cannot parse"),
        bad("no prevResult", Map.of(), "=" + "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\"}", 7,
            "chained"),
        bad("unsupported version 9.9.9", Map.of(), "=" + "{\"cniVersion\":\"9.9.9\",\"name\":\"k8s\"}", 1, "unsupported CNI version"),
        bad("unsupported version 0.2.0", Map.of(), "=" + "{\"cniVersion\":\"0.2.0\",\"name\":\"k8s\"}", 1, "unsupported CNI version"),
        bad("oversized request", Map.of(), bigPad, 6, "larger than 512 KiB"),
        bad("netns climbing out", Map.of("CNI_NETNS", "/var/run/netns/../../proc/1/ns/net"), "", 4, "CNI_NETNS"),
        bad("netns of pid 1", Map.of("CNI_NETNS", "/proc/1/ns/net"), "", 4, "host's network namespace"),
        bad("netns with a newline", Map.of("CNI_NETNS", "/var/run/netns/b\nip link del eth0"), "", 4, "control characters"),
        bad("relative netns", Map.of("CNI_NETNS", "var/run/netns/b"), "", 4, "CNI_NETNS"),
        bad("netns that does not exist", Map.of("CNI_NETNS", "/var/run/netns/nope"), "", 4, "does not exist"),
        bad("no netns", java.util.Collections.singletonMap("CNI_NETNS", null), "", 4, "CNI_NETNS is not set"),
        bad("no container id", java.util.Collections.singletonMap("CNI_CONTAINERID", null), "", 4, "CNI_CONTAINERID is not set"),
        bad("ifname with a slash", Map.of("CNI_IFNAME", "eth0/../x"), "", 4, "CNI_IFNAME"),
        bad("ifname too long", Map.of("CNI_IFNAME", "averyveryverylongname"), "", 4, "CNI_IFNAME"),
        bad("ifname with a space", Map.of("CNI_IFNAME", "eth 0"), "", 4, "CNI_IFNAME"),
        bad("ifname dot dot", Map.of("CNI_IFNAME", ".."), "", 4, "CNI_IFNAME"),
        bad("no pod name in CNI_ARGS", Map.of("CNI_ARGS", "K8S_POD_NAMESPACE=default"), "", 4, "K8S_POD_NAME"),
        bad("unknown command", Map.of("CNI_COMMAND", "FROB"), "", 4, "unknown CNI_COMMAND"),
        bad("negative timeout", Map.of(), "\"timeoutSeconds\":-1,", 7, "timeoutSeconds"),
        bad("timeout as text", Map.of(), "\"timeoutSeconds\":\"soon\",", 7, "timeoutSeconds"),
        bad("relative socket path", Map.of(), "=" + "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"socketPath\":\"cni.sock\","
            + "\"prevResult\":{}}", 7, "socketPath"),
        bad("hostile excluded CIDR", Map.of(), "\"excludedCIDRs\":[\"10.0.0.0/8\\nnetns exec x sh\"],", 6, "not an IPv4 CIDR"),
        bad("pod address with a newline", Map.of(), "=" + "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"socketPath\":\"SOCKET\","
            + "\"prevResult\":{\"ips\":[{\"address\":\"10.244.1.7\\nx/32\",\"gateway\":\"169.254.1.1\"}]}}", 6, "not an IPv4"),
        bad("prevResult without IPv4", Map.of(), "=" + "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"socketPath\":\"SOCKET\","
            + "\"prevResult\":{\"ips\":[{\"address\":\"fd00::7/64\"}]}}", 7, "no IPv4 address"));
  }

  private static org.junit.jupiter.params.provider.Arguments bad(String what, Map<String, String> env, String conf, int code,
      String says) {
    return org.junit.jupiter.params.provider.Arguments.of(what, env, conf, code, says);
  }

  private static void await(java.util.function.BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(java.time.Duration.ofSeconds(5), condition, what);
  }

  @Test
  void errorsReachTheRuntimeAsCniErrors() {
    CniPlugin.Outcome noNetns = plugin("ADD", "ghost", "cccc3333", "/var/run/netns/g");
    assertEquals(1, noNetns.exitCode());
    assertTrue(noNetns.stdout().contains("\"code\":4") && noNetns.stdout().contains("/var/run/netns/g does not exist"),
        noNetns.stdout());
    datapath.addNamespace("/var/run/netns/g");
    datapath.addNamespace("/var/run/netns/l");
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
