package io.egressgateway.kube.infra;

import io.egressgateway.core.health.Watches;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * The pods of this member's node, from an informer limited by the field selector {@code spec.nodeName}
 * (a node member never caches the whole cluster's pods). Owns nothing, persists nothing; a local,
 * non-blocking lookup for the CNI path (namespace/name to uid, IP and annotations). The informer is a
 * {@link SupervisedInformer}: restarted with backoff after any stop, the member not ready while it is not
 * watching. Until its first sync every lookup finds nothing (the CNI path then answers "try again"), so
 * callers that go through all pods wait for {@link #whenSynced()}. Adapt it to the pod-actor's lookup port
 * with a method reference to {@link #lookup}.
 */
public final class PodDirectory implements AutoCloseable {

  /** What the CNI path needs to know about a pod. */
  public record PodInfo(String namespace, String name, String uid, String ip, Map<String, String> annotations,
      Map<String, String> labels) {
    public PodInfo {
      annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
      labels = labels == null ? Map.of() : Map.copyOf(labels);
      ip = ip == null ? "" : ip;
    }

    public PodInfo(String namespace, String name, String uid, String ip, Map<String, String> annotations) {
      this(namespace, name, uid, ip, annotations, Map.of());
    }

    /** The SGC name the pod asks for, if annotated. */
    public Optional<String> gatewayConfig() {
      return Optional.ofNullable(annotations.get(StaticGatewayConfiguration.POD_ANNOTATION)).filter(s -> !s.isBlank());
    }
  }

  /** The name under which the watch reports in readiness and metrics. */
  public static final String RESOURCE = "pods";

  private final SupervisedInformer<Pod> informer;
  private final ScheduledExecutorService timer;
  private final String node;
  private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  private PodDirectory(Supplier<SharedIndexInformer<Pod>> factory, String node, Watches watches) {
    this.node = node;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kube-bridge-pods");
      t.setDaemon(true);
      return t;
    });
    this.informer = new SupervisedInformer<>(RESOURCE, factory,
        List.of(SupervisedInformer.<Pod>handler(p -> changed(), p -> changed())), watches, timer,
        ControllerBridge.RESTART_MIN, ControllerBridge.RESTART_MAX, () -> {}).start();
  }

  /** Starts the node-local pod informer and returns at once; see {@link #whenSynced()}. */
  public static PodDirectory start(KubernetesClient client, String node, Watches watches) {
    return new PodDirectory(
        () -> client.pods().inAnyNamespace().withField("spec.nodeName", node).runnableInformer(0), node, watches);
  }

  /**
   * Same directory without the server-side field selector, filtering on this side only: for API servers
   * that do not honour {@code spec.nodeName} selectors, such as the sandbox's in-process one (fabric8's
   * mock answers such a selector with an empty list).
   */
  public static PodDirectory startUnfiltered(KubernetesClient client, String node, Watches watches) {
    return new PodDirectory(() -> client.pods().inAnyNamespace().runnableInformer(0), node, watches);
  }

  /** Registers {@code listener}, run on the informer's thread after any pod event: it must be quick. */
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  private void changed() {
    for (Runnable l : listeners) {
      try {
        l.run();
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(PodDirectory.class).warn("pod change listener failed: {}", e.toString());
      }
    }
  }

  /** Completes once the cache has synced for the first time (never exceptionally: failures are retried). */
  public CompletionStage<Void> whenSynced() {
    return informer.firstSync();
  }

  public Optional<PodInfo> lookup(String namespace, String name) {
    return info(informer.store().getByKey(namespace + "/" + name));
  }

  /** Every pod of this node in the cache. */
  public List<PodInfo> all() {
    return informer.store().list().stream().map(this::info).flatMap(Optional::stream).toList();
  }

  private Optional<PodInfo> info(Pod p) {
    // the server filters by node; the check keeps the answer right even where a selector is ignored
    if (p == null || p.getSpec() == null || !node.equals(p.getSpec().getNodeName())) {
      return Optional.empty();
    }
    return Optional.of(new PodInfo(p.getMetadata().getNamespace(), p.getMetadata().getName(), p.getMetadata().getUid(),
        p.getStatus() == null ? "" : p.getStatus().getPodIP(), p.getMetadata().getAnnotations(), p.getMetadata().getLabels()));
  }

  public int size() {
    return informer.store().list().size();
  }

  @Override
  public void close() {
    informer.close();
    timer.shutdownNow();
  }
}
