package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The gateways' WireGuard key Secrets live in a namespace of their own that holds nothing else: RBAC cannot limit a
 * right to Secrets by name prefix, so there the gateway may only get a Secret, and in the release namespace (Azure
 * credentials, journal password, cluster TLS keys) it has no right to Secrets at all.
 */
class GatewayKeysTest {
  static final String KEYS = Chart.NAMESPACE + "-keys";
  static final String CONTROLLER = Chart.RELEASE + "-kube-egress-gateway-controller";
  static final String GATEWAY = Chart.RELEASE + "-kube-egress-gateway-gateway";

  @Test
  void theGatewayMayOnlyGetSecretsAndOnlyInTheKeyNamespace() {
    List<HasMetadata> docs = Chart.render(t -> t);
    Namespace ns = Chart.all(docs, Namespace.class).stream().filter(n -> n.getMetadata().getName().equals(KEYS))
        .findFirst().orElseThrow(() -> new AssertionError("no key namespace " + KEYS));
    assertEquals("restricted", ns.getMetadata().getLabels().get("pod-security.kubernetes.io/enforce"));

    // what each role may do with Secrets, by namespace
    assertEquals(Set.of(), secretVerbs(docs, GATEWAY, Chart.NAMESPACE), "the gateway: no Secret of the release namespace");
    assertEquals(Set.of("get"), secretVerbs(docs, GATEWAY, KEYS), "the gateway: get one key Secret by name, nothing else");
    assertEquals(Set.of("get", "delete"), secretVerbs(docs, CONTROLLER, Chart.NAMESPACE),
        "the controller: only to move the key Secrets of an earlier release");
    assertEquals(Set.of("get", "list", "watch", "create", "update", "delete"), secretVerbs(docs, CONTROLLER, KEYS));
    for (String ns2 : List.of(Chart.NAMESPACE, KEYS)) {
      assertEquals(Set.of(), secretVerbs(docs, Chart.RELEASE + "-kube-egress-gateway-worker", ns2), "the worker: " + ns2);
    }
    for (ClusterRole cr : Chart.all(docs, ClusterRole.class)) {
      assertTrue(cr.getRules().stream().noneMatch(r -> r.getResources().contains("secrets")), cr.getMetadata().getName());
    }
    // the key namespace's Roles grant Secrets only
    for (Role r : Chart.all(docs, Role.class)) {
      if (KEYS.equals(r.getMetadata().getNamespace())) {
        for (PolicyRule p : r.getRules()) {
          assertEquals(List.of(""), p.getApiGroups());
          assertEquals(List.of("secrets"), p.getResources(), r.getMetadata().getName());
        }
      }
    }

    // both read the key namespace from the chart
    assertEquals(KEYS, Workloads.env(Workloads.controller(docs), "EGRESS_KEY_NAMESPACE"));
    assertEquals(KEYS, Workloads.env(Workloads.gateway(docs), "EGRESS_KEY_NAMESPACE"));
  }

  @Test
  void anExistingKeyNamespaceIsUsedAndNotMade() {
    List<HasMetadata> docs = Chart.render(t -> t.set("gatewayKeys.namespace", "wg-keys").set("gatewayKeys.create", "false"));
    assertTrue(Chart.all(docs, Namespace.class).isEmpty(), "the chart makes no namespace");
    assertEquals(Set.of("get"), secretVerbs(docs, GATEWAY, "wg-keys"));
    assertEquals(Set.of(), secretVerbs(docs, GATEWAY, KEYS));
    assertEquals("wg-keys", Workloads.env(Workloads.gateway(docs), "EGRESS_KEY_NAMESPACE"));
    List<HasMetadata> made = Chart.render(t -> t.set("gatewayKeys.namespace", "wg-keys"));
    assertEquals(List.of("wg-keys"), Chart.all(made, Namespace.class).stream().map(n -> n.getMetadata().getName()).toList());
  }

  @Test
  void theReleaseNamespaceCannotBeTheKeyNamespace() {
    Exception e = assertThrows(Exception.class, () -> Chart.minimal().set("gatewayKeys.namespace", Chart.NAMESPACE).call());
    assertTrue(e.getMessage().contains("gatewayKeys.namespace must not be the release namespace"), e.getMessage());
    assertThrows(Exception.class, () -> Chart.minimal().set("gatewayKeys.namespace", "Not_A_Namespace").call());
  }

  /** The verbs on Secrets that Roles in {@code namespace} bound to {@code serviceAccount} grant it. */
  static Set<String> secretVerbs(List<HasMetadata> docs, String serviceAccount, String namespace) {
    Set<String> roles = Chart.all(docs, RoleBinding.class).stream()
        .filter(b -> namespace.equals(b.getMetadata().getNamespace()))
        .filter(b -> b.getSubjects().stream().anyMatch(s -> s.getKind().equals("ServiceAccount")
            && s.getName().equals(serviceAccount) && Chart.NAMESPACE.equals(s.getNamespace())))
        .map(b -> b.getRoleRef().getName()).collect(Collectors.toSet());
    return Chart.all(docs, Role.class).stream()
        .filter(r -> namespace.equals(r.getMetadata().getNamespace()) && roles.contains(r.getMetadata().getName()))
        .flatMap(r -> r.getRules().stream()).filter(p -> p.getResources().contains("secrets"))
        .flatMap(p -> p.getVerbs().stream()).collect(Collectors.toSet());
  }
}
