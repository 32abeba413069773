package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.view.PolicyViews;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * EgressGatewayPolicies against fabric8's mock API server (CRUD mode) with one controller member: a policy reaches the
 * replicated policy view with its namespace selector resolved, follows namespace labels, says in its status whether
 * its configuration exists; a malformed one selects nothing and takes nothing down; a deleted one leaves the view.
 * The mock does not validate the CRD schema, which is what lets a malformed policy in here at all.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyTest extends MockControllerTest {
  static final ResourceDefinitionContext POLICY = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind("EgressGatewayPolicy").withPlural("egressgatewaypolicies").withNamespaced(false).build();

  PolicyViews view;

  @BeforeAll
  void start() {
    MockController.crds(client, "staticgatewayconfigurations", "podendpoints", "gatewaystatuses", "egressprefixgrants",
        "egressgatewaypolicies");
    MockController.namespaces(client, RELEASE_NS, "egress");
    namespace("data-1", Map.of("team", "data"));
    namespace("data-2", Map.of("team", "other"));
    namespace("web", Map.of("team", "web"));
    MockController.gatewayNode(client, "gw-1", "gwpool");
    MockController.createSgc(client, "egress", "gw", s -> s.setGatewayNodepoolName("gwpool"));
    ctl = MockController.start(client, "ctrl-policies", "");
    assertTrue(ctl.settings().policiesEnabled(), "policies are on by default");
    view = PolicyViews.get(ctl.system());
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
