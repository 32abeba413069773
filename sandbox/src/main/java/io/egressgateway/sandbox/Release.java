package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The product as the sandbox installs it: the chart rendered with the real Helm library ({@code helm
 * template} with the sandbox's values file), the CRDs of its {@code crds/} and then every rendered object
 * applied to the API in Helm's install order (hooks first), and its workloads run by the {@link Workloads}
 * controller and the nodes' {@link NodeRuntime}s. What the checks need from the members (which pods, their
 * management endpoints, a rolling restart of the workers, the uninstall) goes through the API and the node
 * runtimes, as it would in a cluster.
 */
final class Release {
  private static final Logger log = LoggerFactory.getLogger(Release.class);
  static final String NAME = "egress";
  static final String NAMESPACE = "kube-egress-gateway-system";
  /** The namespace of the gateway key Secrets (the chart's default for {@link #NAMESPACE}). */
  static final String KEYS_NAMESPACE = NAMESPACE + "-keys";
  /** The Kubernetes version the chart is rendered for (helm-java assumes 1.20 unless told). */
  static final String KUBE_VERSION = "1.30.0";
  static final List<String> ROLES = List.of("controller", "gateway", "worker");

  /** Helm's install order of kinds (the kinds the chart has, and those before and between them). */
  private static final List<String> INSTALL_ORDER = List.of("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
      "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
      "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
      "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
      "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet",
      "Job", "CronJob", "IngressClass", "Ingress", "APIService");

  /** A member pod: the pod, its role, its node, its address and the member container. */
  record Member(Pod pod, String role, String node, String ip, Container container) {
    String name() {
      return pod.getMetadata().getName();
    }

    String uid() {
      return pod.getMetadata().getUid();
    }

    /** The journal kind the chart gave the member ({@code EGRESS_JOURNAL_MODE}). */
    String journal() {
      return container.getEnv() == null ? "embedded" : container.getEnv().stream()
          .filter(e -> e.getName().equals("EGRESS_JOURNAL_MODE") && e.getValue() != null).map(e -> e.getValue()).findFirst()
          .orElse("embedded");
    }

    int managementPort() {
      return container.getPorts() == null ? 8558 : container.getPorts().stream().filter(p -> "management".equals(p.getName()))
          .mapToInt(p -> p.getContainerPort()).findFirst().orElse(8558);
    }
  }

  private final KubernetesClient client;
  private final Path chartDir;
  private final Function<String, Optional<NodeRuntime>> runtimes;
  private final Workloads workloads;
  private String chartVersion = "";
  /** What the last {@link #apply} created or updated, in that order: what {@link #uninstall} deletes. */
  private volatile List<GenericKubernetesResource> applied = List.of();

  Release(KubernetesClient client, Path chartDir, Function<String, Optional<NodeRuntime>> runtimes) {
    this.client = client;
    this.chartDir = chartDir;
    this.runtimes = runtimes;
    this.workloads = new Workloads(client, runtimes);
  }

  /** The chart's version (Chart.yaml), once rendered. */
  String chartVersion() {
    return chartVersion;
  }

  /**
   * {@code helm template} of the chart with {@code valuesFile} and {@code set}; the CRDs of {@code crds/} are
   * left to the caller, as {@code helm install} applies them before anything else.
   */
  String render(Path valuesFile, Map<String, Object> set) {
    if (!Files.isRegularFile(chartDir.resolve("Chart.yaml"))) {
      throw new IllegalStateException("chart not found at " + chartDir);
    }
    try {
      chartVersion = Files.readAllLines(chartDir.resolve("Chart.yaml")).stream().filter(l -> l.startsWith("version:"))
          .map(l -> l.substring("version:".length()).trim().replace("\"", "")).findFirst().orElse("");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // in a JVM of its own: see ChartRender
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ChartRender.class.getName(),
        chartDir.toString(), NAME, NAMESPACE, KUBE_VERSION, valuesFile.toString()));
    set.forEach((k, v) -> cmd.add(k + "=" + v));
    CommandRunner.Result r = Sh.run(cmd, null, 180);
    if (!r.ok()) {
      throw new IllegalStateException("helm template of " + chartDir + " failed: " + r.stderr().trim());
    }
    return r.stdout();
  }

  /** Applies every document of a rendered release in Helm's order (pre-install hooks by weight first); returns kind/name of each. */
  List<String> apply(String rendered) {
    List<GenericKubernetesResource> docs = new ArrayList<>();
    for (String doc : rendered.split("(?m)^---[ \\t]*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
        continue;
      }
      docs.add(client.getKubernetesSerialization().unmarshal(doc, GenericKubernetesResource.class));
    }
    docs.sort(Comparator.comparing((GenericKubernetesResource r) -> hook(r) ? 0 : 1)
        .thenComparingInt(r -> hook(r) ? hookWeight(r) : 0)
        .thenComparingInt(r -> {
          int i = INSTALL_ORDER.indexOf(r.getKind());
          return i < 0 ? INSTALL_ORDER.size() : i;
        }));
    List<String> names = new ArrayList<>();
    for (GenericKubernetesResource r : docs) {
      if (r.getMetadata().getNamespace() == null && namespaced(r.getKind())) {
        r.getMetadata().setNamespace(NAMESPACE);
      }
      client.resource(r).createOr(existing -> existing.update());
      names.add(r.getKind() + "/" + r.getMetadata().getName());
    }
    applied = List.copyOf(docs);
    return names;
  }

  /** Starts the controller manager that makes the workloads' pods. */
  void startWorkloads() {
    workloads.start();
  }

  private static boolean hook(GenericKubernetesResource r) {
    var a = r.getMetadata().getAnnotations();
    return a != null && a.getOrDefault("helm.sh/hook", "").contains("pre-install");
  }

  private static int hookWeight(GenericKubernetesResource r) {
    try {
      return Integer.parseInt(r.getMetadata().getAnnotations().getOrDefault("helm.sh/hook-weight", "0").trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean namespaced(String kind) {
    return !List.of("Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
        "StorageClass", "IngressClass", "APIService").contains(kind);
  }

  /** The release's member pods (those with a container named after their component), by role then node. */
  List<Member> members() {
    List<Member> out = new ArrayList<>();
    for (Pod p : client.pods().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/instance", NAME).list().getItems()) {
      String role = p.getMetadata().getLabels().getOrDefault("app.kubernetes.io/component", "");
      if (!ROLES.contains(role)) {
        continue;
      }
      p.getSpec().getContainers().stream().filter(c -> c.getName().equals(role)).findFirst().ifPresent(c -> out.add(new Member(p, role,
          p.getSpec().getNodeName(), p.getStatus() == null ? null : p.getStatus().getPodIP(), c)));
    }
    out.sort(Comparator.comparing((Member m) -> ROLES.indexOf(m.role())).thenComparing(Member::node));
    return out;
  }

  /**
   * Until the release's DaemonSets and Deployments have all their pods Ready (at least {@code minMembers}
   * member pods); false at the timeout.
   */
  boolean awaitReady(Duration timeout, int minMembers) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      List<Member> ms = members();
      if (ms.size() >= minMembers && ms.stream().allMatch(m -> Workloads.ready(m.pod())) && rolledOut()) {
        return true;
      }
      Sh.sleep(500);
    }
    return false;
  }

  /**
   * Every DaemonSet and Deployment of the release runs its current template only, Ready: as many pods as the
   * DaemonSet has nodes (its status) or the Deployment replicas.
   */
  private boolean rolledOut() {
    List<Pod> pods = client.pods().inNamespace(NAMESPACE).list().getItems();
    for (DaemonSet ds : client.apps().daemonSets().inNamespace(NAMESPACE).list().getItems()) {
      List<Pod> own = owned(pods, ds.getMetadata().getUid());
      String hash = Workloads.hash(ds.getSpec().getTemplate());
      Integer desired = ds.getStatus() == null ? null : ds.getStatus().getDesiredNumberScheduled();
      // an OnDelete DaemonSet keeps its old pods through an upgrade: rolled out once they run and are Ready
      boolean onDelete = Workloads.onDelete(ds);
      if (desired == null || own.size() != desired || !own.stream().allMatch(p -> Workloads.ready(p)
          && (onDelete || hash.equals(p.getMetadata().getLabels().get(Workloads.REVISION_LABEL))))) {
        return false;
      }
    }
    for (var d : client.apps().deployments().inNamespace(NAMESPACE).list().getItems()) {
      List<Pod> own = owned(pods, d.getMetadata().getUid());
      String hash = Workloads.hash(d.getSpec().getTemplate());
      int want = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
      if (own.size() != want
          || !own.stream().allMatch(p -> Workloads.ready(p) && hash.equals(p.getMetadata().getLabels().get(Workloads.TEMPLATE_HASH_LABEL)))) {
        return false;
      }
    }
    return true;
  }

  private static List<Pod> owned(List<Pod> pods, String ownerUid) {
    return pods.stream().filter(p -> p.getMetadata().getOwnerReferences() != null
        && p.getMetadata().getOwnerReferences().stream().anyMatch(r -> ownerUid.equals(r.getUid()))).toList();
  }

  /** What is not Ready yet, for a message: pod names with their containers' waiting reasons. */
  String notReady() {
    List<String> out = new ArrayList<>();
    for (Member m : members()) {
      if (!Workloads.ready(m.pod())) {
        String why = m.pod().getStatus() == null || m.pod().getStatus().getContainerStatuses() == null ? "no status"
            : m.pod().getStatus().getContainerStatuses().stream().filter(c -> !Boolean.TRUE.equals(c.getReady()))
                .map(c -> c.getName() + (c.getState() != null && c.getState().getWaiting() != null ? " " + c.getState().getWaiting().getReason() : "")
                    + (c.getRestartCount() != null && c.getRestartCount() > 0 ? " restarts=" + c.getRestartCount() : ""))
                .reduce((a, b) -> a + ", " + b).orElse("");
        out.add(m.name() + " on " + m.node() + " (" + why + ")");
      }
    }
    return String.join("; ", out);
  }

  /** The running container of a member, by id. */
  Optional<String> containerId(Member m) {
    return runtimes.apply(m.node()).flatMap(r -> r.containerId(m.uid(), m.container().getName()));
  }

  /**
   * The output of a member's running container so far ({@code kubectl logs}), written to {@code file}; false when
   * the member has no running container.
   */
  boolean saveLogs(Member m, Path file) {
    Optional<String> id = containerId(m);
    Optional<NodeRuntime> r = runtimes.apply(m.node());
    if (id.isEmpty() || r.isEmpty()) {
      return false;
    }
    r.get().podman().saveLogs(id.get(), file);
    return Files.isRegularFile(file);
  }

  /** The member whose pod has {@code uid}, as the API shows it now. */
  Optional<Member> member(String uid) {
    return members().stream().filter(m -> m.uid().equals(uid)).findFirst();
  }

  /** The primary address of a node (its InternalIP). */
  String nodeIp(String node) {
    return runtimes.apply(node).map(NodeRuntime::nodeIp).orElse("");
  }

  /** What the container runtime does to a container out of memory or on a node problem: SIGKILL. */
  void kill(Member m, String containerId) {
    NodeRuntime r = runtimes.apply(m.node()).orElseThrow(() -> new IllegalStateException("no runtime on node " + m.node()));
    r.podman().kill(containerId);
  }

  /** {@code kubectl delete pod}: the member's pod goes (its runtime stops it), its DaemonSet or Deployment makes another. */
  void deletePod(Member m) {
    log.info("deleting pod {} on {}", m.name(), m.node());
    client.pods().inNamespace(NAMESPACE).withName(m.name()).delete();
  }

  /** GET on a member's management endpoint from its node (as the kubelet's probes do); body, empty on failure. */
  String management(Member m, String path) {
    if (m.ip() == null) {
      return "";
    }
    return runtimes.apply(m.node()).map(r -> r.onNode(List.of("curl", "-s", "-m", "10", "--retry", "2",
        "http://" + m.ip() + ":" + m.managementPort() + "/" + path), 40).stdout()).orElse("");
  }

  /** The /metrics text of every member with {@code role}, concatenated. */
  String metrics(String role) {
    return members().stream().filter(m -> m.role().equals(role)).map(m -> management(m, "metrics")).reduce("", String::concat);
  }

  /** {@code node@ip} of each member. */
  List<String> addresses() {
    return members().stream().map(m -> m.role() + ":" + m.name() + "@" + m.node() + "/" + m.ip()).toList();
  }

  /** One report entry per member: name, node, role, container id, journal kind, ready, restarts. */
  void report(ArrayNode out) {
    for (Member m : members()) {
      var restarts = m.pod().getStatus() == null || m.pod().getStatus().getContainerStatuses() == null ? 0
          : m.pod().getStatus().getContainerStatuses().stream().filter(c -> c.getName().equals(m.container().getName()))
              .mapToInt(c -> c.getRestartCount() == null ? 0 : c.getRestartCount()).sum();
      out.addObject().put("name", m.name()).put("node", m.node()).put("role", m.role())
          .put("containerId", containerId(m).orElse("")).put("journal", m.journal()).put("podIP", m.ip())
          .put("ready", Workloads.ready(m.pod())).put("restarts", restarts);
    }
  }

  /**
   * A rolling restart of the worker DaemonSet ({@code kubectl rollout restart}), node by node in name order:
   * each node's worker pod is deleted (its preStop hook runs, its containers stop), {@code whileDown} runs
   * for the node, and the new pod is created; then waits until every member is Ready again. False at the
   * timeout.
   */
  boolean restartWorkers(Duration timeout, Consumer<String> whileDown) {
    DaemonSet ds = client.apps().daemonSets().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/component", "worker")
        .list().getItems().stream().findFirst().orElseThrow(() -> new IllegalStateException("no worker DaemonSet"));
    workloads.onRollingUpdate(NAMESPACE, ds.getMetadata().getName(), whileDown);
    try {
      workloads.rolloutRestart(ds);
      return awaitReady(timeout, 1);
    } finally {
      workloads.onRollingUpdate(NAMESPACE, ds.getMetadata().getName(), null);
    }
  }

  /**
   * {@code helm uninstall}: deletes the release's Deployments, then its DaemonSets (their pods go with them,
   * through preStop hooks), and waits until the node runtimes have stopped every pod; false at the timeout.
   */
  boolean uninstall(Duration timeout) {
    List<Member> before = members();
    client.apps().deployments().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/instance", NAME).delete();
    awaitGone(before.stream().filter(m -> m.role().equals("controller")).toList(), Duration.ofSeconds(60));
    client.apps().daemonSets().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/instance", NAME).delete();
    boolean gone = awaitGone(before, timeout);
    workloads.close();
    deleteTheRest();
    return gone;
  }

  /**
   * The rest of what {@code helm uninstall} deletes: every other object the release applied, in reverse install
   * order, except those Helm keeps ({@code helm.sh/resource-policy: keep}, the managed CRDs). The mock API deletes a
   * Namespace without what is in it, so whatever is left in one stays visible to the uninstall check.
   */
  private void deleteTheRest() {
    List<GenericKubernetesResource> objects = new ArrayList<>(applied);
    java.util.Collections.reverse(objects);
    for (GenericKubernetesResource r : objects) {
      var annotations = r.getMetadata().getAnnotations();
      if (List.of("Deployment", "DaemonSet", "CustomResourceDefinition").contains(r.getKind())
          || (annotations != null && "keep".equals(annotations.get("helm.sh/resource-policy")))) {
        continue;
      }
      try {
        client.resource(r).delete();
      } catch (RuntimeException e) {
        log.warn("uninstall: could not delete {} {}: {}", r.getKind(), r.getMetadata().getName(), e.getMessage());
      }
    }
  }

  /** The key Secrets left in the key namespace, and whether that namespace itself is left (uninstall check). */
  List<String> keysLeft() {
    List<String> left = new ArrayList<>();
    client.secrets().inNamespace(KEYS_NAMESPACE).list().getItems()
        .forEach(s -> left.add("Secret " + KEYS_NAMESPACE + "/" + s.getMetadata().getName()));
    if (client.namespaces().withName(KEYS_NAMESPACE).get() != null) {
      left.add("Namespace " + KEYS_NAMESPACE);
    }
    return left;
  }

  private boolean awaitGone(List<Member> members, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = members.stream().allMatch(m -> runtimes.apply(m.node())
          .map(r -> r.pods().stream().noneMatch(w -> w.uid().equals(m.uid()))).orElse(true))
          && client.pods().inNamespace(NAMESPACE).list().getItems().stream()
              .noneMatch(p -> members.stream().anyMatch(m -> m.uid().equals(p.getMetadata().getUid())));
      if (all) {
        return true;
      }
      Sh.sleep(500);
    }
    log.warn("release pods still running after {}", timeout);
    return false;
  }
}
