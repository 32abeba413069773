package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.kube.crd.GatewayStatus;
import io.egressgateway.kube.crd.GatewayStatusSpec;
import io.egressgateway.kube.crd.PodEndpoint;
import io.egressgateway.kube.infra.GatewayStatusWriter;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.infra.PodDirectory;
import io.egressgateway.kube.infra.PodEndpointWriter;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.concurrent.TimeUnit;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.TestInstance;

/** PodEndpoint and GatewayStatus writers, and the node pod directory, against the mock API server. */
@EnableKubernetesMockClient(crud = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
// The mock server's event loop can stall for a while when a watch closes (see MockApiQuiet), so the test
// that closes informers runs last and waits the stall out before the server is shut down.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WritersTest {
  static KubernetesClient client;
  static KubernetesMockServer server;
  KubeBridgeSettings settings;

  @BeforeAll
  void crds() throws Exception {
    // a stall of the mock left over from the class before (CI: the first write timed out after 10 s, the mock
    // answered after 28 s): wait until it answers promptly
    MockApiQuiet.await(client);
    for (String plural : List.of("podendpoints", "gatewaystatuses")) {
      String yaml = Files.readString(CrdFilesTest.GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
      client.resource(client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class)).create();
    }
    settings = KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
            "egress.kube-bridge { writer-batch = 50ms, max-peers-per-gateway-status = 5 }")
        .withFallback(ConfigFactory.load())).withNamespace("egress-system");
  }

  @AfterAll
  void quiet() {
    MockApiQuiet.await(client);
  }

  @Test
  @Order(1)
  void podEndpointsAreWrittenOnceOwnedByThePodAndDeleted() {
    try (PodEndpointWriter w = new PodEndpointWriter(client, settings.writerBatch())) {
      w.upsert(new PodEndpointWriter.Endpoint("apps", "p1", "uid-p1", "sgc-a", "10.244.0.7", "key-old"));
      w.upsert(new PodEndpointWriter.Endpoint("apps", "p1", "uid-p1", "sgc-a", "10.244.0.7", "key-new"));
      w.upsert(new PodEndpointWriter.Endpoint("apps", "p2", "uid-p2", "sgc-a", "10.244.0.8/32", "key-2"));
      ControllerTest.await(() -> w.backlog() == 0 && pe("p1") != null && pe("p2") != null, "endpoints written");
      PodEndpoint p1 = pe("p1");
      assertEquals("key-new", p1.getSpec().getPodPublicKey(), "the latest wish wins");
      assertEquals("10.244.0.7/32", p1.getSpec().getPodIpAddress());
      assertEquals("sgc-a", p1.getSpec().getStaticGatewayConfiguration());
      var owner = p1.getMetadata().getOwnerReferences().get(0);
      assertEquals("Pod", owner.getKind());
      assertEquals("uid-p1", owner.getUid());
      assertTrue(owner.getController());

      String rv = p1.getMetadata().getResourceVersion();
      w.upsert(new PodEndpointWriter.Endpoint("apps", "p1", "uid-p1", "sgc-a", "10.244.0.7", "key-new"));
      ControllerTest.await(() -> w.backlog() == 0, "repeat processed");
      assertEquals(rv, pe("p1").getMetadata().getResourceVersion(), "an unchanged endpoint is not rewritten");

      w.delete("apps", "p1");
      ControllerTest.await(() -> pe("p1") == null, "endpoint deleted");
      assertTrue(pe("p2") != null, "other endpoints untouched");
    }
  }

  @Test
  @Order(2)
  void gatewayStatusHoldsExactlyTheCurrentPeersAndStaysBounded() {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gw-9").endMetadata().build()).create();
    try (GatewayStatusWriter w = new GatewayStatusWriter(client, settings)) {
      var cfg = List.of(new GatewayStatusSpec.GatewayConfiguration("apps/sgc-a", "wg-6000"));
      w.report("gw-9", cfg, peers(3));
      ControllerTest.await(() -> peerCount("gw-9") == 3, "3 peers");
      w.report("gw-9", cfg, peers(1));
      ControllerTest.await(() -> peerCount("gw-9") == 1, "removed peers disappear");
      w.report("gw-9", cfg, peers(12));
      ControllerTest.await(() -> peerCount("gw-9") == 5, "bounded at 5");
      GatewayStatus gs = client.resources(GatewayStatus.class).inNamespace("egress-system").withName("gw-9").get();
      assertEquals("Node", gs.getMetadata().getOwnerReferences().get(0).getKind());
      assertFalse(gs.getMetadata().getOwnerReferences().get(0).getController() != null
          && gs.getMetadata().getOwnerReferences().get(0).getController(), "non-controller owner");
      assertEquals(cfg, gs.getSpec().getReadyGatewayConfigurations());
      w.report("gw-9", List.of(), List.of());
      ControllerTest.await(() -> peerCount("gw-9") == 0, "empty node");
    }
  }

  @Test
  @Order(3)
  void podDirectoryAnswersForThisNodesPodsOnly() throws Exception {
    client.pods().inNamespace("apps").resource(new PodBuilder().withNewMetadata().withName("mine").withNamespace("apps")
        .withUid("u-mine").addToAnnotations("kubernetes.azure.com/static-gateway-configuration", "sgc-a").endMetadata()
        .withNewSpec().withNodeName("worker-1").endSpec().withNewStatus().withPodIP("10.244.1.5").endStatus().build()).create();
    client.pods().inNamespace("apps").resource(new PodBuilder().withNewMetadata().withName("theirs").withNamespace("apps")
        .endMetadata().withNewSpec().withNodeName("worker-2").endSpec().build()).create();
    drain();
    try (PodDirectory dir = PodDirectory.start(client, "worker-1", watches())) {
      dir.whenSynced().toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS);
      List<String> paths = drain().stream().map(RecordedRequest::getPath).filter(x -> x.contains("/pods")).toList();
      assertFalse(paths.isEmpty());
      assertTrue(paths.stream().allMatch(x -> x.contains("fieldSelector=spec.nodeName%3Dworker-1")), paths.toString());
    }
    MockApiQuiet.await(client); // closing that informer's watch may have stalled the mock for a while
    try (PodDirectory dir = PodDirectory.startUnfiltered(client, "worker-1", watches())) {
      ControllerTest.await(() -> dir.lookup("apps", "mine").isPresent(), "pod visible");
      var info = dir.lookup("apps", "mine").orElseThrow();
      assertEquals(client.pods().inNamespace("apps").withName("mine").get().getMetadata().getUid(), info.uid());
      assertEquals("10.244.1.5", info.ip());
      assertEquals("sgc-a", info.gatewayConfig().orElseThrow());
      assertTrue(dir.lookup("apps", "theirs").isEmpty(), "a pod of another node is not answered");
      assertTrue(dir.lookup("apps", "absent").isEmpty());
      assertEquals(List.of("mine"), dir.all().stream().map(PodDirectory.PodInfo::name).toList(), "this node's pods only");
    }
  }

  List<RecordedRequest> drain() throws InterruptedException {
    List<RecordedRequest> out = new ArrayList<>();
    RecordedRequest r;
    while ((r = server.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
      out.add(r);
    }
    return out;
  }

  PodEndpoint pe(String name) {
    return client.resources(PodEndpoint.class).inNamespace("apps").withName(name).get();
  }

  int peerCount(String node) {
    GatewayStatus gs = client.resources(GatewayStatus.class).inNamespace("egress-system").withName(node).get();
    if (gs == null || gs.getSpec() == null || gs.getSpec().getReadyPeerConfigurations() == null) {
      return gs == null ? -1 : 0;
    }
    return gs.getSpec().getReadyPeerConfigurations().size();
  }

  static List<GatewayStatusSpec.PeerConfiguration> peers(int n) {
    List<GatewayStatusSpec.PeerConfiguration> out = new ArrayList<>();
    IntStream.range(0, n).forEach(i -> out.add(new GatewayStatusSpec.PeerConfiguration("apps/p" + i, "wg-6000", "k" + i)));
    return out;
  }

  static io.egressgateway.core.health.Watches watches() {
    return io.egressgateway.core.health.Watches.standalone(io.egressgateway.core.metrics.Metrics.standalone(),
        java.time.Clock.systemUTC());
  }
}
