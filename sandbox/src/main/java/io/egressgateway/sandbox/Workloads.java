package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetStatusBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's controller manager and scheduler for the workloads a chart installs, on one thread that
 * reconciles every half second:
 *
 * <ul>
 *   <li>a DaemonSet gets one pod on every node its template fits ({@link Scheduling}, plus the tolerations
 *       the DaemonSet controller adds), bound to that node; a pod on a node that no longer fits goes;
 *   <li>a Deployment gets {@code replicas} pods, each on the fitting node that runs the fewest of them;
 *   <li>a changed template (such as {@code kubectl rollout restart}'s annotation) rolls the pods one at a
 *       time: a DaemonSet's old pod is deleted and, once its node runtime has stopped it, the new one is
 *       created; a Deployment surges one new pod and deletes an old one when the new one is Ready;
 *   <li>status: the DaemonSet's and Deployment's counts, from the pods' Ready conditions.
 * </ul>
 *
 * Pods are named and labelled as Kubernetes names them ({@code controller-revision-hash},
 * {@code pod-template-hash}) and owned by their workload; no ReplicaSet or ControllerRevision objects are
 * made. A deleted workload's pods are deleted (cascading), which the node runtimes turn into preStop hooks.
 */
final class Workloads implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Workloads.class);
  static final String REVISION_LABEL = "controller-revision-hash";
  static final String TEMPLATE_HASH_LABEL = "pod-template-hash";

  private final KubernetesClient client;
  private final Function<String, Optional<NodeRuntime>> runtimes;
  private final Thread thread;
  private final Map<String, Consumer<String>> rolloutHooks = new ConcurrentHashMap<>();
  private final Map<String, String> lastStatus = new HashMap<>();
  private volatile boolean running = true;

  /** {@code runtimes}: the node runtime of a node, whose pods' termination a rolling update waits for. */
  Workloads(KubernetesClient client, Function<String, Optional<NodeRuntime>> runtimes) {
    this.client = client;
    this.runtimes = runtimes;
    this.thread = new Thread(this::loop, "controller-manager");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /**
   * While a rolling update of DaemonSet {@code namespace/name} replaces a node's pod, {@code hook} runs with the
   * node's name after the old pod has stopped and before the new one is created; null removes it.
   */
  void onRollingUpdate(String namespace, String name, Consumer<String> hook) {
    if (hook == null) {
      rolloutHooks.remove(namespace + "/" + name);
    } else {
      rolloutHooks.put(namespace + "/" + name, hook);
    }
  }

  /** {@code kubectl rollout restart}: a template annotation that changes the template's hash. */
  void rolloutRestart(DaemonSet ds) {
    client.apps().daemonSets().inNamespace(ds.getMetadata().getNamespace()).withName(ds.getMetadata().getName()).edit(d -> {
      var meta = d.getSpec().getTemplate().getMetadata();
      Map<String, String> annotations = new LinkedHashMap<>(meta.getAnnotations() == null ? Map.of() : meta.getAnnotations());
      annotations.put("kubectl.kubernetes.io/restartedAt", java.time.Instant.now().toString());
      meta.setAnnotations(annotations);
      return d;
    });
  }

  private void loop() {
    while (running) {
      try {
        reconcile();
      } catch (RuntimeException e) {
        if (running) {
          log.warn("controller manager: {}", e.toString());
        }
      }
      Sh.sleep(500);
    }
  }

  /** One pass over every DaemonSet and Deployment. */
  synchronized void reconcile() {
    List<Node> nodes = client.nodes().list().getItems();
    List<Pod> pods = client.pods().inAnyNamespace().list().getItems();
    List<DaemonSet> daemonSets = client.apps().daemonSets().inAnyNamespace().list().getItems();
    List<Deployment> deployments = client.apps().deployments().inAnyNamespace().list().getItems();
    for (DaemonSet ds : daemonSets) {
      daemonSet(ds, nodes, owned(pods, ds.getMetadata()));
    }
    for (Deployment d : deployments) {
      deployment(d, nodes, owned(pods, d.getMetadata()));
    }
    // the garbage collector: pods whose DaemonSet or Deployment is gone go too (background cascading deletion)
    java.util.Set<String> owners = new java.util.HashSet<>();
    daemonSets.forEach(x -> owners.add(x.getMetadata().getUid()));
    deployments.forEach(x -> owners.add(x.getMetadata().getUid()));
    for (Pod p : pods) {
      if (p.getMetadata().getOwnerReferences() != null && p.getMetadata().getOwnerReferences().stream()
          .anyMatch(r -> Boolean.TRUE.equals(r.getController()) && List.of("DaemonSet", "Deployment").contains(r.getKind())
              && !owners.contains(r.getUid()))) {
        delete(p, "its owner is gone");
      }
    }
  }

  private void daemonSet(DaemonSet ds, List<Node> nodes, List<Pod> pods) {
    PodTemplateSpec template = ds.getSpec().getTemplate();
    String hash = hash(template);
    PodSpec fitSpec = withDaemonSetTolerations(template.getSpec());
    List<String> eligible = nodes.stream().filter(n -> Scheduling.fits(fitSpec, n)).map(n -> n.getMetadata().getName()).sorted().toList();
    Map<String, Pod> byNode = new HashMap<>();
    for (Pod p : pods) {
      if (!eligible.contains(p.getSpec().getNodeName()) || byNode.containsKey(p.getSpec().getNodeName())) {
        delete(p, "its node no longer runs " + ds.getMetadata().getName());
      } else {
        byNode.put(p.getSpec().getNodeName(), p);
      }
    }
    for (String node : eligible) {
      if (!byNode.containsKey(node)) {
        byNode.put(node, create(ds.getMetadata(), "DaemonSet", template, node, Map.of(REVISION_LABEL, hash), true));
      }
    }
    // rolling update, one node at a time, only while every pod is Ready
    List<Pod> outdated = byNode.values().stream().filter(p -> !hash.equals(label(p, REVISION_LABEL)))
        .sorted((a, b) -> a.getSpec().getNodeName().compareTo(b.getSpec().getNodeName())).toList();
    if (!outdated.isEmpty() && byNode.values().stream().allMatch(Workloads::ready)) {
      Pod old = outdated.get(0);
      String node = old.getSpec().getNodeName();
      log.info("rolling update of DaemonSet {}: replacing {} on {}", ds.getMetadata().getName(), old.getMetadata().getName(), node);
      delete(old, "rolling update");
      awaitTerminated(old);
      Consumer<String> hook = rolloutHooks.get(ds.getMetadata().getNamespace() + "/" + ds.getMetadata().getName());
      if (hook != null) {
        hook.accept(node);
      }
      byNode.put(node, create(ds.getMetadata(), "DaemonSet", template, node, Map.of(REVISION_LABEL, hash), true));
    }
    long ready = byNode.values().stream().filter(Workloads::ready).count();
    long updated = byNode.values().stream().filter(p -> hash.equals(label(p, REVISION_LABEL))).count();
    writeStatus(ds.getMetadata(), "DaemonSet", new DaemonSetStatusBuilder().withDesiredNumberScheduled(eligible.size())
        .withCurrentNumberScheduled(byNode.size()).withNumberReady((int) ready).withNumberAvailable((int) ready)
        .withUpdatedNumberScheduled((int) updated).withNumberMisscheduled(0).withNumberUnavailable(eligible.size() - (int) ready)
        .withObservedGeneration(ds.getMetadata().getGeneration()).build(),
        s -> client.apps().daemonSets().inNamespace(ds.getMetadata().getNamespace()).withName(ds.getMetadata().getName())
            .editStatus(d -> {
              d.setStatus(s);
              return d;
            }));
  }

  private void deployment(Deployment d, List<Node> nodes, List<Pod> pods) {
    PodTemplateSpec template = d.getSpec().getTemplate();
    String hash = hash(template);
    int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
    List<Pod> current = new ArrayList<>(pods.stream().filter(p -> hash.equals(label(p, TEMPLATE_HASH_LABEL))).toList());
    List<Pod> old = new ArrayList<>(pods.stream().filter(p -> !hash.equals(label(p, TEMPLATE_HASH_LABEL))).toList());
    Map<String, Integer> load = new HashMap<>();
    pods.forEach(p -> load.merge(p.getSpec().getNodeName(), 1, Integer::sum));
    // a new template surges one pod at a time and retires an old one when it is Ready (maxSurge 1, maxUnavailable 0)
    int want = old.isEmpty() ? replicas : Math.min(replicas, current.size() + (current.stream().allMatch(Workloads::ready) ? 1 : 0));
    while (current.size() < want) {
      Optional<Node> node = Scheduling.leastLoaded(template.getSpec(), nodes, n -> load.getOrDefault(n.getMetadata().getName(), 0));
      if (node.isEmpty()) {
        log.warn("Deployment {}: no node fits its pods", d.getMetadata().getName());
        break;
      }
      String name = node.get().getMetadata().getName();
      load.merge(name, 1, Integer::sum);
      current.add(create(d.getMetadata(), "Deployment", template, name, Map.of(TEMPLATE_HASH_LABEL, hash), false));
    }
    long readyNew = current.stream().filter(Workloads::ready).count();
    int surplus = (int) (old.size() + current.size() - replicas);
    for (int i = 0; i < old.size() && surplus > 0 && readyNew > 0; i++, surplus--) {
      delete(old.get(i), "rolling update");
    }
    while (current.size() > replicas) {
      delete(current.remove(current.size() - 1), "scaled down");
    }
    long ready = pods.stream().filter(Workloads::ready).count();
    writeStatus(d.getMetadata(), "Deployment", new DeploymentStatusBuilder().withReplicas(pods.size()).withReadyReplicas((int) ready)
        .withAvailableReplicas((int) ready).withUpdatedReplicas(current.size()).withUnavailableReplicas(Math.max(0, replicas - (int) ready))
        .withObservedGeneration(d.getMetadata().getGeneration()).build(),
        s -> client.apps().deployments().inNamespace(d.getMetadata().getNamespace()).withName(d.getMetadata().getName())
            .editStatus(x -> {
              x.setStatus(s);
              return x;
            }));
  }

  private Pod create(ObjectMeta owner, String kind, PodTemplateSpec template, String node, Map<String, String> extraLabels,
      boolean daemon) {
    Map<String, String> labels = new LinkedHashMap<>(template.getMetadata().getLabels() == null ? Map.of() : template.getMetadata().getLabels());
    labels.putAll(extraLabels);
    String name = owner.getName() + "-" + (daemon ? "" : extraLabels.get(TEMPLATE_HASH_LABEL) + "-") + suffix();
    PodSpec spec = new io.fabric8.kubernetes.api.model.PodSpecBuilder(daemon ? withDaemonSetTolerations(template.getSpec()) : template.getSpec())
        .withNodeName(node).build();
    Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace(owner.getNamespace()).withLabels(labels)
        .withAnnotations(template.getMetadata().getAnnotations())
        .addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind(kind).withName(owner.getName())
            .withUid(owner.getUid()).withController(true).withBlockOwnerDeletion(true).build())
        .endMetadata().withSpec(spec).build();
    Pod created = client.pods().inNamespace(owner.getNamespace()).resource(pod).create();
    log.info("{} {}: pod {} on {}", kind, owner.getName(), name, node);
    return created;
  }

  private void delete(Pod p, String why) {
    log.info("deleting pod {}/{} on {} ({})", p.getMetadata().getNamespace(), p.getMetadata().getName(), p.getSpec().getNodeName(), why);
    client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).delete();
  }

  private void awaitTerminated(Pod p) {
    runtimes.apply(p.getSpec().getNodeName()).ifPresent(r -> {
      Sh.poll(() -> r.terminated(p.getMetadata().getUid()).isDone() || r.pods().stream().noneMatch(w -> w.uid().equals(p.getMetadata().getUid())),
          done -> done, Duration.ofSeconds(5), 100);
      try {
        r.terminated(p.getMetadata().getUid()).get(NodeRuntime.grace(p).toSeconds() + 90, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("pod {} did not stop in time: {}", p.getMetadata().getName(), e.toString());
      }
    });
  }

  private <T> void writeStatus(ObjectMeta meta, String kind, T status, Consumer<T> write) {
    String key = kind + "/" + meta.getNamespace() + "/" + meta.getName();
    String text = status.toString();
    if (!text.equals(lastStatus.get(key))) {
      try {
        write.accept(status);
        lastStatus.put(key, text);
      } catch (RuntimeException e) {
        log.debug("cannot write the status of {}: {}", key, e.getMessage());
      }
    }
  }

  /** Pods controlled by the workload {@code owner}. */
  private static List<Pod> owned(List<Pod> pods, ObjectMeta owner) {
    return pods.stream().filter(p -> p.getMetadata().getOwnerReferences() != null && p.getMetadata().getOwnerReferences().stream()
        .anyMatch(r -> Objects.equals(r.getUid(), owner.getUid()) && Boolean.TRUE.equals(r.getController()))).toList();
  }

  static boolean ready(Pod p) {
    return p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static String label(Pod p, String key) {
    return p.getMetadata().getLabels() == null ? null : p.getMetadata().getLabels().get(key);
  }

  /** The tolerations the DaemonSet controller adds to every daemon pod. */
  static PodSpec withDaemonSetTolerations(PodSpec spec) {
    List<Toleration> tolerations = new ArrayList<>(spec.getTolerations() == null ? List.of() : spec.getTolerations());
    for (String key : List.of("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")) {
      tolerations.add(new TolerationBuilder().withKey(key).withOperator("Exists").withEffect("NoExecute").build());
    }
    for (String key : List.of("node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable")) {
      tolerations.add(new TolerationBuilder().withKey(key).withOperator("Exists").withEffect("NoSchedule").build());
    }
    if (Boolean.TRUE.equals(spec.getHostNetwork())) {
      tolerations.add(new TolerationBuilder().withKey("node.kubernetes.io/network-unavailable").withOperator("Exists")
          .withEffect("NoSchedule").build());
    }
    return new io.fabric8.kubernetes.api.model.PodSpecBuilder(spec).withTolerations(tolerations).build();
  }

  /** A template's hash, as the label values Kubernetes uses (10 hex characters here). */
  static String hash(PodTemplateSpec template) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(
          new io.fabric8.kubernetes.client.utils.KubernetesSerialization().asJson(template).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d).substring(0, 10);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String suffix() {
    String alphabet = "bcdfghjklmnpqrstvwxz2456789";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      b.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
    }
    return b.toString();
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
