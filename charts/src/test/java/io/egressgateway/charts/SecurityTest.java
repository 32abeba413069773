package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The security-relevant parts of the rendered release, in every credential mode. */
class SecurityTest {

  private static List<HasMetadata> docs;

  @BeforeAll
  static void render() {
    docs = Chart.render(t -> t.set("azure.credential.mode", "workloadIdentity").set("azure.credential.clientId", "c"));
  }

  @Test
  void controllerHasNoHostAccessAndNoPrivileges() {
    PodSpec pod = Workloads.controller(docs);
    assertNotEquals(Boolean.TRUE, pod.getHostNetwork());
    assertNotEquals(Boolean.TRUE, pod.getHostPID());
    assertNotEquals(Boolean.TRUE, pod.getHostIPC());
    assertTrue(pod.getSecurityContext().getRunAsNonRoot());
    assertTrue(pod.getVolumes().stream().allMatch(v -> v.getHostPath() == null), "controller mounts a host path");
    Workloads.allContainers(pod).forEach(c -> {
      var sc = c.getSecurityContext();
      assertNotNull(sc, c.getName());
      assertNotEquals(Boolean.TRUE, sc.getPrivileged());
      assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation());
      assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem());
      assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
      assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty());
      assertTrue(c.getPorts().stream().allMatch(p -> p.getHostPort() == null));
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"managedIdentity", "workloadIdentity", "clientCertificate", "cloudConfig"})
  void azureCredentialsAndTheJournalPasswordReachOnlyTheController(String mode) {
    List<HasMetadata> rendered = Chart.render(t -> t.set("azure.credential.mode", mode)
        .set("azure.credential.clientId", "c")
        .set("azure.credential.clientCertificate.existingSecret", "cert")
        .set("azure.existingCloudConfigSecret", mode.equals("cloudConfig") ? "upstream-config" : ""));
    Set<String> azureSecrets = Set.of("upstream-config", "cert", Chart.RELEASE + "-kube-egress-gateway-azure-cloud-config");
    assertTrue(secretsOf(Workloads.controller(rendered)).anyMatch(azureSecrets::contains));
    for (PodSpec node : List.of(Workloads.gateway(rendered), Workloads.worker(rendered))) {
      assertTrue(secretsOf(node).noneMatch(azureSecrets::contains), () -> "Azure secret on a node agent: " + mode);
      assertTrue(secretsOf(node).noneMatch("egress-journal"::equals));
      Workloads.allContainers(node).flatMap(c -> c.getEnv().stream()).forEach(e -> {
        assertFalse(e.getName().startsWith("AZURE_") || e.getName().startsWith("EGRESS_AZURE") || e.getName().startsWith("EGRESS_DB"),
            e.getName());
      });
    }
  }

  @Test
  void secretsAreOnlyReachableThroughRolesAndTheGatewaysOnlyInTheKeyNamespace() {
    for (ClusterRole cr : Chart.all(docs, ClusterRole.class)) {
      for (PolicyRule rule : cr.getRules()) {
        assertFalse(rule.getResources().contains("secrets"), cr.getMetadata().getName() + " grants secrets cluster-wide");
        assertFalse(rule.getResources().contains("*") || rule.getVerbs().contains("*")
            || rule.getApiGroups().contains("*"), cr.getMetadata().getName() + " uses a wildcard");
      }
    }
    List<Role> secretRoles = Chart.all(docs, Role.class).stream()
        .filter(r -> r.getRules().stream().anyMatch(p -> p.getResources().contains("secrets"))).toList();
    assertEquals(Set.of(Chart.RELEASE + "-kube-egress-gateway-controller",
            Chart.RELEASE + "-kube-egress-gateway-controller-keys", Chart.RELEASE + "-kube-egress-gateway-gateway-keys"),
        secretRoles.stream().map(r -> r.getMetadata().getName()).collect(java.util.stream.Collectors.toSet()),
        "the controller keeps the key Secrets (and moves an earlier release's), the gateway reads them");
    secretRoles.forEach(r -> assertEquals(r.getMetadata().getName().endsWith("-keys") ? GatewayKeysTest.KEYS : Chart.NAMESPACE,
        r.getMetadata().getNamespace()));
    Role gateway = Chart.one(docs, Role.class, "-gateway");
    assertTrue(gateway.getRules().stream().noneMatch(p -> p.getResources().contains("secrets")),
        "no Secret of the release namespace for the gateway");
    Chart.one(docs, Role.class, "-gateway-keys").getRules()
        .forEach(p -> assertEquals(Set.of("get"), Set.copyOf(p.getVerbs()), "by name only: no list, no watch"));
  }

  /**
   * kube-bridge reads the Go original's GatewayLBConfiguration/GatewayVMConfiguration of an SGC by name
   * ({@code get}) to keep its Azure names; without the rule a Go install's resources are not adopted. It never
   * lists, watches or writes them, and no other member reads them.
   */
  @Test
  void onlyTheControllerMayGetTheGoOriginalsObjectsAndOnlyGet() {
    String group = "egressgateway.kubernetes.azure.com";
    ClusterRole controller = Chart.one(docs, ClusterRole.class, "-controller");
    for (String legacy : List.of("gatewaylbconfigurations", "gatewayvmconfigurations")) {
      List<PolicyRule> rules = controller.getRules().stream()
          .filter(r -> r.getApiGroups().contains(group) && r.getResources().contains(legacy)).toList();
      assertEquals(Set.of("get"), rules.stream().flatMap(r -> r.getVerbs().stream()).collect(java.util.stream.Collectors.toSet()),
          "controller verbs on " + legacy);
      assertTrue(rules.stream().allMatch(r -> r.getResourceNames() == null || r.getResourceNames().isEmpty()),
          "the objects are named after their SGC, any name must be readable");
      for (String other : List.of("-gateway", "-worker")) {
        assertTrue(Chart.one(docs, ClusterRole.class, other).getRules().stream().noneMatch(r -> r.getResources().contains(legacy)),
            other + " may read " + legacy);
      }
    }
  }

  @Test
  void gatewayAndWorkerSelectorsAreDisjointAndCoverEveryLinuxNode() {
    PodSpec gateway = Workloads.gateway(docs);
    PodSpec worker = Workloads.worker(docs);
    List<Map<String, String>> nodes = List.of(
        Map.of("kubernetes.io/os", "linux", "kubeegressgateway.azure.com/mode", "true"),
        Map.of("kubernetes.io/os", "linux", "kubeegressgateway.azure.com/mode", "false"),
        Map.of("kubernetes.io/os", "linux"),
        Map.of("kubernetes.io/os", "linux", "kubernetes.azure.com/mode", "system"),
        Map.of("kubernetes.io/os", "linux", "kubernetes.azure.com/mode", "gateway"));
    for (Map<String, String> labels : nodes) {
      boolean g = schedulable(gateway, labels);
      boolean w = schedulable(worker, labels);
      assertTrue(g ^ w, () -> "node " + labels + ": gateway=" + g + " worker=" + w);
    }
    Map<String, String> windows = Map.of("kubernetes.io/os", "windows");
    assertFalse(schedulable(gateway, windows) || schedulable(worker, windows));
    assertTrue(gateway.getTolerations().stream().anyMatch(t -> "kubeegressgateway.azure.com/mode".equals(t.getKey())
        && "NoSchedule".equals(t.getEffect())));
  }

  @Test
  void everyMemberIsProbedOnAliveAndReadyAtTheManagementPort() {
    for (PodSpec pod : List.of(Workloads.controller(docs), Workloads.gateway(docs), Workloads.worker(docs))) {
      Container member = Workloads.member(pod);
      assertProbe(member.getLivenessProbe(), "/alive", member);
      assertProbe(member.getReadinessProbe(), "/ready", member);
      assertTrue(member.getPorts().stream().anyMatch(p -> "management".equals(p.getName()) && p.getContainerPort() == 8558));
    }
  }

  @Test
  void nodeAgentsGetExactlyTheHostAccessTheDatapathNeeds() {
    PodSpec gateway = Workloads.gateway(docs);
    assertTrue(gateway.getHostNetwork());
    Container g = Workloads.member(gateway);
    assertTrue(g.getSecurityContext().getCapabilities().getAdd().containsAll(List.of("NET_ADMIN", "SYS_ADMIN")));
    // its namespaces come from the namespace holder (LeastPrivilegeTest): no host /var/run/netns, the holder's socket
    assertTrue(g.getVolumeMounts().stream().noneMatch(m -> m.getMountPath().equals("/var/run/netns")));
    assertEquals("/var/run/kube-egress-gateway", hostPath(gateway, mount(g, "/var/run/kube-egress-gateway")));
    assertEquals("/dev/net/tun", hostPath(gateway, mount(g, "/dev/net/tun")));
    assertTrue(g.getPorts().stream().anyMatch(p -> p.getContainerPort() == 8082), "LB probe port");

    PodSpec worker = Workloads.worker(docs);
    assertTrue(worker.getHostNetwork());
    Container w = Workloads.member(worker);
    // not privileged: the capabilities the datapath needs, nothing else (LeastPrivilegeTest)
    assertEquals(Boolean.FALSE, w.getSecurityContext().getPrivileged());
    assertEquals("HostToContainer", mount(w, "/var/run/netns").getMountPropagation());
    assertEquals("/opt/cni/bin", hostPath(worker, mount(w, "/host/opt/cni/bin")));
    assertEquals("/etc/cni/net.d", hostPath(worker, mount(w, "/host/etc/cni/net.d")));
    assertEquals(List.of("/bin/sh", "/opt/egress/scripts/remove-cni.sh"), w.getLifecycle().getPreStop().getExec().getCommand());
    assertEquals("install-cni", worker.getInitContainers().get(0).getName());
    // the sidecars run without any capability and with a read-only root filesystem
    List<Container> sidecars = worker.getContainers().stream().filter(c -> !c.getName().equals("worker")).toList();
    assertEquals(Set.of("cni-chain"), sidecars.stream().map(Container::getName).collect(java.util.stream.Collectors.toSet()));
    sidecars.forEach(c -> {
      assertEquals(List.of("ALL"), c.getSecurityContext().getCapabilities().getDrop(), c.getName());
      assertTrue(c.getSecurityContext().getCapabilities().getAdd() == null || c.getSecurityContext().getCapabilities().getAdd().isEmpty());
      assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem(), c.getName());
      assertTrue(c.getVolumeMounts().stream().noneMatch(m -> m.getMountPath().equals("/host/opt/cni/bin")), c.getName());
    });
  }

  @Test
  void nodeMembersJournalOnADirectoryOfTheirNodeAndOnlyControllersGetTheExternalJournal() {
    for (String role : List.of("gateway", "worker")) {
      PodSpec pod = role.equals("gateway") ? Workloads.gateway(docs) : Workloads.worker(docs);
      Container m = Workloads.member(pod);
      assertEquals("node-local", Workloads.env(pod, "EGRESS_JOURNAL_MODE"), role);
      String dir = Workloads.env(pod, "EGRESS_JOURNAL_DATA_DIR");
      VolumeMount journal = mount(m, dir);
      assertNotEquals(Boolean.TRUE, journal.getReadOnly());
      Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(journal.getName())).findFirst().orElseThrow();
      assertEquals("/var/lib/kube-egress-gateway/journal-" + role, v.getHostPath().getPath(), role + ": a directory per role");
      assertEquals("DirectoryOrCreate", v.getHostPath().getType());
      // PostgreSQL does not run as root: the member (root, to write the host directory) starts it in a user
      // namespace of its own, which needs SYS_ADMIN under the runtime's default seccomp profile
      assertEquals(0L, m.getSecurityContext().getRunAsUser(), role);
      assertTrue(m.getSecurityContext().getCapabilities().getAdd().contains("SYS_ADMIN"), role);
      assertNull(Workloads.env(pod, "EGRESS_DB_HOST"), role);
      assertNull(Workloads.env(pod, "EGRESS_DB_PASSWORD"), role);
      assertTrue(secretsOf(pod).noneMatch(s -> s.equals("egress-journal")), role + " gets no database credential");
    }
    PodSpec controller = Workloads.controller(docs);
    assertEquals("external", Workloads.env(controller, "EGRESS_JOURNAL_MODE"));
    assertTrue(secretsOf(controller).anyMatch(s -> s.equals("egress-journal")));

    List<HasMetadata> moved = Chart.render(t -> t.set("nodeJournal.hostPath", "/mnt/state/egress"));
    assertTrue(Workloads.worker(moved).getVolumes().stream()
        .anyMatch(v -> v.getHostPath() != null && v.getHostPath().getPath().equals("/mnt/state/egress/journal-worker")));
  }

  @Test
  void workersGetTheExceptionCidrsValue() {
    assertEquals("169.254.169.254/32,169.254.10.11/32", Workloads.env(Workloads.worker(docs), "EGRESS_POD_EXCEPTION_CIDRS"),
        "instance metadata and node-local DNS by default, as the Go original has them");
    List<HasMetadata> own = Chart.render(t -> t.set("worker.exceptionCidrs[0]", "10.20.0.0/16"));
    assertEquals("10.20.0.0/16", Workloads.env(Workloads.worker(own), "EGRESS_POD_EXCEPTION_CIDRS"));
    List<HasMetadata> none = Chart.render(t -> t.set("worker.exceptionCidrs", "null"));
    assertEquals("", Workloads.env(Workloads.worker(none), "EGRESS_POD_EXCEPTION_CIDRS"), "set and empty: none");
    assertNull(Workloads.env(Workloads.gateway(docs), "EGRESS_POD_EXCEPTION_CIDRS"));
    Exception bad = assertThrows(Exception.class, () -> Chart.minimal().set("worker.exceptionCidrs[0]", "169.254.169.254").call());
    assertTrue(bad.getMessage().contains("/worker/exceptionCidrs/0"), bad.getMessage());
  }

  @Test
  void membersUseTheirRolesTlsRemotingAndKubernetesDiscovery() {
    assertEquals("controller", Workloads.env(Workloads.controller(docs), "EGRESS_ROLES"));
    assertEquals("gateway", Workloads.env(Workloads.gateway(docs), "EGRESS_ROLES"));
    assertEquals("worker", Workloads.env(Workloads.worker(docs), "EGRESS_ROLES"));
    for (PodSpec pod : List.of(Workloads.controller(docs), Workloads.gateway(docs), Workloads.worker(docs))) {
      assertEquals("true", Workloads.env(pod, "EGRESS_REMOTE_TLS"));
      assertEquals("kubernetes", Workloads.env(pod, "EGRESS_DISCOVERY"));
      assertTrue(secretsOf(pod).anyMatch(s -> s.contains("-remote-tls-")));
    }
    assertEquals("external", Workloads.env(Workloads.controller(docs), "EGRESS_JOURNAL_MODE"));
  }

  /**
   * Per-role identity (docs/security.md): each role's members mount a certificate of their own, issued by one
   * CA, naming the role as {@code <role>.role.egress-gateway} and sharing one subject name (Akka's TLS peer
   * check); no member can mount another role's Secret, and the CA key is in none of them.
   */
  @Test
  void eachRoleGetsACertificateOfItsOwnFromOneCa() throws Exception {
    java.security.cert.CertificateFactory x509 = java.security.cert.CertificateFactory.getInstance("X.509");
    Map<String, PodSpec> pods = Map.of("controller", Workloads.controller(docs), "gateway", Workloads.gateway(docs),
        "worker", Workloads.worker(docs));
    Set<String> cas = new java.util.HashSet<>();
    Set<String> subjects = new java.util.HashSet<>();
    for (var e : pods.entrySet()) {
      String role = e.getKey();
      io.fabric8.kubernetes.api.model.Secret secret = Chart.one(docs, io.fabric8.kubernetes.api.model.Secret.class,
          "-remote-tls-" + role);
      assertEquals("kubernetes.io/tls", secret.getType());
      assertEquals(Set.of("tls.crt", "tls.key", "ca.crt"), secret.getData().keySet(), "no CA key in " + role + "'s Secret");
      var cert = (java.security.cert.X509Certificate) x509.generateCertificate(
          new java.io.ByteArrayInputStream(java.util.Base64.getDecoder().decode(secret.getData().get("tls.crt"))));
      var ca = (java.security.cert.X509Certificate) x509.generateCertificate(
          new java.io.ByteArrayInputStream(java.util.Base64.getDecoder().decode(secret.getData().get("ca.crt"))));
      cert.verify(ca.getPublicKey());
      assertEquals(List.of(List.of(2, role + ".role.egress-gateway")),
          cert.getSubjectAlternativeNames().stream().map(List::copyOf).toList(), role + " names its role, and only it");
      cas.add(ca.getSubjectX500Principal().getName() + ca.getSerialNumber());
      subjects.add(cert.getSubjectX500Principal().getName());

      Set<String> mounted = secretsOf(e.getValue()).filter(n -> n.contains("-remote-tls")).collect(java.util.stream.Collectors.toSet());
      assertEquals(Set.of(secret.getMetadata().getName()), mounted, role + " mounts its own certificate only");
      assertEquals("true", Workloads.env(e.getValue(), "EGRESS_SECURITY_ENFORCE"), role);
    }
    assertEquals(1, cas.size(), "one CA");
    assertEquals(1, subjects.size(), "one shared subject name");
  }

  @Test
  void roleCertificatesCanComeFromExistingSecretsOrCertManager() {
    List<HasMetadata> own = Chart.render(t -> t.set("cluster.tls.existingSecrets.worker", "my-worker-tls"));
    assertTrue(secretsOf(Workloads.worker(own)).anyMatch("my-worker-tls"::equals));
    assertTrue(Chart.all(own, io.fabric8.kubernetes.api.model.Secret.class).stream()
        .noneMatch(x -> x.getMetadata().getName().endsWith("-remote-tls-worker")), "not generated");
    assertTrue(Chart.all(own, io.fabric8.kubernetes.api.model.Secret.class).stream()
        .anyMatch(x -> x.getMetadata().getName().endsWith("-remote-tls-gateway")), "the others still are");

    // all three given (as the sandbox does): nothing generated and nothing looked up, so even keepExisting (the
    // default), whose lookup fails without a cluster, renders
    String given = Chart.minimal().set("cluster.tls.keepExisting", "true").set("cluster.tls.existingSecrets.controller", "my-controller-tls")
        .set("cluster.tls.existingSecrets.gateway", "my-gateway-tls").set("cluster.tls.existingSecrets.worker", "my-worker-tls").call();
    for (String role : List.of("controller", "gateway", "worker")) {
      assertTrue(given.contains("secretName: my-" + role + "-tls\n"), role + " mounts its given Secret");
    }
    assertFalse(given.contains("-remote-tls-"), "no role Secret generated");

    String yaml = Chart.minimal().set("cluster.tls.certManager.issuerRef.name", "egress-ca")
        .set("cluster.tls.certManager.issuerRef.kind", "Issuer").call();
    for (String role : List.of("controller", "gateway", "worker")) {
      assertTrue(yaml.contains("- \"" + role + ".role.egress-gateway\""), role + " Certificate:\n" + yaml);
      assertTrue(yaml.contains("secretName: " + yaml.lines().filter(l -> l.contains("secretName:") && l.endsWith("-remote-tls-" + role))
          .findFirst().map(l -> l.substring(l.indexOf(':') + 2)).orElse("(none)")), role + " Secret");
    }
    assertEquals(3, yaml.split("kind: Certificate\n", -1).length - 1);
    assertFalse(java.util.regex.Pattern.compile("kind: Secret\nmetadata:\n  name: \\S*-remote-tls-").matcher(yaml).find(),
        "no generated Secret");

    Exception shared = assertThrows(Exception.class, () -> Chart.minimal().set("cluster.tls.existingSecret", "one").call());
    assertTrue(shared.getMessage().contains("enforceRoles"), shared.getMessage());
  }

  @Test
  void workersProveTheirNodeWithABoundTokenForTheGatewaysAudienceAndGatewaysRequireIt() {
    PodSpec worker = Workloads.worker(docs);
    Volume proof = worker.getVolumes().stream().filter(v -> v.getName().equals("node-proof")).findFirst().orElseThrow();
    var token = proof.getProjected().getSources().get(0).getServiceAccountToken();
    String audience = "kube-egress-gateway." + Chart.NAMESPACE + "." + Chart.RELEASE;
    assertEquals(audience, token.getAudience(), "never the API server's audience: the token opens nothing there");
    assertEquals(3600L, token.getExpirationSeconds());
    assertEquals(Boolean.TRUE, mount(Workloads.member(worker), "/var/run/secrets/kube-egress-gateway/node-proof").getReadOnly());
    assertEquals("/var/run/secrets/kube-egress-gateway/node-proof/token", Workloads.env(worker, "EGRESS_NODE_PROOF_TOKEN_FILE"));

    PodSpec gateway = Workloads.gateway(docs);
    assertEquals("true", Workloads.env(gateway, "EGRESS_NODE_PROOF_REQUIRED"));
    assertEquals(audience, Workloads.env(gateway, "EGRESS_NODE_PROOF_AUDIENCE"));
    assertEquals("system:serviceaccount:" + Chart.NAMESPACE + ":" + Chart.RELEASE + "-kube-egress-gateway-worker",
        Workloads.env(gateway, "EGRESS_NODE_PROOF_SUBJECTS"));
    assertEquals(worker.getServiceAccountName(), Workloads.env(gateway, "EGRESS_NODE_PROOF_SUBJECTS").split(":")[3]);
    ClusterRole role = Chart.one(docs, ClusterRole.class, "-gateway");
    assertTrue(role.getRules().stream().anyMatch(r -> List.of("/openid/v1/jwks").equals(r.getNonResourceURLs())
        && List.of("get").equals(r.getVerbs())), "the signing keys, read only");

    // without role enforcement, or before Kubernetes put the node into the token, neither side has it
    for (List<HasMetadata> off : List.of(Chart.render(t -> t.set("cluster.tls.nodeProof", "false")),
        Chart.parseAll(Chart.minimal().withKubeVersion("1.29.0").call()))) {
      assertTrue(Workloads.worker(off).getVolumes().stream().noneMatch(v -> v.getName().equals("node-proof")));
      assertNull(Workloads.env(Workloads.gateway(off), "EGRESS_NODE_PROOF_REQUIRED"));
      assertTrue(Chart.one(off, ClusterRole.class, "-gateway").getRules().stream().allMatch(r -> r.getNonResourceURLs() == null
          || r.getNonResourceURLs().isEmpty()));
    }
  }

  @Test
  void gatewaysReadNodesPodCidrsToCheckWorkersRequests() {
    ClusterRole gateway = Chart.one(docs, ClusterRole.class, "-gateway");
    assertTrue(gateway.getRules().stream().anyMatch(r -> r.getResources().contains("nodes")
        && Set.copyOf(r.getVerbs()).equals(Set.of("get", "list", "watch"))));
  }

  private static void assertProbe(Probe probe, String path, Container c) {
    assertNotNull(probe, c.getName());
    assertEquals(path, probe.getHttpGet().getPath(), c.getName());
    assertEquals("management", probe.getHttpGet().getPort().getStrVal(), c.getName());
  }

  private static VolumeMount mount(Container c, String path) {
    return c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(path)).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " does not mount " + path));
  }

  private static String hostPath(PodSpec pod, VolumeMount m) {
    Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(m.getName())).findFirst().orElseThrow();
    return v.getHostPath() == null ? null : v.getHostPath().getPath();
  }

  private static Stream<String> secretsOf(PodSpec pod) {
    Stream<String> volumes = pod.getVolumes().stream().filter(v -> v.getSecret() != null).map(v -> v.getSecret().getSecretName());
    Stream<String> env = Workloads.allContainers(pod).flatMap(c -> c.getEnv().stream())
        .filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
        .map(e -> e.getValueFrom().getSecretKeyRef().getName());
    return Stream.concat(volumes, env).filter(Objects::nonNull);
  }

  /** Whether the pod's nodeSelector, required node affinity and tolerations admit a node with these labels. */
  private static boolean schedulable(PodSpec pod, Map<String, String> labels) {
    Map<String, String> selector = pod.getNodeSelector() == null ? Map.of() : pod.getNodeSelector();
    if (!selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())))) {
      return false;
    }
    var affinity = pod.getAffinity();
    if (affinity != null && affinity.getNodeAffinity() != null
        && affinity.getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution() != null) {
      var terms = affinity.getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms();
      if (terms.stream().noneMatch(t -> t.getMatchExpressions().stream().allMatch(r -> matches(r, labels)))) {
        return false;
      }
    }
    // a gateway node carries the gateway taint: only pods tolerating it run there
    List<Toleration> tolerations = pod.getTolerations() == null ? List.of() : pod.getTolerations();
    for (String taint : List.of("kubeegressgateway.azure.com/mode", "kubernetes.azure.com/mode")) {
      boolean tainted = taint.startsWith("kubeegress") ? "true".equals(labels.get(taint)) : "gateway".equals(labels.get(taint));
      if (tainted && tolerations.stream().noneMatch(t -> "Exists".equals(t.getOperator()) && t.getKey() == null
          || taint.equals(t.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private static boolean matches(NodeSelectorRequirement r, Map<String, String> labels) {
    String v = labels.get(r.getKey());
    return switch (r.getOperator()) {
      case "In" -> v != null && r.getValues().contains(v);
      case "NotIn" -> v == null || !r.getValues().contains(v);
      case "Exists" -> v != null;
      case "DoesNotExist" -> v == null;
      default -> throw new AssertionError("operator " + r.getOperator());
    };
  }
}
