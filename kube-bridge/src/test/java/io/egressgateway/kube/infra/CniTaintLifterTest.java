package io.egressgateway.kube.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.health.Watches;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.MockApiQuiet;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The controllers lift the cni-not-ready taint of a node once its worker pod is Ready, and only that taint,
 * against fabric8's CRUD mock API server.
 */
class CniTaintLifterTest {
  private static final String KEY = "egressgateway.kubernetes.azure.com/cni-not-ready";
  private static final String NS = "kube-egress-gateway-system";
  private static final String SELECTOR = "app.kubernetes.io/instance=egress,app.kubernetes.io/component=worker";

  private KubernetesMockServer server;
  private KubernetesClient client;
  private CniTaintLifter lifter;

  @BeforeEach
  void start() {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(List.of()), false);
    server.init();
    client = server.createClient();
  }

  @AfterEach
  void stop() {
    if (lifter != null) {
      lifter.close();
    }
    MockApiQuiet.await(client);
    client.close();
    MockApiQuiet.destroy(server);
  }

  private static Node node(String name, String... taintKeys) {
    NodeBuilder b = new NodeBuilder().withNewMetadata().withName(name).endMetadata().withNewSpec().endSpec();
    for (String k : taintKeys) {
      b.editSpec().addNewTaint().withKey(k).withValue("true").withEffect("NoSchedule").endTaint().endSpec();
    }
    return b.build();
  }

  private static Pod workerPod(String name, String node, boolean ready, String component) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace(NS).withUid(name + "-uid")
        .withLabels(Map.of("app.kubernetes.io/instance", "egress", "app.kubernetes.io/component", component)).endMetadata()
        .withNewSpec().withNodeName(node).endSpec()
        .withNewStatus().addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition().endStatus()
        .build();
  }

  private List<String> taints(String node) {
    Node n = client.nodes().withName(node).get();
    return n.getSpec().getTaints() == null ? List.of() : n.getSpec().getTaints().stream().map(Taint::getKey).toList();
  }

  private static void await(String what, BooleanSupplier condition) {
    io.egressgateway.testing.Eventually.await(java.time.Duration.ofSeconds(20), condition, what);
  }

  @Test
  void aReadyWorkerPodGetsOnlyTheNotReadyTaintOfItsOwnNodeLifted() throws Exception {
    client.nodes().resource(node("n1", "dedicated", KEY)).create();
    client.nodes().resource(node("n2", KEY)).create();
    client.nodes().resource(node("n3", KEY)).create();
    client.pods().inNamespace(NS).resource(workerPod("w1", "n1", true, "worker")).create();
    client.pods().inNamespace(NS).resource(workerPod("w2", "n2", false, "worker")).create();
    // not a worker of this release: its readiness means nothing for the node's CNI
    client.pods().inNamespace(NS).resource(workerPod("other", "n3", true, "controller")).create();

    lifter = CniTaintLifter.start(client, NS, SELECTOR, KEY, Watches.standalone(Metrics.standalone(), Clock.systemUTC()));
    await("n1 loses the taint", () -> !taints("n1").contains(KEY));
    assertEquals(List.of("dedicated"), taints("n1"), "other taints stay");

    // n2's worker becomes ready later
    assertEquals(List.of(KEY), taints("n2"));
    client.pods().inNamespace(NS).resource(workerPod("w2", "n2", true, "worker")).update();
    await("n2 loses the taint", () -> taints("n2").isEmpty());
    assertEquals(List.of(KEY), taints("n3"), "no worker pod of ours is ready there");
  }

  @Test
  void thePatchRemovesTheTaintAtItsIndexOnlyIfItIsStillThere() {
    assertEquals("[{\"op\":\"test\",\"path\":\"/spec/taints/1/key\",\"value\":\"" + KEY + "\"},"
        + "{\"op\":\"remove\",\"path\":\"/spec/taints/1\"}]", CniTaintLifter.removal(node("n", "a", KEY), KEY).orElseThrow());
    assertTrue(CniTaintLifter.removal(node("n", "a"), KEY).isEmpty());
    assertTrue(CniTaintLifter.removal(node("n"), KEY).isEmpty());
    assertEquals(Map.of("a", "b", "c", "d"), CniTaintLifter.labels("a=b, c=d"));
    assertThrows(IllegalArgumentException.class, () -> CniTaintLifter.labels("a"));
    assertThrows(IllegalArgumentException.class, () -> CniTaintLifter.labels("a=b,=c"));
  }

  @Test
  void aPodWithoutTheReadyConditionIsNotReady() {
    assertTrue(CniTaintLifter.ready(workerPod("w", "n", true, "worker")));
    assertTrue(!CniTaintLifter.ready(new PodBuilder().withNewMetadata().withName("x").endMetadata().build()));
    assertTrue(Duration.ofSeconds(5).equals(CniTaintLifter.RETRY_MIN));
  }
}
