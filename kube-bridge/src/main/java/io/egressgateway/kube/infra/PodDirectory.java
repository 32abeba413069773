package io.egressgateway.kube.infra;

import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pods of this member's node, from an informer limited by the field selector {@code spec.nodeName}
 * (a node member never caches the whole cluster's pods). Owns nothing, persists nothing; a local,
 * non-blocking lookup for the CNI path (namespace/name to uid, IP and annotations). Built only after the
 * cache synced. Adapt it to the pod-actor's lookup port with a method reference to {@link #lookup}.
 */
public final class PodDirectory implements AutoCloseable {

  /** What the CNI path needs to know about a pod. */
  public record PodInfo(String namespace, String name, String uid, String ip, Map<String, String> annotations) {
    public PodInfo {
      annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
      ip = ip == null ? "" : ip;
    }

    /** The SGC name the pod asks for, if annotated. */
    public Optional<String> gatewayConfig() {
      return Optional.ofNullable(annotations.get(StaticGatewayConfiguration.POD_ANNOTATION)).filter(s -> !s.isBlank());
    }
  }

  private final SharedIndexInformer<Pod> informer;
  private final String node;

  private PodDirectory(SharedIndexInformer<Pod> informer, String node) {
    this.informer = informer;
    this.node = node;
  }

  /** Starts the node-local pod informer and returns once its cache has synced. */
  public static PodDirectory start(KubernetesClient client, String node) {
    SharedIndexInformer<Pod> informer =
        client.pods().inAnyNamespace().withField("spec.nodeName", node).runnableInformer(0);
    informer.run();
    return new PodDirectory(informer, node);
  }

  /**
   * Same directory without the server-side field selector, filtering on this side only: for API servers
   * that do not honour {@code spec.nodeName} selectors, such as the sandbox's in-process one (fabric8's
   * mock answers such a selector with an empty list).
   */
  public static PodDirectory startUnfiltered(KubernetesClient client, String node) {
    SharedIndexInformer<Pod> informer = client.pods().inAnyNamespace().runnableInformer(0);
    informer.run();
    return new PodDirectory(informer, node);
  }

  public Optional<PodInfo> lookup(String namespace, String name) {
    return info(informer.getStore().getByKey(namespace + "/" + name));
  }

  /** Every pod of this node in the cache. */
  public List<PodInfo> all() {
    return informer.getStore().list().stream().map(this::info).flatMap(Optional::stream).toList();
  }

  private Optional<PodInfo> info(Pod p) {
    // the server filters by node; the check keeps the answer right even where a selector is ignored
    if (p == null || p.getSpec() == null || !node.equals(p.getSpec().getNodeName())) {
      return Optional.empty();
    }
    return Optional.of(new PodInfo(p.getMetadata().getNamespace(), p.getMetadata().getName(), p.getMetadata().getUid(),
        p.getStatus() == null ? "" : p.getStatus().getPodIP(), p.getMetadata().getAnnotations()));
  }

  public int size() {
    return informer.getStore().list().size();
  }

  @Override
  public void close() {
    informer.close();
  }
}
