package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where the chart's workloads may run on nodes labelled and tainted like AKS pools. */
class SchedulingTest {
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  static Node node(String name, Map<String, String> labels, String taint) {
    NodeBuilder b = new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata();
    if (taint != null) {
      String[] kv = taint.split("[=:]");
      b.withNewSpec().addNewTaint().withKey(kv[0]).withValue(kv[1]).withEffect(kv[2]).endTaint().endSpec();
    }
    return b.build();
  }

  static final Node USER = node("worker-1", Map.of("kubernetes.io/os", "linux", "kubernetes.azure.com/agentpool", "nodepool1"), null);
  static final Node GATEWAY = node("gwpool000000", Map.of("kubernetes.io/os", "linux", "kubeegressgateway.azure.com/mode", "true"),
      "kubeegressgateway.azure.com/mode=true:NoSchedule");
  static final Node AKS_GATEWAY = node("aks-gw-0", Map.of("kubernetes.io/os", "linux", "kubernetes.azure.com/mode", "gateway"),
      "kubernetes.azure.com/mode=gateway:NoSchedule");

  /** The gateway DaemonSet's placement, as the chart renders it. */
  static final PodSpec GATEWAY_SPEC = YAML.unmarshal("""
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: kubernetes.io/os, operator: In, values: [linux]}
                  - {key: kubeegressgateway.azure.com/mode, operator: In, values: ["true"]}
              - matchExpressions:
                  - {key: kubernetes.io/os, operator: In, values: [linux]}
                  - {key: kubernetes.azure.com/mode, operator: In, values: [gateway]}
      tolerations:
        - {key: kubeegressgateway.azure.com/mode, operator: Equal, value: "true", effect: NoSchedule}
        - {key: kubernetes.azure.com/mode, operator: Exists}
      containers: [{name: gateway, image: x}]
      """, PodSpec.class);

  /** The worker DaemonSet's: every other Linux node, whatever its taints. */
  static final PodSpec WORKER_SPEC = YAML.unmarshal("""
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: kubernetes.io/os, operator: In, values: [linux]}
                  - {key: kubeegressgateway.azure.com/mode, operator: NotIn, values: ["true"]}
                  - {key: kubernetes.azure.com/mode, operator: NotIn, values: [gateway]}
      tolerations: [{operator: Exists}]
      containers: [{name: worker, image: x}]
      """, PodSpec.class);

  /** The controller Deployment's: a Linux node selector, no tolerations. */
  static final PodSpec CONTROLLER_SPEC = YAML.unmarshal("""
      nodeSelector: {kubernetes.io/os: linux}
      containers: [{name: controller, image: x}]
      """, PodSpec.class);

  @Test
  void gatewaysRunOnGatewayPoolsOnly() {
    assertTrue(Scheduling.fits(GATEWAY_SPEC, GATEWAY));
    assertTrue(Scheduling.fits(GATEWAY_SPEC, AKS_GATEWAY));
    assertEquals("required node affinity", Scheduling.misfit(GATEWAY_SPEC, USER).orElseThrow());
  }

  @Test
  void workersRunOnEveryOtherLinuxNodeWhateverItsTaints() {
    assertTrue(Scheduling.fits(WORKER_SPEC, USER));
    assertTrue(Scheduling.fits(WORKER_SPEC, node("tainted", Map.of("kubernetes.io/os", "linux"), "dedicated=x:NoExecute")));
    assertFalse(Scheduling.fits(WORKER_SPEC, GATEWAY));
    assertFalse(Scheduling.fits(WORKER_SPEC, AKS_GATEWAY));
    assertFalse(Scheduling.fits(WORKER_SPEC, node("win", Map.of("kubernetes.io/os", "windows"), null)));
  }

  @Test
  void controllersAvoidTaintedNodesAndSpreadOverTheRest() {
    assertTrue(Scheduling.misfit(CONTROLLER_SPEC, GATEWAY).orElseThrow().startsWith("untolerated taint kubeegressgateway"));
    Node worker2 = node("worker-2", Map.of("kubernetes.io/os", "linux"), null);
    assertEquals("worker-2", Scheduling.leastLoaded(CONTROLLER_SPEC, List.of(GATEWAY, USER, worker2),
        n -> n.getMetadata().getName().equals("worker-1") ? 1 : 0).orElseThrow().getMetadata().getName());
    assertEquals("worker-1", Scheduling.leastLoaded(CONTROLLER_SPEC, List.of(GATEWAY, USER, worker2), n -> 0)
        .orElseThrow().getMetadata().getName(), "ties go by name");
    assertTrue(Scheduling.leastLoaded(CONTROLLER_SPEC, List.of(GATEWAY), n -> 0).isEmpty());
  }

  @Test
  void tolerationOperatorsAndEffects() {
    var taint = SchedulingTest.GATEWAY.getSpec().getTaints().get(0);
    var tol = new io.fabric8.kubernetes.api.model.TolerationBuilder();
    assertTrue(Scheduling.tolerates(tol.withKey(taint.getKey()).withOperator("Exists").build(), taint));
    assertTrue(Scheduling.tolerates(tol.withOperator("Equal").withValue("true").withEffect("NoSchedule").build(), taint));
    assertFalse(Scheduling.tolerates(tol.withValue("false").build(), taint));
    assertFalse(Scheduling.tolerates(tol.withValue("true").withEffect("NoExecute").build(), taint));
    assertTrue(Scheduling.tolerates(new io.fabric8.kubernetes.api.model.TolerationBuilder().withOperator("Exists").build(), taint));
  }
}
