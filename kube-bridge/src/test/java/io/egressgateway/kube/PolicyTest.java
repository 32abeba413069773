package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.view.PolicyViews;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationSpec;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * EgressGatewayPolicies against fabric8's mock API server (CRUD mode) with one controller member: a policy reaches the
 * replicated policy view with its namespace selector resolved, follows namespace labels, says in its status whether
 * its configuration exists; a malformed one selects nothing and takes nothing down; a deleted one leaves the view.
 * The mock does not validate the CRD schema, which is what lets a malformed policy in here at all.
 */
@EnableKubernetesMockClient(crud = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyTest {
  static final String RELEASE_NS = "egress-system";
  static final ResourceDefinitionContext POLICY = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind("EgressGatewayPolicy").withPlural("egressgatewaypolicies").withNamespaced(false).build();

  static KubernetesClient client;
  static KubernetesMockServer server;

  TestMembers members;
  EgressMember controller;
  ControllerBridge bridge;
  PolicyViews view;

  @BeforeAll
  void start() throws Exception {
    for (String plural : List.of("staticgatewayconfigurations", "podendpoints", "gatewaystatuses", "egressprefixgrants",
        "egressgatewaypolicies")) {
      String yaml = Files.readString(CrdFilesTest.GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
      client.resource(client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class)).create();
    }
    namespace(RELEASE_NS, Map.of());
    namespace("egress", Map.of());
    namespace("data-1", Map.of("team", "data"));
    namespace("data-2", Map.of("team", "other"));
    namespace("web", Map.of("team", "web"));
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gw-1").addToLabels("kubeegressgateway.azure.com/mode", "true")
        .addToLabels("kubernetes.azure.com/agentpool", "gwpool").endMetadata().build()).create();
    StaticGatewayConfiguration sgc = new StaticGatewayConfiguration();
    sgc.getMetadata().setName("gw");
    sgc.getMetadata().setNamespace("egress");
    StaticGatewayConfigurationSpec spec = new StaticGatewayConfigurationSpec();
    spec.setGatewayNodepoolName("gwpool");
    sgc.setSpec(spec);
    client.resource(sgc).create();

    KubeBridgeSettings settings = KubeBridgeSettings.fromConfig(ConfigFactory.parseString("egress.kube-bridge.resync = 2s")
        .withFallback(ConfigFactory.load())).withNamespace(RELEASE_NS);
    assertTrue(settings.policiesEnabled(), "policies are on by default");
    members = new TestMembers();
    controller = members.startUp("ctrl-policies", List.of(Roles.CONTROLLER), null);
    GatewayConfig.init(controller.system(), new GatewayConfig.Ports(new Fabric8SgcApi(client, RELEASE_NS),
        new InMemoryAzureProvisioner(), settings));
    bridge = ControllerBridge.start(controller.system(), client, settings);
    view = PolicyViews.get(controller.system());
  }

  @AfterAll
  void stop() {
    if (bridge != null) {
      bridge.close();
    }
    if (members != null) {
      members.close();
    }
    MockApiQuiet.await(client);
  }

  @Test
  @Order(1)
  void aPolicyReachesTheNodesWithItsNamespacesResolvedAndIsAccepted() {
    policy("data-batch", Map.of(
        "namespaceSelector", Map.of("matchLabels", Map.of("team", "data")),
        "podSelector", Map.of("matchExpressions", List.of(Map.of("key", "app", "operator", "In", "values", List.of("batch")))),
        "gatewayConfiguration", Map.of("namespace", "egress", "name", "gw"),
        "someFieldFromTheFuture", "ignored"));
    PrefixGrantTest.await(() -> view.current().containsKey("data-batch"), "policy in the view");
    GatewayPolicy p = view.current().get("data-batch");
    assertEquals(List.of("data-1"), p.namespaces());
    assertEquals("egress/gw", p.configKey());
    assertTrue(p.selects("data-1", Map.of("app", "batch")));
    assertFalse(p.selects("data-1", Map.of("app", "web")));
    PrefixGrantTest.await(() -> "True".equals(accepted("data-batch", "status")), "Accepted=True");
    assertEquals("Resolved", accepted("data-batch", "reason"));
    assertEquals(1, status("data-batch").get("selectedNamespaces"));
    assertEquals("egress/gw", status("data-batch").get("configuration"));
  }

  @Test
  @Order(2)
  void aNamespaceThatGainsTheLabelIsSelectedWithoutTouchingThePolicy() {
    namespace("data-2", Map.of("team", "data"));
    PrefixGrantTest.await(() -> view.current().get("data-batch").namespaces().equals(List.of("data-1", "data-2")),
        "data-2 selected");
    PrefixGrantTest.await(() -> Integer.valueOf(2).equals(status("data-batch").get("selectedNamespaces")), "count 2");
    namespace("data-2", Map.of("team", "other"));
    PrefixGrantTest.await(() -> view.current().get("data-batch").namespaces().equals(List.of("data-1")), "data-2 let go");
  }

  @Test
  @Order(3)
  void aPolicyNamingAMissingConfigurationIsPublishedButNotAccepted() {
    policy("ghost", Map.of("namespaceSelector", Map.of(), "gatewayConfiguration", Map.of("namespace", "egress", "name", "nope")));
    PrefixGrantTest.await(() -> "GatewayConfigurationNotFound".equals(accepted("ghost", "reason")), "ghost not found");
    assertEquals("False", accepted("ghost", "status"));
    assertTrue(accepted("ghost", "message").contains("egress/nope does not exist"), accepted("ghost", "message"));
    PrefixGrantTest.await(() -> view.current().containsKey("ghost"), "ghost published (its pods fail closed)");
    assertEquals(5, view.current().get("ghost").namespaces().size(), "{} selects every namespace");
  }

  @Test
  @Order(4)
  void aMalformedPolicySelectsNothingAndTheOthersStay() {
    policy("broken", Map.of("podSelector", Map.of(), "gatewayConfiguration", Map.of("namespace", "egress", "name", "gw")));
    policy("bad-op", Map.of("namespaceSelector", Map.of("matchExpressions", List.of(Map.of("key", "a", "operator", "Near"))),
        "gatewayConfiguration", Map.of("namespace", "egress", "name", "gw")));
    policy("wrong-type", Map.of("namespaceSelector", "everything", "gatewayConfiguration", Map.of("namespace", "egress", "name", "gw")));
    for (String name : List.of("broken", "bad-op", "wrong-type")) {
      PrefixGrantTest.await(() -> "Malformed".equals(accepted(name, "reason")), name + " malformed");
      assertFalse(view.current().containsKey(name), name + " not published");
    }
    assertTrue(accepted("broken", "message").contains("namespaceSelector is not set"), accepted("broken", "message"));
    assertTrue(accepted("bad-op", "message").contains("'Near'"), accepted("bad-op", "message"));
    assertTrue(view.current().containsKey("data-batch"), "the well-formed policies stay");
  }

  @Test
  @Order(5)
  void aDeletedPolicyLeavesTheView() {
    client.genericKubernetesResources(POLICY).withName("data-batch").delete();
    PrefixGrantTest.await(() -> !view.current().containsKey("data-batch"), "data-batch gone from the view");
    assertTrue(view.current().containsKey("ghost"));
  }

  // ---- helpers

  void namespace(String name, Map<String, String> labels) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata().build())
        .createOr(op -> op.update());
  }

  void policy(String name, Map<String, Object> spec) {
    client.genericKubernetesResources(POLICY).resource(new GenericKubernetesResourceBuilder()
        .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
        .withKind("EgressGatewayPolicy")
        .withNewMetadata().withName(name).endMetadata()
        .addToAdditionalProperties("spec", spec)
        .build()).create();
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> status(String name) {
    GenericKubernetesResource p = client.genericKubernetesResources(POLICY).withName(name).get();
    Object s = p == null ? null : p.getAdditionalProperties().get("status");
    return s instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  @SuppressWarnings("unchecked")
  String accepted(String name, String field) {
    Object conditions = status(name).get("conditions");
    if (!(conditions instanceof List<?> list)) {
      return "";
    }
    return list.stream().map(c -> (Map<String, Object>) c).filter(c -> "Accepted".equals(c.get("type")))
        .map(c -> String.valueOf(c.get(field))).findFirst().orElse("");
  }
}
