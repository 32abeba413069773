package io.egressgateway.kube.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.health.Watches;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.TestMembers;
import io.egressgateway.kube.MockApiQuiet;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationSpec;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The informer owner against fabric8's mock API server: a real fabric8 stop (an object the typed informer cannot
 * map) and an API server that is not there at start. Both end watching again, with the stops counted, the
 * watch down meanwhile and the last cache kept.
 */
class SupervisedInformerTest {
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final Metrics metrics = Metrics.standalone();
  private final Watches watches = Watches.standalone(metrics, Clock.systemUTC());
  private KubernetesMockServer server;
  private KubernetesClient client;

  @AfterEach
  void stop() {
    timer.shutdownNow();
    if (server != null && client != null) {
      MockApiQuiet.await(client); // closing a watch can stall fabric8's mock for a while
    }
    if (client != null) {
      client.close();
    }
    if (server != null) {
      MockApiQuiet.destroy(server);
    }
  }

  private static KubernetesMockServer crudServer() {
    return new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(List.of()), false);
  }

  /**
   * The controller's gateway-node informers look at each other's caches from their event handlers: the first to
   * start may ask the other before that one started, which answers with an empty cache instead of failing.
   */
  @Test
  void aCacheAskedForBeforeTheFirstStartIsEmpty() {
    SupervisedInformer<Node> informer = new SupervisedInformer<>("nodes-not-started",
        () -> { throw new AssertionError("not started"); }, List.of(), watches, timer, Duration.ofMillis(200),
        Duration.ofMillis(800), () -> {});
    assertEquals(List.of(), informer.store().list());
    assertEquals(null, informer.store().getByKey("gw-1"));
  }

  @Test
  void theHandlerGivesChangesAndDeletionsToTheirOwnConsumers() {
    List<String> seen = new java.util.ArrayList<>();
    var handler = SupervisedInformer.<Node>handler(n -> seen.add("changed " + n.getMetadata().getName()),
        n -> seen.add("gone " + n.getMetadata().getName()));
    Node a = new NodeBuilder().withNewMetadata().withName("a").endMetadata().build();
    Node b = new NodeBuilder().withNewMetadata().withName("b").endMetadata().build();
    handler.onAdd(a);
    handler.onUpdate(a, b);
    handler.onDelete(b, true);
    assertEquals(List.of("changed a", "changed b", "gone b"), seen);
  }

  @Test
  void anInformerThatFabric8StopsIsStartedAgainAndKeepsItsCacheMeanwhile() throws Exception {
    server = crudServer();
    server.init();
    client = server.createClient();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("apps").endMetadata().build()).create();
    StaticGatewayConfiguration good = new StaticGatewayConfiguration();
    good.getMetadata().setName("good");
    good.getMetadata().setNamespace("apps");
    good.setSpec(new StaticGatewayConfigurationSpec());
    good.getSpec().setGatewayNodepoolName("gwpool");
    client.resource(good).create();
    AtomicInteger resynced = new AtomicInteger();
    // typed, as the controller watched SGCs before: fabric8 stops such an informer on an object it cannot map
    SupervisedInformer<StaticGatewayConfiguration> informer = new SupervisedInformer<>("sgcs-typed",
        () -> client.resources(StaticGatewayConfiguration.class).inAnyNamespace().runnableInformer(0), List.of(),
        watches, timer, Duration.ofMillis(200), Duration.ofMillis(800), resynced::incrementAndGet).start();
    informer.firstSync().toCompletableFuture().get(20, TimeUnit.SECONDS);
    await(informer::isUp, "typed informer watching");
    assertEquals(0, metrics.counter("egress_informer_restarts_total", "", "resource").value("sgcs-typed"));

    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace("apps").resource(new GenericKubernetesResourceBuilder()
        .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
        .withKind("StaticGatewayConfiguration")
        .withNewMetadata().withName("unmappable").withNamespace("apps").endMetadata()
        .addToAdditionalProperties("spec", Map.of("gatewayVmssProfile", List.of("not", "an", "object")))
        .build()).create();
    await(() -> !informer.isUp(), "watch reported down after fabric8 stopped the informer");
    assertFalse(watches.allUp());
    assertTrue(watches.down().containsKey("sgcs-typed"), watches.down().toString());
    assertTrue(metrics.scrape().contains("egress_informer_up{resource=\"sgcs-typed\"} 0"), metrics.scrape());
    // while the object is there every new start fails too: each is counted, and the cache stays the last good one
    await(() -> restarts("sgcs-typed") >= 2, "started again, with backoff");
    assertNotNull(informer.store().getByKey("apps/good"), "the last synced cache still answers");

    client.genericKubernetesResources(ControllerBridge.SGC_KIND).inNamespace("apps").withName("unmappable").delete();
    await(informer::isUp, "watching again once the object is gone");
    assertTrue(watches.allUp());
    // told on the timer thread right after the replacement synced: a moment after it reports up
    await(() -> resynced.get() >= 1, "the owner was told to look at the fresh cache");
    assertNotNull(informer.store().getByKey("apps/good"));
    assertTrue(metrics.scrape().contains("egress_informer_up{resource=\"sgcs-typed\"} 1"), metrics.scrape());
    informer.close();
  }

  @Test
  void anApiServerThatIsNotThereAtStartIsTriedAgainUntilItIs() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Config config = new ConfigBuilder(Config.empty()).withMasterUrl("http://127.0.0.1:" + port)
        .withRequestRetryBackoffLimit(0).withConnectionTimeout(500).withRequestTimeout(2000).build();
    client = new KubernetesClientBuilder().withConfig(config).build();
    SupervisedInformer<Node> informer = new SupervisedInformer<>("nodes-late",
        () -> client.nodes().runnableInformer(0), List.of(), watches, timer, Duration.ofMillis(100),
        Duration.ofMillis(400), () -> {}).start();
    await(() -> restarts("nodes-late") >= 3, "starts retried while nothing listens");
    assertFalse(informer.isUp());
    assertFalse(informer.hasSynced());
    assertTrue(watches.down().get("nodes-late").contains("onnect"), watches.down().toString());
    assertTrue(watches.longestDown().orElseThrow().toMillis() > 0);

    server = crudServer();
    server.init(InetAddress.getLoopbackAddress(), port);
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gw-1").endMetadata().build()).create();
    informer.firstSync().toCompletableFuture().get(20, TimeUnit.SECONDS);
    await(informer::isUp, "watching once the API server answers");
    assertNotNull(informer.store().getByKey("gw-1"));
    assertTrue(watches.allUp());
    informer.close();
  }

  private static void await(java.util.function.BooleanSupplier condition, String what) {
    TestMembers.await(Duration.ofSeconds(20), condition, what);
  }

  private double restarts(String resource) {
    return metrics.counter("egress_informer_restarts_total", "", "resource").value(resource);
  }
}
