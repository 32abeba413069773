package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's kubelet and scheduler in one: a Pod created through the API is bound to a worker (if it
 * names none), gets a network namespace through the real CNI chain of that worker (the containernetworking
 * {@code ptp} + {@code host-local} plugins, then ours), and has its IP and phase written to its status.
 * Deleting the Pod runs CNI DEL and removes the namespace. A failed ADD is reported in the Pod's status
 * message, as a kubelet reports a sandbox creation failure, and retried a few times.
 */
public final class PodRuntime implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodRuntime.class);

  /**
   * What happened to one pod's CNI ADD: {@code detail} is the pod IP when ok, else the first error;
   * {@code firstError} is the first failed attempt's error even when a later attempt succeeded (empty when
   * none failed); {@code startNanos} is when the first ADD started ({@link System#nanoTime}).
   */
  public record PodEvent(String key, String node, String netns, boolean ok, String detail, long addMillis,
      String firstError, long startNanos) {}

  private final KubernetesClient client;
  private final NetLab lab;
  private final Map<String, Sandbox.SimNode> workers;
  private final Path cniBin;
  private final Path stateDir;
  private final Consumer<PodEvent> listener;
  private final Map<String, String> netnsByPod = new ConcurrentHashMap<>();
  /** Like a kubelet's parallel sandbox creation: up to this many CNI ADDs at once. */
  static final int PARALLEL_ADDS = 20;
  private final ExecutorService executor = Executors.newFixedThreadPool(PARALLEL_ADDS);
  private final AtomicInteger nextWorker = new AtomicInteger();
  private SharedIndexInformer<Pod> informer;

  public PodRuntime(KubernetesClient client, NetLab lab, List<Sandbox.SimNode> workers, Path stateDir,
      Consumer<PodEvent> listener) {
    this.client = client;
    this.lab = lab;
    this.workers = new ConcurrentHashMap<>();
    workers.forEach(w -> this.workers.put(w.name(), w));
    this.stateDir = stateDir;
    this.listener = listener;
    this.cniBin = installPlugin(lab.workDir().resolve("cni-bin"));
  }

  /** Namespace name of a pod: deterministic, so {@code egress sandbox exec ns/pod} finds it. */
  public static String netnsOf(String prefix, String namespace, String name) {
    return prefix + "-pod-" + namespace + "-" + name;
  }

  public void start() {
    informer = client.pods().inAnyNamespace().inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {
        executor.submit(() -> reconcile(pod));
      }

      @Override
      public void onUpdate(Pod old, Pod pod) {
        executor.submit(() -> reconcile(pod));
      }

      @Override
      public void onDelete(Pod pod, boolean unknown) {
        executor.submit(() -> remove(pod));
      }
    }, 0);
  }

  private void reconcile(Pod pod) {
    String key = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    if (pod.getMetadata().getDeletionTimestamp() != null || netnsByPod.containsKey(key)) {
      return;
    }
    String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    if (nodeName == null || nodeName.isBlank()) {
      List<String> names = workers.keySet().stream().sorted().toList();
      String chosen = names.get(Math.floorMod(nextWorker.getAndIncrement(), names.size()));
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .edit(p -> { p.getSpec().setNodeName(chosen); return p; });
      return; // the update event brings it back with a node
    }
    Sandbox.SimNode node = workers.get(nodeName);
    if (node == null) {
      return; // not a worker of this sandbox (gateway nodes are tainted)
    }
    String netns = netnsOf(lab.prefix(), pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    netnsByPod.put(key, netns);
    String nsShort = netns.substring(lab.prefix().length() + 1);
    lab.addNamespace(nsShort);
    long t0 = System.nanoTime();
    CniChain.Outcome outcome = null;
    String firstError = null;
    long giveUp = System.nanoTime() + java.time.Duration.ofSeconds(90).toNanos();
    for (int attempt = 1; System.nanoTime() < giveUp; attempt++) {
      outcome = chainFor(node).add(pod.getMetadata().getUid(), "/var/run/netns/" + netns, "eth0", k8sArgs(pod));
      if (outcome.ok()) {
        break;
      }
      String why = "CNI ADD failed (attempt " + attempt + "): " + outcome.failedPlugin() + ": " + outcome.error();
      log.warn("pod {} on {}: {}", key, nodeName, why);
      writeStatus(pod, null, "Pending", why);
      // like a container runtime: a failed ADD is undone with DEL before the next attempt
      chainFor(node).del(pod.getMetadata().getUid(), "/var/run/netns/" + netns, "eth0", k8sArgs(pod));
      firstError = firstError == null ? why : firstError;
      Sh.sleep(Math.min(5000L, 1000L * attempt));
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    if (outcome.ok()) {
      String ip = firstIp(outcome.result());
      writeStatus(pod, ip, "Running", null);
      log.info("pod {} on {}: {} in {} ms", key, nodeName, ip, ms);
      listener.accept(new PodEvent(key, nodeName, netns, true, ip, ms, firstError == null ? "" : firstError, t0));
    } else {
      listener.accept(new PodEvent(key, nodeName, netns, false, firstError, ms, firstError, t0));
    }
  }

  private void remove(Pod pod) {
    String key = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    String netns = netnsByPod.remove(key);
    if (netns == null) {
      return;
    }
    Sandbox.SimNode node = workers.get(pod.getSpec().getNodeName());
    if (node != null) {
      CniChain.Outcome del = chainFor(node).del(pod.getMetadata().getUid(), "/var/run/netns/" + netns, "eth0", k8sArgs(pod));
      if (!del.ok()) {
        log.warn("pod {}: CNI DEL reported {}: {}", key, del.failedPlugin(), del.error());
      }
    }
    lab.removeNamespace(netns);
  }

  /** True while pod {@code namespace/name} has its namespace here (from its ADD until its DEL ran). */
  public boolean hasSandbox(String key) {
    return netnsByPod.containsKey(key);
  }

  /** Runs DEL for every pod still present (teardown), several at once. */
  public void deleteAll() {
    ExecutorService dels = Executors.newFixedThreadPool(8);
    for (Pod p : informer == null ? List.<Pod>of() : informer.getStore().list()) {
      dels.submit(() -> remove(p));
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

  private CniChain chainFor(Sandbox.SimNode node) {
    String conflist = """
        {"cniVersion":"1.0.0","name":"sandbox-%s","plugins":[
          {"type":"ptp","ipMasq":false,"mtu":1500,
           "ipam":{"type":"host-local","subnet":"%s","dataDir":"%s","routes":[{"dst":"0.0.0.0/0"}]}},
          {"type":"kube-egress-cni","socketPath":"%s"}
        ]}""".formatted(node.name(), node.podCidr(), lab.workDir().resolve("ipam-" + node.name()),
        stateDir.resolve(node.name()).resolve("cni.sock"));
    return new CniChain(conflist, "/usr/lib/cni:/opt/cni/bin:" + cniBin, node.ns());
  }

  private static String k8sArgs(Pod pod) {
    return "K8S_POD_NAMESPACE=" + pod.getMetadata().getNamespace() + ";K8S_POD_NAME=" + pod.getMetadata().getName()
        + ";K8S_POD_INFRA_CONTAINER_ID=" + pod.getMetadata().getUid() + ";K8S_POD_UID=" + pod.getMetadata().getUid();
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

  /**
   * Installs the plugin as an operator would ({@code java -jar kube-egress-cni.jar install DIR}): jar,
   * launcher and the class-data archive that makes each invocation's JVM start cheaper.
   */
  private static Path installPlugin(Path dir) {
    try {
      Files.createDirectories(dir);
      Path jar = Path.of(io.egressgateway.cni.CniPlugin.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Sh.Result r = Sh.run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
          jar.toString(), "install", dir.toString()), null, 120);
      String said = (r.out() + r.err()).strip();
      if (!r.ok() || !Files.isExecutable(dir.resolve("kube-egress-cni"))) {
        throw new IllegalStateException("installing the CNI plugin into " + dir + " failed: " + said);
      }
      if (!Files.isRegularFile(dir.resolve("kube-egress-cni.jsa"))) {
        log.warn("the CNI plugin was installed without its class-data archive (each call starts slower): {}", said);
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.close();
    }
    executor.shutdownNow();
  }
}
