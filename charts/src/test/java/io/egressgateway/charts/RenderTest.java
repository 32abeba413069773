package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Lint, rendering with each credential mode, strict parsing, CRDs, and the errors bad values get. */
class RenderTest {

  @Test
  void lintStrictPasses() {
    LintResult result = Chart.helm().lint().strict().call();
    assertFalse(result.isFailed(), () -> "lint --strict failed: " + result.getMessages());
    assertTrue(result.getMessages().stream().noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]")),
        () -> "lint reported: " + result.getMessages());
  }

  @Test
  void everyMemberIsABootstrapContactPoint() {
    List<HasMetadata> docs = Chart.render(t -> t);
    String label = "egressgateway.kubernetes.azure.com/contact-point";
    var templates = List.of(Chart.one(docs, Deployment.class, "-controller").getSpec().getTemplate(),
        Chart.one(docs, DaemonSet.class, "-gateway").getSpec().getTemplate(),
        Chart.one(docs, DaemonSet.class, "-worker").getSpec().getTemplate());
    for (var t : templates) {
      assertEquals("true", t.getMetadata().getLabels().get(label), t.getMetadata().getLabels().toString());
      String selector = Workloads.env(t.getSpec(), "EGRESS_K8S_POD_LABEL_SELECTOR");
      assertTrue(selector.contains(label + "=true"), selector);
      assertTrue(t.getSpec().getContainers().get(0).getPorts().stream().anyMatch(p -> "management".equals(p.getName())),
          "discovery probes the port named management");
      // bootstrap forms the cluster only on the member that finds itself among the contact points, by pod IP
      var host = Workloads.member(t.getSpec()).getEnv().stream().filter(e -> e.getName().equals("EGRESS_MANAGEMENT_HOST"))
          .findFirst().orElseThrow();
      assertEquals("status.podIP", host.getValueFrom().getFieldRef().getFieldPath());
    }
  }

  @Test
  void defaultValuesRenderEveryWorkloadAndParseStrictly() {
    List<HasMetadata> docs = Chart.render(t -> t);
    assertEquals(2, Chart.one(docs, Deployment.class, "-controller").getSpec().getReplicas());
    assertEquals(4, Chart.all(docs, DaemonSet.class).size(), "gateway, namespace holder, worker, tunnel holder");
    assertEquals(1, Chart.one(docs, PodDisruptionBudget.class, "-controller").getSpec().getMinAvailable().getIntVal());
    List<HasMetadata> single = Chart.render(t -> t.set("controller.replicas", "1"));
    assertTrue(Chart.all(single, PodDisruptionBudget.class).isEmpty(), "one replica: no PDB that blocks drains");
    assertEquals("1", Workloads.env(Workloads.controller(single), "EGRESS_K8S_REQUIRED_CONTACT_POINTS"));
    Set<String> kinds = docs.stream().map(HasMetadata::getKind).collect(Collectors.toSet());
    assertTrue(kinds.containsAll(Set.of("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
        "Secret", "ConfigMap", "Service", "Deployment", "DaemonSet", "PodDisruptionBudget")), kinds::toString);
    // every object sits in the release namespace unless it is cluster-scoped or a key namespace Role (binding)
    Set<String> clusterScoped = Set.of("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace");
    docs.stream().filter(d -> !clusterScoped.contains(d.getKind()))
        .forEach(d -> assertEquals(d.getKind().startsWith("Role") && d.getMetadata().getName().endsWith("-keys")
            ? GatewayKeysTest.KEYS : Chart.NAMESPACE, d.getMetadata().getNamespace(), d.getKind() + " " + d.getMetadata().getName()));
    assertEquals(List.of(GatewayKeysTest.KEYS), docs.stream().filter(d -> d.getKind().equals("Namespace"))
        .map(d -> d.getMetadata().getName()).toList(), "the only namespace the chart makes");
    // each role mounts its own remoting certificate (SecurityTest checks what they say); a single existing
    // Secret for every role still works, without role enforcement
    List<HasMetadata> own = Chart.render(t -> t.set("cluster.tls.existingSecret", "cert-manager-remote")
        .set("cluster.tls.enforceRoles", "false"));
    assertTrue(Chart.all(own, Secret.class).stream().noneMatch(s -> s.getMetadata().getName().contains("-remote-tls")));
    for (var pod : List.of(Workloads.controller(own), Workloads.gateway(own), Workloads.worker(own))) {
      assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getSecret() != null
          && "cert-manager-remote".equals(v.getSecret().getSecretName())));
      assertEquals("false", Workloads.env(pod, "EGRESS_SECURITY_ENFORCE"));
    }
    List<HasMetadata> plain = Chart.render(t -> t.set("cluster.tls.enabled", "false").set("cluster.tls.insecure", "true"));
    assertEquals("false", Workloads.env(Workloads.worker(plain), "EGRESS_REMOTE_TLS"));
    assertTrue(Workloads.worker(plain).getVolumes().stream().noneMatch(v -> v.getName().equals("remote-tls")));
  }

  @Test
  void theTunnelHolderOutlivesUpgradesAndTheWorkerUsesIt() {
    List<HasMetadata> docs = Chart.render(t -> t);
    DaemonSet holder = Chart.one(docs, DaemonSet.class, "-tunnel-holder");
    assertEquals("OnDelete", holder.getSpec().getUpdateStrategy().getType(), "an upgrade must never restart it");
    var spec = holder.getSpec().getTemplate().getSpec();
    assertTrue(spec.getHostPID() && spec.getHostNetwork());
    assertEquals(Boolean.FALSE, spec.getAutomountServiceAccountToken(), "it needs no API access");
    // on exactly the worker's nodes
    assertEquals(Workloads.worker(docs).getAffinity(), spec.getAffinity());
    var c = spec.getContainers().get(0);
    assertEquals(List.of("/bin/sh", "/opt/egress/scripts/tunnel-holder.sh"), c.getCommand());
    var worker = Workloads.worker(docs);
    assertTrue(worker.getHostPID(), "the worker supervises the processes the holder starts");
    String socket = Workloads.env(worker, "EGRESS_WIREGUARD_HOLDER");
    assertEquals(socket, c.getEnv().stream().filter(e -> e.getName().equals("TUNNEL_HOLDER_SOCKET")).findFirst().orElseThrow().getValue());
    for (var pod : List.of(worker, spec)) {
      assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getHostPath() != null && "/var/run/wireguard".equals(v.getHostPath().getPath())),
          "both see the node's wireguard-go UAPI sockets");
    }
    List<HasMetadata> off = Chart.render(t -> t.set("worker.tunnelHolder.enabled", "false"));
    assertTrue(Chart.all(off, DaemonSet.class).stream().noneMatch(d -> d.getMetadata().getName().endsWith("-tunnel-holder")));
    assertTrue(Workloads.worker(off).getHostPID() == null || !Workloads.worker(off).getHostPID());
    assertTrue(Workloads.worker(off).getContainers().get(0).getEnv().stream().noneMatch(e -> e.getName().equals("EGRESS_WIREGUARD_HOLDER")));
  }

  @Test
  void managedIdentityModeWritesTheUpstreamCloudConfig() {
    List<HasMetadata> docs = Chart.render(t -> t.set("azure.credential.clientId", "mi-client"));
    String json = decode(Chart.one(docs, Secret.class, "-azure-cloud-config"), "azure-cloud-config.json");
    assertTrue(json.contains("\"useManagedIdentityExtension\": true"), json);
    assertTrue(json.contains("\"userAssignedIdentityID\": \"mi-client\""), json);
    assertTrue(json.contains("\"subscriptionId\": \"00000000-0000-0000-0000-000000000002\""), json);
    assertFalse(json.contains("aadClientSecret"), json);
    assertEquals("mi-client", Workloads.env(Workloads.controller(docs), "AZURE_CLIENT_ID"));
  }

  @Test
  void workloadIdentityModeAnnotatesTheServiceAccountAndLabelsThePods() {
    List<HasMetadata> docs = Chart.render(t -> t.set("azure.credential.mode", "workloadIdentity")
        .set("azure.credential.clientId", "wi-client"));
    ServiceAccount sa = Chart.one(docs, ServiceAccount.class, "-controller");
    assertEquals("wi-client", sa.getMetadata().getAnnotations().get("azure.workload.identity/client-id"));
    assertEquals("00000000-0000-0000-0000-000000000001", sa.getMetadata().getAnnotations().get("azure.workload.identity/tenant-id"));
    Deployment controller = Chart.one(docs, Deployment.class, "-controller");
    assertEquals("true", controller.getSpec().getTemplate().getMetadata().getLabels().get("azure.workload.identity/use"));
    // only the controller is federated
    for (DaemonSet ds : Chart.all(docs, DaemonSet.class)) {
      assertFalse(ds.getSpec().getTemplate().getMetadata().getLabels().containsKey("azure.workload.identity/use"));
    }
    Chart.all(docs, ServiceAccount.class).stream().filter(s -> !s.getMetadata().getName().endsWith("-controller"))
        .forEach(s -> assertTrue(s.getMetadata().getAnnotations() == null
            || !s.getMetadata().getAnnotations().containsKey("azure.workload.identity/client-id")));
  }

  @Test
  void clientCertificateModeMountsTheCertificateIntoTheControllerOnly() {
    List<HasMetadata> docs = Chart.render(t -> t.set("azure.credential.mode", "clientCertificate")
        .set("azure.credential.clientId", "sp-client")
        .set("azure.credential.clientCertificate.existingSecret", "egress-sp-cert"));
    var pod = Workloads.controller(docs);
    assertEquals("/etc/egress/azure-client-cert/client.pem", Workloads.env(pod, "EGRESS_AZURE_CLIENT_CERT"));
    assertEquals("sp-client", Workloads.env(pod, "AZURE_CLIENT_ID"));
    assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getSecret() != null
        && "egress-sp-cert".equals(v.getSecret().getSecretName())));
  }

  @Test
  void cloudConfigModeUsesTheExistingUpstreamSecretAndRendersNone() {
    List<HasMetadata> docs = Chart.render(t -> t.set("azure.credential.mode", "cloudConfig")
        .set("azure.existingCloudConfigSecret", "kube-egress-gateway-azure-cloud-config"));
    assertTrue(Chart.all(docs, Secret.class).stream().noneMatch(s -> s.getMetadata().getName().endsWith("-azure-cloud-config")));
    assertTrue(Workloads.controller(docs).getVolumes().stream().anyMatch(v -> v.getSecret() != null
        && "kube-egress-gateway-azure-cloud-config".equals(v.getSecret().getSecretName())));
    assertEquals("/etc/egress/azure/azure-cloud-config.json", Workloads.env(Workloads.controller(docs), "EGRESS_AZURE_CONFIG"));
  }

  @Test
  void customCloudGivesTheControllerItsEndpointsAndCaBundle() {
    List<HasMetadata> docs = Chart.render(t -> t
        .set("azure.customCloud.resourceManagerEndpoint", "https://management.local.azurestack.external/")
        .set("azure.customCloud.activeDirectoryEndpoint", "https://adfs.local.azurestack.external/adfs/")
        .set("azure.customCloud.caBundle.configMap", "azurestack-ca"));
    String json = decode(Chart.one(docs, Secret.class, "-azure-cloud-config"), "azure-cloud-config.json");
    assertTrue(json.contains("\"cloud\": \"AzureStackCloud\""), json);
    ConfigMap env = Chart.one(docs, ConfigMap.class, "-azure-environment");
    String file = env.getData().get("environment.json");
    assertTrue(file.contains("\"resourceManagerEndpoint\": \"https://management.local.azurestack.external/\""), file);
    assertTrue(file.contains("\"activeDirectoryEndpoint\": \"https://adfs.local.azurestack.external/adfs/\""), file);
    assertFalse(file.contains("tokenAudience"), file);
    var pod = Workloads.controller(docs);
    assertEquals("/etc/egress/azure-environment/environment.json", Workloads.env(pod, "AZURE_ENVIRONMENT_FILEPATH"));
    assertEquals("/etc/egress/azure-ca/ca.crt", Workloads.env(pod, "EGRESS_AZURE_CA_BUNDLE"));
    assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getConfigMap() != null && "azurestack-ca".equals(v.getConfigMap().getName())));
    assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getConfigMap() != null
        && env.getMetadata().getName().equals(v.getConfigMap().getName())));
    // gateway and worker pods never see Azure settings
    for (var member : List.of(Workloads.gateway(docs), Workloads.worker(docs))) {
      assertTrue(Workloads.allContainers(member).flatMap(c -> c.getEnv() == null ? Stream.empty() : c.getEnv().stream())
          .noneMatch(e -> e.getName().startsWith("AZURE_") || e.getName().startsWith("EGRESS_AZURE")));
    }

    List<HasMetadata> plain = Chart.render(t -> t.set("azure.customCloud.caBundle.secret", "proxy-ca").set("azure.customCloud.caBundle.key", "bundle.pem"));
    assertTrue(Chart.all(plain, ConfigMap.class).stream().noneMatch(c -> c.getMetadata().getName().endsWith("-azure-environment")));
    assertEquals("/etc/egress/azure-ca/bundle.pem", Workloads.env(Workloads.controller(plain), "EGRESS_AZURE_CA_BUNDLE"));
    assertEquals(null, Workloads.env(Workloads.controller(plain), "AZURE_ENVIRONMENT_FILEPATH"));
  }

  @Test
  void customCloudValuesThatCannotWorkStopRendering() {
    Exception noSignIn = assertThrows(Exception.class, () -> Chart.minimal()
        .set("azure.customCloud.resourceManagerEndpoint", "https://management.local.azurestack.external/").call());
    assertTrue(noSignIn.getMessage().contains("azure.customCloud.activeDirectoryEndpoint is required"), noSignIn.getMessage());
    Exception plainHttp = assertThrows(Exception.class, () -> Chart.minimal()
        .set("azure.customCloud.resourceManagerEndpoint", "http://management").set("azure.customCloud.activeDirectoryEndpoint", "https://login").call());
    assertTrue(plainHttp.getMessage().contains("/azure/customCloud/resourceManagerEndpoint"), plainHttp.getMessage());
    Exception both = assertThrows(Exception.class, () -> Chart.minimal()
        .set("azure.customCloud.caBundle.configMap", "a").set("azure.customCloud.caBundle.secret", "b").call());
    assertTrue(both.getMessage().contains("not both"), both.getMessage());
    Exception sovereign = assertThrows(Exception.class, () -> Chart.minimal().set("azure.cloudConfig.cloud", "AzureChinaCloud")
        .set("azure.customCloud.resourceManagerEndpoint", "https://arm").set("azure.customCloud.activeDirectoryEndpoint", "https://login").call());
    assertTrue(sovereign.getMessage().contains("not AzureChinaCloud"), sovereign.getMessage());
  }

  @Test
  void managedCrdsAreTheGeneratedFilesKeptOnUninstall() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(Chart.DIR.resolve("crds"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    for (Path f : files) {
      assertEquals("CustomResourceDefinition", Chart.parseStrict(Files.readString(f)).getKind(), f.toString());
    }
    List<HasMetadata> unmanaged = Chart.render(t -> t.skipCrds());
    assertTrue(Chart.all(unmanaged, CustomResourceDefinition.class).isEmpty());

    List<HasMetadata> docs = Chart.render(t -> t.skipCrds().set("crds.managed", "true"));
    List<CustomResourceDefinition> crds = Chart.all(docs, CustomResourceDefinition.class);
    assertEquals(files.size(), crds.size());
    for (CustomResourceDefinition crd : crds) {
      assertEquals("keep", crd.getMetadata().getAnnotations().get("helm.sh/resource-policy"));
      assertEquals("egressgateway.kubernetes.azure.com", crd.getSpec().getGroup());
    }
  }

  /**
   * Prefix grants are off by default (any namespace may use any bring-your-own prefix, as with the Go original), and
   * the controller then has no access to EgressPrefixGrants or namespaces; turned on, it is told so and may read
   * them (namespace labels, for a grant's namespaceSelector), never write them, and no other member may. The CRD ships either way, so grants can be written before the switch.
   */
  @Test
  void prefixGrantsAreOffByDefaultAndOnGiveTheControllerReadAccessOnly() throws IOException {
    String grants = "egressprefixgrants";
    String crd = Files.readString(Chart.DIR.resolve("crds/egressprefixgrants.egressgateway.kubernetes.azure.com.yaml"));
    assertEquals("Cluster", ((CustomResourceDefinition) Chart.parseStrict(crd)).getSpec().getScope());

    List<HasMetadata> off = Chart.render(t -> t);
    assertEquals("false", Workloads.env(Workloads.controller(off), "EGRESS_PREFIX_GRANTS"));
    assertTrue(Chart.all(off, ClusterRole.class).stream().flatMap(r -> r.getRules().stream())
        .noneMatch(r -> r.getResources().contains(grants)), "no grant access while grants are off");

    List<HasMetadata> on = Chart.render(t -> t.set("prefixGrants.enforce", "true"));
    assertEquals("true", Workloads.env(Workloads.controller(on), "EGRESS_PREFIX_GRANTS"));
    List<PolicyRule> rules = Chart.one(on, ClusterRole.class, "-controller").getRules().stream()
        .filter(r -> r.getResources().contains(grants)).toList();
    assertEquals(List.of("egressgateway.kubernetes.azure.com"), rules.get(0).getApiGroups());
    assertEquals(Set.of("get", "list", "watch"), rules.stream().flatMap(r -> r.getVerbs().stream()).collect(Collectors.toSet()));
    List<PolicyRule> namespaces = Chart.one(on, ClusterRole.class, "-controller").getRules().stream()
        .filter(r -> r.getResources().contains("namespaces")).toList();
    assertEquals(Set.of("get", "list", "watch"), namespaces.stream().flatMap(r -> r.getVerbs().stream()).collect(Collectors.toSet()),
        "namespace labels, for the grants' namespaceSelector");
    List<HasMetadata> neither = Chart.render(t -> t.set("policies.enabled", "false"));
    assertTrue(Chart.all(neither, ClusterRole.class).stream().flatMap(r -> r.getRules().stream())
        .noneMatch(r -> r.getResources().contains("namespaces")), "no namespace access while grants and policies are off");
    for (String other : List.of("-gateway", "-worker")) {
      assertTrue(Chart.one(on, ClusterRole.class, other).getRules().stream().noneMatch(r -> r.getResources().contains(grants)), other);
    }
    Exception typo = assertThrows(Exception.class, () -> Chart.minimal().set("prefixGrants.enforced", "true").call());
    assertTrue(typo.getMessage().contains("enforced"), typo.getMessage());
  }

  /**
   * Policies are on by default: the controller reads them and namespaces and writes their status, no other member
   * touches them (nodes get them through the replicated view); off, none of that and the controller is told so.
   */
  @Test
  void policiesAreOnByDefaultForTheControllerOnly() throws IOException {
    String policies = "egressgatewaypolicies";
    String crd = Files.readString(Chart.DIR.resolve("crds/egressgatewaypolicies.egressgateway.kubernetes.azure.com.yaml"));
    CustomResourceDefinition def = (CustomResourceDefinition) Chart.parseStrict(crd);
    assertEquals("Cluster", def.getSpec().getScope());
    assertEquals(Set.of("Configuration", "Namespaces", "Accepted", "Age"), def.getSpec().getVersions().get(0)
        .getAdditionalPrinterColumns().stream().map(c -> c.getName()).collect(Collectors.toSet()));

    List<HasMetadata> on = Chart.render(t -> t);
    assertEquals("true", Workloads.env(Workloads.controller(on), "EGRESS_POLICIES"));
    List<PolicyRule> controller = Chart.one(on, ClusterRole.class, "-controller").getRules();
    assertEquals(Set.of("get", "list", "watch"), controller.stream().filter(r -> r.getResources().contains(policies))
        .flatMap(r -> r.getVerbs().stream()).collect(Collectors.toSet()), "read only, status apart");
    assertTrue(controller.stream().anyMatch(r -> r.getResources().contains(policies + "/status") && r.getVerbs().contains("update")));
    assertTrue(controller.stream().anyMatch(r -> r.getResources().contains("namespaces")), "for the namespaceSelector");
    for (String other : List.of("-gateway", "-worker")) {
      assertTrue(Chart.one(on, ClusterRole.class, other).getRules().stream()
          .noneMatch(r -> r.getResources().stream().anyMatch(x -> x.startsWith(policies))), other);
    }
    List<HasMetadata> off = Chart.render(t -> t.set("policies.enabled", "false"));
    assertEquals("false", Workloads.env(Workloads.controller(off), "EGRESS_POLICIES"));
    assertTrue(Chart.all(off, ClusterRole.class).stream().flatMap(r -> r.getRules().stream())
        .noneMatch(r -> r.getResources().stream().anyMatch(x -> x.startsWith(policies))), "no policy access while off");
  }

  @Test
  void strictParsingRejectsAFieldTheTypeDoesNotDeclare() {
    String deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: x
        spec:
          selector:
            matchLabels: {a: b}
          template:
            spec:
              containers:
                - name: c
                  image: i
                  imagePullPolicyy: Always
        """;
    AssertionError e = assertThrows(AssertionError.class, () -> Chart.parseStrict(deployment));
    assertTrue(e.getMessage().contains("imagePullPolicyy"), e.getMessage());
    assertThrows(AssertionError.class, () -> Chart.parseStrict("apiVersion: example.com/v1\nkind: Nonsense\nmetadata:\n  name: x\n"));
  }

  @Test
  void withoutAnImageRenderingStopsWithAClearMessage() {
    Exception e = assertThrows(Exception.class, () -> Chart.minimal().set("image.repository", "").call());
    assertTrue(e.getMessage().contains("image.repository is required: no kube-egress-gateway image is published"), e.getMessage());
    Exception tag = assertThrows(Exception.class, () -> Chart.minimal().set("image.tag", "").call());
    assertTrue(tag.getMessage().contains("image.tag (or image.digest) is required"), tag.getMessage());
    String digest = "sha256:" + "a".repeat(64);
    List<HasMetadata> pinned = Chart.render(t -> t.set("image.tag", "").set("image.digest", digest));
    assertEquals("registry.example.com/kube-egress-gateway@" + digest, Workloads.member(Workloads.worker(pinned)).getImage());
  }

  @Test
  void missingJournalOrCertificateSecretStopsWithTheValueToSet() {
    Exception journal = assertThrows(Exception.class, () -> Chart.minimal().set("journal.host", "").call());
    assertTrue(journal.getMessage().contains("journal.host is required"), journal.getMessage());
    Exception cert = assertThrows(Exception.class, () -> Chart.minimal()
        .set("azure.credential.mode", "clientCertificate").set("azure.credential.clientId", "x").call());
    assertTrue(cert.getMessage().contains("azure.credential.clientCertificate.existingSecret is required"), cert.getMessage());
  }

  @Test
  void schemaRejectsABadValueWithAClearMessage() {
    Exception type = assertThrows(Exception.class, () -> Chart.minimal().set("controller.replicas", "two").call());
    assertTrue(type.getMessage().contains("values don't meet the specifications of the schema"), type.getMessage());
    assertTrue(type.getMessage().contains("/controller/replicas"), type.getMessage());

    Exception mode = assertThrows(Exception.class, () -> Chart.minimal().set("azure.credential.mode", "password").call());
    assertTrue(mode.getMessage().contains("/azure/credential/mode"), mode.getMessage());

    Exception typo = assertThrows(Exception.class, () -> Chart.minimal().set("controler.replicas", "3").call());
    assertTrue(typo.getMessage().contains("controler"), typo.getMessage());
  }

  private static String decode(Secret s, String key) {
    return new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8);
  }
}
