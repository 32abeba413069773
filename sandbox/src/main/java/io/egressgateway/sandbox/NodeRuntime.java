package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet of one simulated node: runs the containers of the pods bound to the node with podman
 * ({@link PodWorker} per pod) and writes their status to the API. A {@code hostNetwork} pod's containers
 * join the node's network namespace and get the node's address as pod IP; any other pod first gets its
 * network namespace from the node's CNI chain ({@link Network}). Pods whose containers have the image
 * {@value #NO_IMAGE} (the demo's application pods) are network namespaces only: no container runs for them.
 */
final class NodeRuntime implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeRuntime.class);
  /** The image of containers the sandbox does not run (pods that exist for their network namespace only). */
  static final String NO_IMAGE = "sandbox/none";

  /** A pod's network namespace, from the node's CNI chain, for pods without {@code hostNetwork}. */
  interface Network {
    /** Waits until the pod has its namespace; (namespace name under /run/netns, pod IP), or empty if it never will. */
    Optional<String[]> await(Pod pod, java.util.function.BooleanSupplier cancelled);

    /** Runs CNI DEL and removes the namespace, once the pod's containers are gone. */
    void release(Pod pod);
  }

  /** How a pod on this node reaches the API: the service variables, a token for a service account, the CA. */
  interface ApiAccess {
    Map<String, String> serviceEnv();

    String token(String namespace, String serviceAccount);

    String caPem();
  }

  private final NodeHost host;
  private final String nodeIp;
  private final KubernetesClient client;
  private final Podman podman;
  private final Network network;
  private final ApiAccess api;
  private final Path podsDir;
  private final Path logsDir;
  private final String runLabel;
  private final Map<String, PodWorker> workers = new ConcurrentHashMap<>();

  NodeRuntime(NodeHost host, String nodeIp, KubernetesClient client, Podman podman, Network network, ApiAccess api,
      Path podsDir, Path logsDir, String runLabel) {
    this.host = host;
    this.nodeIp = nodeIp;
    this.client = client;
    this.podman = podman;
    this.network = network;
    this.api = api;
    this.podsDir = podsDir;
    this.logsDir = logsDir;
    this.runLabel = runLabel;
    try {
      Files.createDirectories(podsDir);
      Files.createDirectories(logsDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String node() {
    return host.node();
  }

  NodeHost host() {
    return host;
  }

  String nodeIp() {
    return nodeIp;
  }

  /** Whether this runtime runs containers for {@code pod} (false for pods of {@value #NO_IMAGE} only). */
  static boolean runsContainers(Pod pod) {
    return pod.getSpec() != null && pod.getSpec().getContainers() != null
        && pod.getSpec().getContainers().stream().anyMatch(c -> !NO_IMAGE.equals(c.getImage()) && !"none".equals(c.getImage()));
  }

  /** A pod was added or changed: starts it if it is bound here, runs containers and is not running yet. */
  void onPod(Pod pod) {
    if (!host.node().equals(pod.getSpec().getNodeName()) || !runsContainers(pod)
        || pod.getMetadata().getDeletionTimestamp() != null) {
      return;
    }
    workers.computeIfAbsent(pod.getMetadata().getUid(), uid -> {
      PodWorker w = new PodWorker(this, pod);
      w.start();
      return w;
    });
  }

  /** The pod was deleted: its containers are stopped (preStop hooks, then SIGTERM within the grace period). */
  void onDeleted(Pod pod) {
    PodWorker w = workers.get(pod.getMetadata().getUid());
    if (w != null) {
      w.stop();
    }
  }

  /** Completes when the pod's containers are gone and its network released (at once for a pod not run here). */
  CompletableFuture<Void> terminated(String podUid) {
    PodWorker w = workers.get(podUid);
    return w == null ? CompletableFuture.completedFuture(null) : w.terminated();
  }

  /** The running container's id for {@code container} of the pod, if any. */
  Optional<String> containerId(String podUid, String container) {
    return Optional.ofNullable(workers.get(podUid)).flatMap(w -> w.containerId(container));
  }

  /** Pods this runtime runs or is stopping, by uid. */
  List<PodWorker> pods() {
    return List.copyOf(workers.values());
  }

  /** Stops every pod of the node (as a node shutdown) and waits, bounded. */
  @Override
  public void close() {
    workers.values().forEach(PodWorker::stop);
    for (PodWorker w : workers.values()) {
      try {
        w.terminated().get(90, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("node {}: pod {} did not stop in time: {}", node(), w.key(), e.toString());
      }
    }
  }

  // --- for PodWorker ---

  void forget(PodWorker w) {
    workers.remove(w.uid(), w);
  }

  KubernetesClient client() {
    return client;
  }

  Podman podman() {
    return podman;
  }

  Network network() {
    return network;
  }

  ApiAccess api() {
    return api;
  }

  Path podDir(String uid) {
    return podsDir.resolve(uid);
  }

  Path logsDir() {
    return logsDir;
  }

  String runLabel() {
    return runLabel;
  }

  /** Secrets and ConfigMaps as the API holds them (Secret values base64, stringData merged in). */
  PodEnv.Objects objects() {
    return new PodEnv.Objects() {
      @Override
      public Optional<Map<String, String>> secretData(String namespace, String name) {
        var s = client.secrets().inNamespace(namespace).withName(name).get();
        if (s == null) {
          return Optional.empty();
        }
        Map<String, String> data = new java.util.HashMap<>(s.getData() == null ? Map.of() : s.getData());
        if (s.getStringData() != null) {
          s.getStringData().forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        }
        return Optional.of(data);
      }

      @Override
      public Optional<Map<String, String>> configMapData(String namespace, String name) {
        var c = client.configMaps().inNamespace(namespace).withName(name).get();
        return c == null ? Optional.empty() : Optional.of(c.getData() == null ? Map.of() : c.getData());
      }
    };
  }

  /**
   * Runs a probe or hook command on the node (in its network namespace), e.g. an HTTP GET of a pod's
   * management port; the result of {@code cmd}.
   */
  CommandRunner.Result onNode(List<String> cmd, long timeoutSeconds) {
    List<String> full = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + host.netns(), "--"));
    full.addAll(cmd);
    return Sh.run(full, null, timeoutSeconds);
  }

  static Duration grace(Pod pod) {
    Long s = pod.getSpec().getTerminationGracePeriodSeconds();
    return Duration.ofSeconds(s == null ? 30 : s);
  }

  static List<Container> initContainers(Pod pod) {
    return pod.getSpec().getInitContainers() == null ? List.of() : pod.getSpec().getInitContainers();
  }
}
