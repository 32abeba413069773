package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, item 4: what each workload may do on its node and through the API server, on the rendered
 * manifests. Every container runs under the runtime's default seccomp profile and drops every capability
 * before adding any; no container is privileged (the gateway's namespaces come from the namespace holder, so
 * it needs no Bidirectional mount propagation); no member but the controller patches Nodes; gateways get
 * Secrets by name only.
 */
class LeastPrivilegeTest {

  private static List<HasMetadata> docs;

  @BeforeAll
  static void render() {
    docs = Chart.render(t -> t);
  }

  /** Every pod template of the release, by workload name. */
  private static Map<String, PodTemplateSpec> templates(List<HasMetadata> rendered) {
    Map<String, PodTemplateSpec> out = new java.util.TreeMap<>();
    Chart.all(rendered, Deployment.class).forEach(d -> out.put(d.getMetadata().getName(), d.getSpec().getTemplate()));
    Chart.all(rendered, DaemonSet.class).forEach(d -> out.put(d.getMetadata().getName(), d.getSpec().getTemplate()));
    return out;
  }

  private static Stream<Container> containers(PodSpec pod) {
    return Workloads.allContainers(pod);
  }

  @Test
  void everyContainerRunsUnderRuntimeDefaultSeccompAndDropsAllCapabilitiesBeforeAddingAny() {
    Map<String, PodTemplateSpec> all = templates(docs);
    assertEquals(5, all.size(), "controller, gateway, namespace holder, worker and tunnel holder: " + all.keySet());
    all.forEach((name, t) -> containers(t.getSpec()).forEach(c -> {
      SecurityContext sc = c.getSecurityContext();
      String where = name + "/" + c.getName();
      assertTrue(sc != null && sc.getCapabilities() != null, where + " has no capabilities");
      assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), where);
      String seccomp = sc.getSeccompProfile() != null ? sc.getSeccompProfile().getType()
          : t.getSpec().getSecurityContext() != null && t.getSpec().getSecurityContext().getSeccompProfile() != null
              ? t.getSpec().getSecurityContext().getSeccompProfile().getType() : null;
      assertEquals("RuntimeDefault", seccomp, where);
    }));
  }

  @Test
  void noContainerIsPrivilegedAndTheNodeAgentsHaveExactlyTheCapabilitiesTheirDatapathsNeed() {
    Set<String> privileged = new HashSet<>();
    Set<String> bidirectional = new HashSet<>();
    templates(docs).forEach((name, t) -> containers(t.getSpec()).forEach(c -> {
      if (!Boolean.FALSE.equals(c.getSecurityContext().getPrivileged())) {
        privileged.add(name + "/" + c.getName() + " (" + c.getSecurityContext().getPrivileged() + ")");
      }
      if (c.getVolumeMounts() != null && c.getVolumeMounts().stream().anyMatch(m -> "Bidirectional".equals(m.getMountPropagation()))) {
        bidirectional.add(name + "/" + c.getName());
      }
    }));
    // init containers and the controller leave the field unset (not privileged); name them explicitly here
    privileged.removeIf(p -> p.endsWith("(null)") && !p.contains("/gateway ") && !p.contains("/worker ")
        && !p.contains("/netns-holder ") && !p.contains("/tunnel-holder "));
    assertEquals(Set.of(), privileged, "no container is privileged");
    assertEquals(Set.of(), bidirectional, "no mount propagates from a container to the host");

    Container gateway = Workloads.member(Workloads.gateway(docs));
    assertEquals(Set.of("NET_ADMIN", "NET_RAW", "SYS_ADMIN"), Set.copyOf(gateway.getSecurityContext().getCapabilities().getAdd()));
    assertEquals("Unconfined", gateway.getSecurityContext().getAppArmorProfile().getType(), "ip netns attach and exec mount");
    assertEquals(Boolean.TRUE, Workloads.gateway(docs).getHostPID(), "it attaches the holder's namespaces by pid");
    assertTrue(gateway.getVolumeMounts().stream().noneMatch(m -> m.getMountPath().equals("/var/run/netns")),
        "the member's /var/run/netns is its own: " + gateway.getVolumeMounts());
    assertEquals("/var/run/kube-egress-gateway/netns.sock", Workloads.env(Workloads.gateway(docs), "EGRESS_GATEWAY_NETNS_HOLDER"));

    DaemonSet netnsHolderSet = Chart.one(docs, DaemonSet.class, "-netns-holder");
    assertEquals("OnDelete", netnsHolderSet.getSpec().getUpdateStrategy().getType(), "an upgrade never ends the namespaces");
    PodSpec nh = netnsHolderSet.getSpec().getTemplate().getSpec();
    assertEquals(Boolean.TRUE, nh.getHostPID());
    assertEquals(Boolean.FALSE, nh.getAutomountServiceAccountToken());
    Container netnsHolder = Workloads.member(nh);
    assertEquals(List.of("SYS_ADMIN"), netnsHolder.getSecurityContext().getCapabilities().getAdd(), "unshare --net only");
    assertNull(netnsHolder.getSecurityContext().getAppArmorProfile(), "the runtime's default AppArmor profile");
    assertEquals(Boolean.FALSE, netnsHolder.getSecurityContext().getAllowPrivilegeEscalation());
    assertEquals(Workloads.gateway(docs).getAffinity(), nh.getAffinity(), "on the gateway nodes, exactly");
    assertEquals(Workloads.gateway(docs).getTolerations(), nh.getTolerations());
    assertEquals(Set.of("/var/run/kube-egress-gateway", "/opt/egress/scripts"),
        netnsHolder.getVolumeMounts().stream().map(m -> m.getMountPath()).collect(Collectors.toSet()));

    Container worker = Workloads.member(Workloads.worker(docs));
    assertEquals(Set.of("NET_ADMIN", "NET_RAW", "SYS_ADMIN"), Set.copyOf(worker.getSecurityContext().getCapabilities().getAdd()));
    assertEquals("Unconfined", worker.getSecurityContext().getAppArmorProfile().getType(), "ip netns exec mounts");
    assertEquals("HostToContainer", worker.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/var/run/netns"))
        .findFirst().orElseThrow().getMountPropagation());

    Container holder = tunnelHolder(docs);
    assertEquals(Set.of("NET_ADMIN", "SYS_ADMIN"), Set.copyOf(holder.getSecurityContext().getCapabilities().getAdd()));
    assertEquals("Unconfined", holder.getSecurityContext().getAppArmorProfile().getType());

    // the other containers add nothing but the init container's file ownership capabilities
    templates(docs).forEach((name, t) -> containers(t.getSpec())
        .filter(c -> !Set.of("gateway", "netns-holder", "worker", "tunnel-holder", "install-cni").contains(c.getName()))
        .forEach(c -> assertTrue(c.getSecurityContext().getCapabilities().getAdd() == null
            || c.getSecurityContext().getCapabilities().getAdd().isEmpty(), name + "/" + c.getName())));
  }

  @Test
  void beforeKubernetes130AppArmorIsAnAnnotationAndWorkerPrivilegedRestoresTheOldPods() {
    List<HasMetadata> old = Chart.parseAll(Chart.minimal().withKubeVersion("1.29.0").call());
    DaemonSet worker = Chart.one(old, DaemonSet.class, "-worker");
    assertNull(Workloads.member(worker.getSpec().getTemplate().getSpec()).getSecurityContext().getAppArmorProfile());
    assertEquals("unconfined", worker.getSpec().getTemplate().getMetadata().getAnnotations()
        .get("container.apparmor.security.beta.kubernetes.io/worker"));
    DaemonSet holder = Chart.one(old, DaemonSet.class, "-tunnel-holder");
    assertEquals("unconfined", holder.getSpec().getTemplate().getMetadata().getAnnotations()
        .get("container.apparmor.security.beta.kubernetes.io/tunnel-holder"));

    DaemonSet gateway = Chart.one(old, DaemonSet.class, "-gateway");
    assertEquals("unconfined", gateway.getSpec().getTemplate().getMetadata().getAnnotations()
        .get("container.apparmor.security.beta.kubernetes.io/gateway"));

    List<HasMetadata> escape = Chart.render(t -> t.set("worker.privileged", "true"));
    assertEquals(Boolean.TRUE, Workloads.member(Workloads.worker(escape)).getSecurityContext().getPrivileged());
    assertEquals(Boolean.TRUE, tunnelHolder(escape).getSecurityContext().getPrivileged());
    assertNull(Workloads.member(Workloads.worker(escape)).getSecurityContext().getAppArmorProfile());
  }

  @Test
  void gatewayPrivilegedRestoresThePrivilegedMemberWithBidirectionalNamespacesAndNoHolder() {
    List<HasMetadata> escape = Chart.render(t -> t.set("gateway.privileged", "true"));
    PodSpec pod = Workloads.gateway(escape);
    Container gateway = Workloads.member(pod);
    assertEquals(Boolean.TRUE, gateway.getSecurityContext().getPrivileged());
    assertEquals("Bidirectional", gateway.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/var/run/netns"))
        .findFirst().orElseThrow().getMountPropagation());
    assertNull(pod.getHostPID());
    assertTrue(gateway.getEnv().stream().noneMatch(e -> e.getName().equals("EGRESS_GATEWAY_NETNS_HOLDER")));
    assertTrue(Chart.all(escape, DaemonSet.class).stream().noneMatch(d -> d.getMetadata().getName().endsWith("-netns-holder")));
  }

  @Test
  void onlyTheControllerPatchesNodesAndTheWorkerNoLongerLiftsItsTaint() {
    Map<String, Set<String>> nodeVerbs = new java.util.TreeMap<>();
    for (ClusterRole cr : Chart.all(docs, ClusterRole.class)) {
      cr.getRules().stream().filter(r -> r.getResources().contains("nodes"))
          .forEach(r -> nodeVerbs.computeIfAbsent(cr.getMetadata().getName(), k -> new HashSet<>()).addAll(r.getVerbs()));
    }
    assertEquals(Set.of("get"), nodeVerbs.get(Chart.RELEASE + "-kube-egress-gateway-worker"), "its own node, read only");
    assertEquals(Set.of("get", "list", "watch"), nodeVerbs.get(Chart.RELEASE + "-kube-egress-gateway-gateway"));
    assertTrue(nodeVerbs.get(Chart.RELEASE + "-kube-egress-gateway-controller").contains("patch"));
    nodeVerbs.forEach((role, verbs) -> {
      if (!role.endsWith("-controller")) {
        assertTrue(verbs.stream().noneMatch(Set.of("patch", "update", "create", "delete")::contains), role + " " + verbs);
      }
    });
    for (Role r : Chart.all(docs, Role.class)) {
      assertTrue(r.getRules().stream().noneMatch(p -> p.getResources().contains("nodes")), r.getMetadata().getName());
    }

    PodSpec worker = Workloads.worker(docs);
    assertTrue(worker.getContainers().stream().noneMatch(c -> c.getName().contains("taint")), "no untaint sidecar");
    PodSpec controller = Workloads.controller(docs);
    assertEquals("egressgateway.kubernetes.azure.com/cni-not-ready", Workloads.env(controller, "EGRESS_CNI_TAINT_KEY"));
    assertEquals("app.kubernetes.io/name=kube-egress-gateway,app.kubernetes.io/instance=" + Chart.RELEASE
        + ",app.kubernetes.io/component=worker", Workloads.env(controller, "EGRESS_WORKER_POD_SELECTOR"));
  }

  @Test
  void gatewaysMayOnlyGetSecretsByNameAndNeverListAndOnlyInTheKeyNamespace() {
    List<Role> roles = Chart.all(docs, Role.class).stream()
        .filter(r -> r.getMetadata().getName().endsWith("-gateway") || r.getMetadata().getName().endsWith("-gateway-keys")).toList();
    List<PolicyRule> rules = roles.stream().flatMap(r -> r.getRules().stream()).filter(p -> p.getResources().contains("secrets")).toList();
    assertEquals(1, rules.size());
    assertEquals(List.of("get"), rules.get(0).getVerbs());
    assertEquals(List.of(GatewayKeysTest.KEYS), roles.stream().filter(r -> r.getRules().contains(rules.get(0)))
        .map(r -> r.getMetadata().getNamespace()).toList());
  }

  @Test
  void theNetworkPolicyAdmitsTheReleaseAndTheNodesToTheMembersPortsAndExtraPeersToManagementOnly() {
    List<HasMetadata> rendered = Chart.render(t -> t.set("networkPolicy.nodeCidrs[1]", "10.225.0.0/16")
        .set("networkPolicy.extraIngress[0].namespaceSelector.matchLabels.team", "monitoring"));
    NetworkPolicy np = Chart.one(rendered, NetworkPolicy.class, "-members");
    assertEquals(Chart.NAMESPACE, np.getMetadata().getNamespace());
    assertEquals(Map.of("app.kubernetes.io/name", "kube-egress-gateway", "app.kubernetes.io/instance", Chart.RELEASE),
        np.getSpec().getPodSelector().getMatchLabels());
    assertEquals(List.of("Ingress"), np.getSpec().getPolicyTypes());
    List<NetworkPolicyIngressRule> ingress = np.getSpec().getIngress();
    assertEquals(2, ingress.size());
    NetworkPolicyIngressRule members = ingress.get(0);
    assertEquals(Set.of(8558, 25520), ports(members));
    assertEquals(Map.of("app.kubernetes.io/name", "kube-egress-gateway", "app.kubernetes.io/instance", Chart.RELEASE),
        members.getFrom().get(0).getPodSelector().getMatchLabels());
    assertEquals(List.of("10.224.0.0/16", "10.225.0.0/16"), members.getFrom().stream().map(p -> p.getIpBlock())
        .filter(Objects::nonNull).map(b -> b.getCidr()).toList());
    // every controller pod is selected by it
    Map<String, String> controllerLabels = Chart.one(rendered, Deployment.class, "-controller").getSpec().getTemplate()
        .getMetadata().getLabels();
    assertTrue(controllerLabels.entrySet().containsAll(np.getSpec().getPodSelector().getMatchLabels().entrySet()));
    NetworkPolicyIngressRule extra = ingress.get(1);
    assertEquals(Set.of(8558), ports(extra), "extra peers reach management only, never remoting");
    assertEquals(Map.of("team", "monitoring"), extra.getFrom().get(0).getNamespaceSelector().getMatchLabels());

    Exception noCidrs = assertThrows(Exception.class, () -> Chart.helm().template().withName(Chart.RELEASE)
        .withNamespace(Chart.NAMESPACE).withKubeVersion(Chart.KUBE_VERSION).set("cluster.tls.keepExisting", "false")
        .set("image.repository", "r").set("image.tag", "t").set("journal.host", "pg").set("journal.existingSecret", "s")
        .set("azure.cloudConfig.subscriptionId", "x").set("azure.cloudConfig.resourceGroup", "y").call());
    assertTrue(noCidrs.getMessage().contains("networkPolicy.nodeCidrs is required"), noCidrs.getMessage());
    assertTrue(Chart.all(Chart.render(t -> t.set("networkPolicy.enabled", "false")), NetworkPolicy.class).isEmpty());
  }

  @Test
  void managementListensOnThePodAddressThatTheProbesAndBootstrapUse() {
    for (PodSpec pod : List.of(Workloads.controller(docs), Workloads.gateway(docs), Workloads.worker(docs))) {
      var host = Workloads.member(pod).getEnv().stream().filter(e -> e.getName().equals("EGRESS_MANAGEMENT_HOST")).findFirst()
          .orElseThrow();
      assertEquals("status.podIP", host.getValueFrom().getFieldRef().getFieldPath());
      assertNull(Workloads.member(pod).getReadinessProbe().getHttpGet().getHost(), "the kubelet probes the pod address");
    }
  }

  @Test
  void turningClusterTlsOffNeedsAnExplicitInsecureValue() {
    Exception e = assertThrows(Exception.class, () -> Chart.minimal().set("cluster.tls.enabled", "false").call());
    assertTrue(e.getMessage().contains("cluster.tls.insecure=true"), e.getMessage());
    List<HasMetadata> insecure = Chart.render(t -> t.set("cluster.tls.enabled", "false").set("cluster.tls.insecure", "true"));
    assertEquals("false", Workloads.env(Workloads.controller(insecure), "EGRESS_REMOTE_TLS"));
    // insecure alone changes nothing
    assertEquals("true", Workloads.env(Workloads.controller(Chart.render(t -> t.set("cluster.tls.insecure", "true"))),
        "EGRESS_REMOTE_TLS"));
  }

  @Test
  void theJournalVerifiesItsServerWithACaFromASecretMountedIntoControllersOnly() {
    List<HasMetadata> rendered = Chart.render(t -> t.set("journal.sslMode", "verify-full")
        .set("journal.sslRootCert.existingSecret", "journal-ca").set("journal.sslRootCert.key", "root.pem"));
    PodSpec controller = Workloads.controller(rendered);
    assertEquals("verify-full", Workloads.env(controller, "EGRESS_DB_SSLMODE"));
    assertEquals("/etc/egress/journal-ca/root.pem", Workloads.env(controller, "EGRESS_DB_SSLROOTCERT"));
    var volume = controller.getVolumes().stream().filter(v -> v.getName().equals("journal-ca")).findFirst().orElseThrow();
    assertEquals("journal-ca", volume.getSecret().getSecretName());
    assertEquals("root.pem", volume.getSecret().getItems().get(0).getPath());
    assertTrue(Workloads.member(controller).getVolumeMounts().stream()
        .anyMatch(m -> m.getName().equals("journal-ca") && m.getMountPath().equals("/etc/egress/journal-ca") && m.getReadOnly()));
    for (PodSpec node : List.of(Workloads.gateway(rendered), Workloads.worker(rendered))) {
      assertTrue(node.getVolumes().stream().noneMatch(v -> v.getSecret() != null && "journal-ca".equals(v.getSecret().getSecretName())));
    }
    assertNull(Workloads.env(Workloads.controller(docs), "EGRESS_DB_SSLROOTCERT"), "not set without a CA");
    assertFalse(Workloads.controller(docs).getVolumes().stream().anyMatch(v -> v.getName().equals("journal-ca")));

    Exception e = assertThrows(Exception.class, () -> Chart.minimal().set("journal.sslRootCert.existingSecret", "ca").call());
    assertTrue(e.getMessage().contains("verify-ca or verify-full"), e.getMessage());
  }

  private static Set<Integer> ports(NetworkPolicyIngressRule rule) {
    assertTrue(rule.getPorts().stream().allMatch(p -> "TCP".equals(p.getProtocol())));
    return rule.getPorts().stream().map(NetworkPolicyPort::getPort).map(p -> p.getIntVal()).collect(Collectors.toSet());
  }

  private static Container tunnelHolder(List<HasMetadata> rendered) {
    return Workloads.member(Chart.one(rendered, DaemonSet.class, "-tunnel-holder").getSpec().getTemplate().getSpec());
  }
}
