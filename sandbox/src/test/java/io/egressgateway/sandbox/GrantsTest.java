package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.armsim.ArmSimulator;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The pieces of the sandbox's grants scenario that need no cluster: the e2e manifests grant the BYO prefix to
 * namespace e2e (before the SGC that needs it), conditions are read from an SGC's status, and the ARM check finds
 * what names a configuration's uid (and nothing else).
 */
class GrantsTest {
  static final ResourceDefinitionContext GRANT = new ResourceDefinitionContext.Builder()
      .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1")
      .withKind("EgressPrefixGrant").withPlural("egressprefixgrants").withNamespaced(false).build();
  static final String PREFIX = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/byo-prefix";

  @Test
  void theE2eManifestsGrantTheByoPrefixToNamespaceE2eOnlyAndBeforeItsConfiguration() {
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      api.installCrds(Path.of("..", "charts", "kube-egress-gateway", "crds"));
      List<String> applied = Demo.apply(api.client(), E2e.manifests(PREFIX, "10.224.0.30"));
      int grant = applied.indexOf("EgressPrefixGrant " + Grants.GRANT);
      assertTrue(grant >= 0, applied.toString());
      assertTrue(grant < applied.indexOf("StaticGatewayConfiguration e2e/byo"), "granted before the SGC that needs it: " + applied);
      GenericKubernetesResource g = api.client().genericKubernetesResources(GRANT).withName(Grants.GRANT).get();
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = (Map<String, Object>) g.getAdditionalProperties().get("spec");
      assertEquals(List.of(PREFIX), spec.get("publicIpPrefixIds"));
      assertEquals(List.of(E2e.NS), spec.get("namespaces"), "no other namespace, so the scenario's " + Grants.DENIED_NS + " is not granted");
      assertTrue(!spec.containsKey("namespaceSelector"), spec.toString());
    }
  }

  @Test
  void conditionsAreReadFromTheStatus() {
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      api.installCrds(Path.of("..", "charts", "kube-egress-gateway", "crds"));
      var sgcs = api.client().genericKubernetesResources(Demo.SGC).inNamespace("ns");
      GenericKubernetesResource created = sgcs.resource(new GenericKubernetesResourceBuilder()
          .withApiVersion("egressgateway.kubernetes.azure.com/v1alpha1").withKind("StaticGatewayConfiguration")
          .withNewMetadata().withName("c").withNamespace("ns").endMetadata()
          .addToAdditionalProperties("spec", Map.of("gatewayNodepoolName", "gwpool"))
          .build()).create();
      created.setAdditionalProperty("status", Map.of("conditions", List.of(
          Map.of("type", "Accepted", "status", "False", "reason", "PrefixNotGranted", "message", "namespace ns is not granted"),
          Map.of("type", "Ready", "status", "False", "reason", "PrefixNotGranted", "message", "m"))));
      sgcs.resource(created).updateStatus();
      Grants.Condition accepted = Grants.condition(api.client(), "ns", "c", "Accepted");
      assertTrue(accepted.is("False", "PrefixNotGranted"), accepted.toString());
      assertEquals("namespace ns is not granted", accepted.message());
      assertEquals(Grants.Condition.NONE, Grants.condition(api.client(), "ns", "c", "PrefixGranted"));
      assertEquals(Grants.Condition.NONE, Grants.condition(api.client(), "ns", "absent", "Accepted"));
    }
  }

  @Test
  void armReferencesFindResourcesNamingTheUidAndNothingElse() {
    ArmSimulator arm = ArmSimulator.start();
    try {
      String subnet = arm.seedNetwork("rg", "vnet", "nodes", "10.224.0.0/16");
      String vmss = arm.seedVmss("rg", "gw", "gwpool", 1, subnet);
      arm.seedPublicIpPrefix("rg", "byo-prefix", 31);
      String uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
      assertEquals(List.of(), Grants.armReferences(arm, uid), "a fresh subscription names no configuration");
      arm.mutate(vmss, v -> v.with("properties").put("note", "ipConfig egressgateway-" + uid));
      assertEquals(List.of(vmss.toLowerCase() + " (mentions it)"), Grants.armReferences(arm, uid).stream()
          .map(String::toLowerCase).toList());
      assertEquals(List.of(), Grants.armReferences(arm, "11111111-2222-3333-4444-555555555555"));
      assertEquals(List.of("(no uid to look for)"), Grants.armReferences(arm, ""), "no uid is never taken for no reference");
    } finally {
      arm.close();
    }
  }
}
