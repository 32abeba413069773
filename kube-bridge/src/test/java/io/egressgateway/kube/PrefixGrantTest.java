package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.health.Watches;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationSpec;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.SgcMapping;
import io.egressgateway.kube.model.SgcStatus;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Bring-your-own prefix grants enforced, against fabric8's mock API server (CRUD mode) with one controller member:
 * an SGC naming a prefix its namespace was not granted is refused (and provisions nothing) until a grant lists both;
 * a grant for another namespace does not count; a revoked grant leaves the provisioned SGC serving but no longer
 * accepted; malformed grants grant nothing, are reported, and take nothing down; a namespace selector follows the
 * namespace's labels. The mock does not validate the
 * CRD schema, which is what lets malformed grants in here at all.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PrefixGrantTest extends MockControllerTest {
  static final String NS = "team-a";
  static final String OTHER = "team-b";
  static final String LABELLED = "team-c";
  static final String PREFIX = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/";
  static final ResourceDefinitionContext GRANT = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind("EgressPrefixGrant").withPlural("egressprefixgrants").withNamespaced(false).build();

  InMemoryAzureProvisioner azure;

  @BeforeAll
  void start() {
    MockController.crds(client, "staticgatewayconfigurations", "podendpoints", "gatewaystatuses", "egressprefixgrants");
    MockController.namespaces(client, RELEASE_NS, NS, OTHER, LABELLED, "default");
    MockController.gatewayNode(client, "gw-1", "gwpool");
    MockController.gatewayNode(client, "gw-2", "gwpool");
    // granted before the controller starts: honoured from the first snapshot on
    grant("early", List.of(PREFIX + "early"), List.of(NS));
    ctl = MockController.start(client, "ctrl-grants", "prefix-grants.enforce = true");
    assertTrue(ctl.settings().prefixGrantsEnforced());
    azure = ctl.azure();
  }

  @Test
  @Order(1)
  void aGrantedPrefixProvisionsAndAManagedPrefixNeedsNoGrant() {
    create(NS, "early", byo("early"));
    create(NS, "managed", s -> s.setGatewayNodepoolName("gwpool"));
    awaitReady(NS, "early");
    awaitReady(NS, "managed");
    SgcStatus.Condition granted = status(NS, "early").condition(SgcStatus.PREFIX_GRANTED).orElseThrow();
    assertTrue(granted.isTrue());
    assertEquals("Granted", granted.reason());
    assertTrue(granted.message().contains("EgressPrefixGrant early"), granted.message());
    assertTrue(status(NS, "managed").condition(SgcStatus.PREFIX_GRANTED).isEmpty(), "no bring-your-own prefix, no condition");
  }

  @Test
  @Order(2)
  void anUngrantedPrefixIsRefusedUntilAGrantListsItsNamespace() {
    create(NS, "late", byo("late"));
    awaitRefused(NS, "late");
    SgcStatus st = status(NS, "late");
    assertFalse(st.isReady());
    SgcStatus.Condition accepted = st.condition(SgcStatus.ACCEPTED).orElseThrow();
    assertTrue(accepted.message().contains("namespace team-a is not granted publicIpPrefixId"), accepted.message());
    assertFalse(st.condition(SgcStatus.PREFIX_GRANTED).orElseThrow().isTrue());
    awaitWarning(NS, "late", "PrefixNotGranted");
    String uid = get(NS, "late").getMetadata().getUid();
    assertFalse(azure.provisionedUids().contains(uid), "nothing provisioned for a refused prefix");
    assertFalse(get(NS, "late").getMetadata().getFinalizers().contains(StaticGatewayConfiguration.FINALIZER));

    // a grant of this prefix to another namespace does not count
    grant("late-for-b", List.of(PREFIX + "late"), List.of(OTHER));
    create(OTHER, "late", byo("late"));
    awaitReady(OTHER, "late");
    assertEquals("PrefixNotGranted", status(NS, "late").condition(SgcStatus.ACCEPTED).orElseThrow().reason());

    // granted later: provisioned without a restart; the id may differ in case, as in Azure
    delete("late-for-b");
    deleteSgc(OTHER, "late");
    grant("late-for-a", List.of((PREFIX + "late").toLowerCase()), List.of(NS));
    awaitReady(NS, "late");
    assertTrue(status(NS, "late").condition(SgcStatus.ACCEPTED).orElseThrow().isTrue());
    assertTrue(status(NS, "late").condition(SgcStatus.PREFIX_GRANTED).orElseThrow().isTrue());
    assertTrue(azure.provisionedUids().contains(uid));
  }

  @Test
  @Order(3)
  void aRevokedGrantLeavesTheConfigServingButNotAccepted() {
    String uid = get(NS, "early").getMetadata().getUid();
    int port = status(NS, "early").port();
    delete("early");
    awaitRefused(NS, "early");
    SgcStatus st = status(NS, "early");
    assertTrue(st.isReady(), "still serving the last accepted spec");
    assertEquals(port, st.port());
    assertEquals("still serving the last accepted spec", st.condition(SgcStatus.READY).orElseThrow().message());
    assertFalse(st.condition(SgcStatus.PREFIX_GRANTED).orElseThrow().isTrue());
    assertTrue(azure.provisionedUids().contains(uid), "revoking releases nothing in Azure");
    awaitWarning(NS, "early", "PrefixNotGranted");
    // a change of the spec while not granted is not applied
    StaticGatewayConfiguration sgc = get(NS, "early");
    sgc.getSpec().setExcludeCidrs(List.of("10.0.0.0/8"));
    client.resource(sgc).update();
    await(() -> status(NS, "early").observedGeneration() == get(NS, "early").getMetadata().getGeneration(), "new generation seen");
    assertEquals("PrefixNotGranted", status(NS, "early").condition(SgcStatus.ACCEPTED).orElseThrow().reason());
    // granted again: accepted again, and the pending change goes through
    grant("early-again", List.of(PREFIX + "early"), List.of(NS));
    await(() -> status(NS, "early").condition(SgcStatus.ACCEPTED).map(SgcStatus.Condition::isTrue).orElse(false), "accepted again");
    awaitReady(NS, "early");
    assertEquals(uid, get(NS, "early").getMetadata().getUid());
  }

  @Test
  @Order(4)
  void anUngrantedOlderClaimDoesNotKeepAGrantedNamespaceFromItsPrefix() {
    create(OTHER, "squatter", byo("contested"));
    awaitRefused(OTHER, "squatter");
    grant("contested", List.of(PREFIX + "contested"), List.of(NS));
    create(NS, "owner", byo("contested"));
    awaitReady(NS, "owner");
    assertEquals("PrefixNotGranted", status(OTHER, "squatter").condition(SgcStatus.ACCEPTED).orElseThrow().reason());
  }

  @Test
  @Order(5)
  void malformedGrantsGrantNothingAreReportedAndTakeNothingDown() {
    grantRaw("wrong-type", Map.of("publicIpPrefixIds", PREFIX + "broken", "namespaces", List.of(NS)));
    grantRaw("no-namespaces", Map.of("publicIpPrefixIds", List.of(PREFIX + "broken")));
    grantRaw("no-spec", null);
    grantRaw("bad-selector", Map.of("publicIpPrefixIds", List.of(PREFIX + "broken"),
        "namespaceSelector", Map.of("matchExpressions", List.of(Map.of("key", "team", "operator", "Equals", "values", List.of("a"))))));
    create(NS, "broken", byo("broken"));
    awaitRefused(NS, "broken");
    // the refusal is re-sent as each grant reaches the cache: wait for the one that names them all
    await(() -> status(NS, "broken").condition(SgcStatus.ACCEPTED).orElseThrow().message().contains("bad-selector"),
        "refusal naming every malformed grant");
    String message = status(NS, "broken").condition(SgcStatus.ACCEPTED).orElseThrow().message();
    assertTrue(message.contains("ignored as malformed"), message);
    assertTrue(message.contains("no-namespaces: neither spec.namespaces nor spec.namespaceSelector is set"), message);
    assertTrue(message.contains("no-spec: it has no spec"), message);
    assertTrue(message.contains("wrong-type: its spec could not be read"), message);
    assertTrue(message.contains("bad-selector: spec.namespaceSelector: matchExpressions operator 'Equals'"), message);
    for (String name : List.of("wrong-type", "no-namespaces", "no-spec", "bad-selector")) {
      await(() -> grantEvents(name).stream().anyMatch(e -> "Warning".equals(e.getType())
          && "MalformedGrant".equals(e.getReason()) && e.getMessage().startsWith("EgressPrefixGrant " + name + " is ignored")),
          "MalformedGrant event for " + name);
    }
    // the others are served as before, and the watch stays up
    assertTrue(status(NS, "early").isReady());
    assertTrue(status(NS, "early").condition(SgcStatus.ACCEPTED).orElseThrow().isTrue());
    create(NS, "after-broken", s -> s.setGatewayNodepoolName("gwpool"));
    awaitReady(NS, "after-broken");
    Watches watches = Watches.get(ctl.system());
    assertTrue(watches.allUp(), "every controller informer watching: " + watches.down());
    String scrape = Metrics.get(ctl.system()).scrape();
    assertTrue(scrape.contains("egress_informer_up{resource=\"egressprefixgrants\"} 1"), scrape);
    assertTrue(scrape.contains("egress_informer_restarts_total{resource=\"egressprefixgrants\"} 0"), scrape);
    // fixed: grants as written
    grantRaw("no-namespaces", Map.of("publicIpPrefixIds", List.of(PREFIX + "broken"), "namespaces", List.of(NS)));
    awaitReady(NS, "broken");
  }

  @Test
  @Order(6)
  void aNamespaceSelectorFollowsTheNamespacesLabels() {
    grantRaw("by-label", Map.of("publicIpPrefixIds", List.of(PREFIX + "labelled"),
        "namespaceSelector", Map.of("matchLabels", Map.of("egress.example.com/prefix", "labelled"))));
    create(LABELLED, "labelled", byo("labelled"));
    awaitRefused(LABELLED, "labelled");
    // labelled later: granted without a restart
    client.namespaces().withName(LABELLED).edit(n -> {
      n.getMetadata().setLabels(Map.of("egress.example.com/prefix", "labelled"));
      return n;
    });
    awaitReady(LABELLED, "labelled");
    assertTrue(status(LABELLED, "labelled").condition(SgcStatus.PREFIX_GRANTED).orElseThrow().message()
        .contains("EgressPrefixGrant by-label"));
    // the label removed: refused again, and (provisioned) still serving
    client.namespaces().withName(LABELLED).edit(n -> {
      n.getMetadata().setLabels(Map.of());
      return n;
    });
    awaitRefused(LABELLED, "labelled");
    assertTrue(status(LABELLED, "labelled").isReady());
  }

  // ---- helpers

  static Consumer<StaticGatewayConfigurationSpec> byo(String prefix) {
    return s -> {
      s.setGatewayNodepoolName("gwpool");
      s.setPublicIpPrefixId(PREFIX + prefix);
    };
  }

  void grant(String name, List<String> prefixIds, List<String> namespaces) {
    grantRaw(name, Map.of("publicIpPrefixIds", prefixIds, "namespaces", namespaces));
  }

  void grantRaw(String name, Map<String, Object> spec) {
    var b = new GenericKubernetesResourceBuilder()
        .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
        .withKind("EgressPrefixGrant")
        .withNewMetadata().withName(name).endMetadata();
    if (spec != null) {
      b.addToAdditionalProperties("spec", spec);
    }
    client.genericKubernetesResources(GRANT).resource(b.build()).createOr(op -> op.update());
  }

  void delete(String grant) {
    client.genericKubernetesResources(GRANT).withName(grant).delete();
  }

  void create(String ns, String name, Consumer<StaticGatewayConfigurationSpec> spec) {
    MockController.createSgc(client, ns, name, spec);
  }

  void deleteSgc(String ns, String name) {
    client.resources(StaticGatewayConfiguration.class).inNamespace(ns).withName(name).delete();
    await(() -> get(ns, name) == null, ns + "/" + name + " gone");
  }

  StaticGatewayConfiguration get(String ns, String name) {
    return client.resources(StaticGatewayConfiguration.class).inNamespace(ns).withName(name).get();
  }

  SgcStatus status(String ns, String name) {
    StaticGatewayConfiguration sgc = get(ns, name);
    return sgc == null ? SgcStatus.EMPTY : SgcMapping.status(sgc.getStatus());
  }

  void awaitReady(String ns, String name) {
    await(() -> status(ns, name).isReady()
        && status(ns, name).condition(SgcStatus.ACCEPTED).map(SgcStatus.Condition::isTrue).orElse(false), ns + "/" + name + " Ready");
  }

  void awaitRefused(String ns, String name) {
    await(() -> status(ns, name).condition(SgcStatus.ACCEPTED).map(c -> "PrefixNotGranted".equals(c.reason())).orElse(false),
        ns + "/" + name + " refused");
  }

  void awaitWarning(String ns, String name, String messagePrefix) {
    await(() -> client.v1().events().inNamespace(ns).list().getItems().stream()
        .anyMatch(e -> name.equals(e.getInvolvedObject().getName()) && "Warning".equals(e.getType())
            && e.getMessage().startsWith(messagePrefix)), "warning event for " + ns + "/" + name);
  }

  List<Event> grantEvents(String name) {
    return client.v1().events().inNamespace("default").list().getItems().stream()
        .filter(e -> "EgressPrefixGrant".equals(e.getInvolvedObject().getKind()) && name.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  static void await(BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(Duration.ofSeconds(20), condition, what);
  }
}
