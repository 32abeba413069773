package io.egressgateway.sandbox;

import io.egressgateway.cnichain.CniChain;
import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pod-network half of the sandbox's kubelets, and the scheduler of pods created without a node: a pod
 * without {@code hostNetwork} on a node with a pod network gets a network namespace through that node's
 * CNI chain, as a container runtime sets one up: the first configuration in the node's
 * {@code /etc/cni/net.d} (the primary network's, and once the chart's worker has chained the egress plugin
 * onto it, its {@code 01-egressgateway.conflist}), run with the plugins in the node's {@code /opt/cni/bin}
 * ({@link NodeHost#hostCommand}), the pod's annotations passed to the plugins that declare the capability.
 * The configuration an ADD used is the one its DEL uses. A failed ADD is undone with DEL and retried, and
 * reported in the status of a pod the sandbox runs no container for (the {@link NodeRuntime} writes the
 * status of the others): a demo pod for 90 s, a pod with containers until it is deleted.
 *
 * <p>A pod created without a node is bound to one of the nodes with a pod network, in turn. Deleting a demo
 * pod runs DEL at once; the namespace of a pod with containers goes when its node runtime has stopped them
 * ({@link #release}).
 */
public final class PodRuntime implements NodeRuntime.Network, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodRuntime.class);
  static final String ANNOTATIONS_CAPABILITY = "io.kubernetes.cri.pod-annotations";

  /**
   * What happened to one pod's CNI ADD: {@code detail} is the pod IP when ok, else the first error;
   * {@code firstError} is the first failed attempt's error even when a later attempt succeeded (empty when
   * none failed); {@code startNanos} is when the first ADD started ({@link System#nanoTime}).
   */
  public record PodEvent(String key, String node, String netns, boolean ok, String detail, long addMillis,
      String firstError, long startNanos) {}

  /** A pod's sandbox as set up: its namespace, the chain and container id of its ADD, what the ADD passed. */
  private record Sandbox(String netns, String node, CniChain chain, String containerId, Map<String, ?> capabilities) {}

  private final KubernetesClient client;
  private final NetLab lab;
  private final Map<String, NodeHost> nodes;
  private final Consumer<PodEvent> listener;
  private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
  private final Map<String, PodEvent> outcomes = new ConcurrentHashMap<>();
  /** When (nanoTime) the pod watch delivered each demo pod's deletion, by namespace/name (diagnostics of leftovers). */
  private final Map<String, Long> deletionsSeen = new ConcurrentHashMap<>();
  /** UIDs of demo pods whose deletion was delivered: never set up again by a late update. */
  private final java.util.Set<String> deletedUids = ConcurrentHashMap.newKeySet();
  /** Like a kubelet's parallel sandbox creation: up to this many CNI ADDs at once. */
  static final int PARALLEL_ADDS = 20;
  private final ExecutorService executor = Executors.newFixedThreadPool(PARALLEL_ADDS);
  private final AtomicInteger nextNode = new AtomicInteger();
  private SharedIndexInformer<Pod> informer;
  /** The kubelet's relist: pods gone from the API whose deletion the watch never delivered still get their DEL. */
  private final java.util.concurrent.ScheduledExecutorService relist = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "pod-runtime-relist");
    t.setDaemon(true);
    return t;
  });
  static final java.time.Duration RELIST_EVERY = java.time.Duration.ofSeconds(2);

  /**
   * The cpuacct groups the CNI plugins run in while the benchmark counts CPU: the egress plugin in
   * {@code ours}, every plugin of this machine's CNI package ({@code /usr/lib/cni}: ptp, host-local, ...) in
   * {@code cni}.
   */
  record CpuGroups(CpuGroup ours, CpuGroup cni) {
    boolean isOurs(String binary) {
      String name = Path.of(binary).getFileName().toString();
      return !Files.exists(Path.of("/usr/lib/cni", name));
    }
  }

  private volatile CpuGroups cpuGroups;

  /** From now on the CNI plugins run in these groups (null: in the sandbox's own). */
  void accountCpu(CpuGroups groups) {
    this.cpuGroups = groups;
  }

  /** {@code nodes}: the nodes with a pod network (the workers), by name. */
  public PodRuntime(KubernetesClient client, NetLab lab, Map<String, NodeHost> nodes, Consumer<PodEvent> listener) {
    this.client = client;
    this.lab = lab;
    this.nodes = Map.copyOf(nodes);
    this.listener = listener;
  }

  /** Namespace name of a pod: deterministic, so {@code egress sandbox exec ns/pod} finds it. */
  public static String netnsOf(String prefix, String namespace, String name) {
    return prefix + "-pod-" + namespace + "-" + name;
  }

  public void start() {
    informer = client.pods().inAnyNamespace().inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {
        submit("ADD", pod, () -> reconcile(pod));
      }

      @Override
      public void onUpdate(Pod old, Pod pod) {
        submit("ADD", pod, () -> reconcile(pod));
      }

      @Override
      public void onDelete(Pod pod, boolean unknown) {
        deleted(pod);
      }
    }, 0);
    relist.scheduleWithFixedDelay(this::relist, RELIST_EVERY.toMillis(), RELIST_EVERY.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void deleted(Pod pod) {
    if (!NodeRuntime.runsContainers(pod) && deletedUids.add(pod.getMetadata().getUid())) {
      deletionsSeen.put(key(pod), System.nanoTime());
      submit("DEL", pod, () -> remove(pod));
    }
  }

  /**
   * As a kubelet relists: a pod this runtime has set up that the API no longer lists gets its DEL, even when
   * the watch never delivered the deletion (the mock API server can lose a watch's events when another watch
   * ends; seen once in the fault suite's pod churn).
   */
  private void relist() {
    if (sandboxes.isEmpty() || informer == null) {
      return;
    }
    try {
      java.util.Set<String> listed = new java.util.HashSet<>();
      client.pods().inAnyNamespace().list().getItems().forEach(p -> listed.add(key(p)));
      for (Pod cached : informer.getStore().list()) {
        String key = key(cached);
        if (sandboxes.containsKey(key) && !listed.contains(key) && !deletedUids.contains(cached.getMetadata().getUid())) {
          log.warn("pod {}: gone from the API, its deletion never came through the watch; running its DEL", key);
          deleted(cached);
        }
      }
    } catch (RuntimeException e) {
      log.debug("relist skipped: {}", e.toString());
    }
  }

  /** Runs a pod's task on the runtime's threads; a task that throws is logged, never dropped silently. */
  private void submit(String what, Pod pod, Runnable task) {
    executor.execute(() -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("pod {}: {} failed: {}", key(pod), what, e.toString(), e);
      }
    });
  }

  private static String key(Pod pod) {
    return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
  }

  private void reconcile(Pod pod) {
    String key = key(pod);
    // an update delivered before the pod's deletion may run after its DEL (the tasks run in parallel): a pod whose
    // deletion was seen is never set up again
    if (pod.getMetadata().getDeletionTimestamp() != null || sandboxes.containsKey(key)
        || Boolean.TRUE.equals(pod.getSpec().getHostNetwork()) || deletedUids.contains(pod.getMetadata().getUid())) {
      return;
    }
    String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    if (nodeName == null || nodeName.isBlank()) {
      List<String> names = nodes.keySet().stream().sorted().toList();
      String chosen = names.get(Math.floorMod(nextNode.getAndIncrement(), names.size()));
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .edit(p -> {
            p.getSpec().setNodeName(chosen);
            return p;
          });
      return; // the update event brings it back with a node
    }
    NodeHost node = nodes.get(nodeName);
    if (node == null) {
      return; // a node without a pod network (gateway nodes run host-network pods only)
    }
    boolean demo = !NodeRuntime.runsContainers(pod);
    String netns = netnsOf(lab.prefix(), pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    Map<String, ?> capabilities = Map.of(ANNOTATIONS_CAPABILITY,
        pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations());
    if (sandboxes.putIfAbsent(key, new Sandbox(netns, nodeName, null, null, capabilities)) != null) {
      return; // another task of this pod got here first
    }
    deletionsSeen.remove(key);
    boolean made = false;
    try {
      lab.addNamespace(netns.substring(lab.prefix().length() + 1));
      made = true;
      node.bindPodNetns(netns);
    } catch (RuntimeException e) {
      // no namespace, no sandbox: a later event of the pod tries again
      sandboxes.remove(key);
      if (made) {
        lab.removeNamespace(netns);
      }
      throw e;
    }
    long t0 = System.nanoTime();
    CniChain.Outcome outcome = null;
    CniChain chain = null;
    String firstError = null;
    // a kubelet retries a pod's sandbox for as long as the pod exists; the demo's pods (whose failure the start
    // reports) stop after 4 minutes, longer than the product may take to come back from the fault suite's outages
    // (a configuration made while the journal is down is served up to a resync, 60 s, after it is back)
    long giveUp = System.nanoTime() + java.time.Duration.ofSeconds(240).toNanos();
    String containerId = null;
    for (int attempt = 1; (!demo || System.nanoTime() < giveUp) && sandboxes.containsKey(key); attempt++) {
      // every attempt is a sandbox of its own, with an id of its own, as a container runtime makes them: the DEL
      // of a failed attempt (which the plugin may keep for later) concerns that attempt only
      containerId = sandboxId();
      chain = chainOf(node);
      outcome = chain == null ? CniChain.Outcome.failed("runtime", "network plugin not ready: no CNI configuration in "
          + "/etc/cni/net.d of " + nodeName) : chain.add(containerId, "/var/run/netns/" + netns, "eth0", k8sArgs(pod, containerId), capabilities);
      if (outcome.ok()) {
        break;
      }
      String why = "CNI ADD failed (attempt " + attempt + "): " + outcome.plugin() + ": " + outcome.error();
      log.warn("pod {} on {}: {}", key, nodeName, why);
      if (demo) {
        writeStatus(pod, null, "Pending", why);
      }
      // like a container runtime: a failed ADD is undone with DEL before the next attempt
      if (chain != null) {
        chain.del(containerId, "/var/run/netns/" + netns, "eth0", k8sArgs(pod, containerId), capabilities);
      }
      firstError = firstError == null ? why : firstError;
      Sh.sleep(Math.min(5000L, 1000L * attempt));
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    PodEvent event;
    if (outcome != null && outcome.ok()) {
      CniChain used = chain;
      String id = containerId;
      sandboxes.computeIfPresent(key, (k, s) -> new Sandbox(s.netns(), s.node(), used, id, s.capabilities()));
      String ip = firstIp(outcome.result());
      if (demo) {
        writeStatus(pod, ip, "Running", null);
      }
      log.info("pod {} on {}: {} in {} ms", key, nodeName, ip, ms);
      event = new PodEvent(key, nodeName, netns, true, ip, ms, firstError == null ? "" : firstError, t0);
    } else {
      event = new PodEvent(key, nodeName, netns, false, firstError, ms, firstError == null ? "" : firstError, t0);
    }
    outcomes.put(pod.getMetadata().getUid(), event);
    listener.accept(event);
  }

  /**
   * The chain the node's first configuration file describes now, as the node's container runtime runs it:
   * binaries from the node's {@code /opt/cni/bin}, run through {@link NodeHost#hostCommand}; null when there is
   * no configuration.
   */
  private CniChain chainOf(NodeHost node) {
    Path conf = node.cniConfig();
    if (conf == null) {
      return null;
    }
    try {
      return new CniChain(Files.readString(conf), "/opt/cni/bin",
          type -> Files.exists(node.hostPath("/opt/cni/bin").resolve(type)) ? "/opt/cni/bin/" + type : null,
          (env, binary, stdin) -> {
            CpuGroups g = cpuGroups;
            Path procs = g == null ? null : (g.isOurs(binary) ? g.ours() : g.cni()).procs();
            CommandRunner.Result r = Sh.run(node.hostCommand(env, List.of(binary), procs), stdin, 60);
            return new CniChain.Run(r.exitCode(), r.stdout(), r.stderr());
          });
    } catch (IOException | IllegalArgumentException e) {
      log.warn("node {}: cannot read {}: {}", node.node(), conf, e.getMessage());
      return null;
    }
  }

  @Override
  public Optional<String[]> await(Pod pod, BooleanSupplier cancelled) {
    while (!cancelled.getAsBoolean()) {
      PodEvent e = outcomes.get(pod.getMetadata().getUid());
      if (e != null) {
        return e.ok() ? Optional.of(new String[] {e.netns(), e.detail()}) : Optional.empty();
      }
      Sh.sleep(200);
    }
    return Optional.empty();
  }

  @Override
  public void release(Pod pod) {
    remove(pod);
  }

  private void remove(Pod pod) {
    String key = key(pod);
    Sandbox s = sandboxes.remove(key);
    outcomes.remove(pod.getMetadata().getUid());
    if (s == null) {
      return;
    }
    NodeHost node = nodes.get(s.node());
    CniChain chain = s.chain() != null ? s.chain() : node == null ? null : chainOf(node);
    if (chain != null && s.containerId() != null) {
      long t0 = System.nanoTime();
      CniChain.Outcome del = chain.del(s.containerId(), "/var/run/netns/" + s.netns(), "eth0", k8sArgs(pod, s.containerId()), s.capabilities());
      if (!del.ok()) {
        log.warn("pod {}: CNI DEL reported {}: {}", key, del.plugin(), del.error());
      } else {
        Long seen = deletionsSeen.get(key);
        log.info("pod {}: CNI DEL done in {} ms{}", key, (System.nanoTime() - t0) / 1_000_000,
            seen == null ? "" : " (" + (t0 - seen) / 1_000_000 + " ms after its deletion reached the runtime)");
      }
    }
    if (node != null) {
      node.unbindPodNetns(s.netns());
    }
    lab.removeNamespace(s.netns());
  }

  /**
   * Why pod {@code namespace/name} (deleted through the API) may still have its namespace here: whether the
   * sandbox's pod watch delivered the deletion, and when.
   */
  public String deletionState(String key) {
    Long seen = deletionsSeen.get(key);
    if (seen != null) {
      return "its deletion reached the runtime " + (System.nanoTime() - seen) / 1_000_000 + " ms ago";
    }
    boolean listed = informer != null && informer.getStore().list().stream().anyMatch(p -> key(p).equals(key));
    return listed ? "the runtime's pod watch has not delivered its deletion (the pod is still in its cache)"
        : "not in the runtime's pod cache, no deletion delivered";
  }

  /** True while pod {@code namespace/name} has its namespace here (from its ADD until its DEL ran). */
  public boolean hasSandbox(String key) {
    return sandboxes.containsKey(key);
  }

  /** Runs DEL for every demo pod still present (teardown), several at once; pods with containers are left to their node runtime. */
  public void deleteAll() {
    ExecutorService dels = Executors.newFixedThreadPool(8);
    for (Pod p : informer == null ? List.<Pod>of() : informer.getStore().list()) {
      if (!NodeRuntime.runsContainers(p)) {
        dels.submit(() -> remove(p));
      }
    }
    dels.shutdown();
    try {
      if (!dels.awaitTermination(5, java.util.concurrent.TimeUnit.MINUTES)) {
        log.warn("CNI DEL of every pod did not finish within 5 minutes");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String k8sArgs(Pod pod, String containerId) {
    return "K8S_POD_NAMESPACE=" + pod.getMetadata().getNamespace() + ";K8S_POD_NAME=" + pod.getMetadata().getName()
        + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";K8S_POD_UID=" + pod.getMetadata().getUid();
  }

  /** A sandbox id as containerd makes them: 64 hex digits. */
  private static String sandboxId() {
    byte[] b = new byte[32];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  private void writeStatus(Pod pod, String ip, String phase, String message) {
    try {
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .editStatus(p -> {
            p.setStatus(new PodStatusBuilder().withPhase(phase).withPodIP(ip).withMessage(message)
                .withStartTime(Instant.now().toString()).build());
            return p;
          });
    } catch (RuntimeException e) {
      log.warn("cannot write status of pod {}/{}: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), e.getMessage());
    }
  }

  private static String firstIp(String resultJson) {
    Matcher m = Pattern.compile("\"address\"\\s*:\\s*\"([0-9.]+)/").matcher(resultJson);
    return m.find() ? m.group(1) : null;
  }

  @Override
  public void close() {
    relist.shutdownNow();
    if (informer != null) {
      informer.close();
    }
    executor.shutdownNow();
  }
}
