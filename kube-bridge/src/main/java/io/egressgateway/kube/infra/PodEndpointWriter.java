package io.egressgateway.kube.infra;

import io.egressgateway.kube.crd.PodEndpoint;
import io.egressgateway.kube.crd.PodEndpointSpec;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps upstream-compatible {@code PodEndpoint} objects (name and namespace of the pod, controller owner
 * reference to the Pod so Kubernetes deletes them with it) for tools written for the Go original.
 * Owns: PodEndpoints. Persists nothing. Callers (the node agent, after a pod is provisioned) never wait:
 * {@link #upsert} and {@link #delete} only record the wish; a background flush every {@code writer-batch}
 * writes each changed object once, reading it first and writing only on a difference. Failed writes are
 * retried on the next flush unless a newer wish replaced them.
 */
public final class PodEndpointWriter extends BatchingWriter<Optional<PodEndpointWriter.Endpoint>> {
  private static final Logger log = LoggerFactory.getLogger(PodEndpointWriter.class);

  /** One provisioned pod: its identity, the SGC it egresses through, its IPv4 address and WireGuard public key. */
  public record Endpoint(String namespace, String podName, String podUid, String sgcName, String podIp, String podPublicKey) {
    public Endpoint {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(podName, "podName");
      Objects.requireNonNull(podUid, "podUid");
      podIp = podIp == null || podIp.contains("/") ? podIp : podIp + "/32";
    }

    PodEndpointSpec spec() {
      return new PodEndpointSpec(sgcName, podIp, podPublicKey);
    }
  }

  private final KubernetesClient client;

  public PodEndpointWriter(KubernetesClient client, Duration batch) {
    super("pod-endpoint-writer", batch);
    this.client = client;
  }

  public void upsert(Endpoint e) {
    offer(e.namespace() + "/" + e.podName(), Optional.of(e));
  }

  public void delete(String namespace, String podName) {
    offer(namespace + "/" + podName, Optional.empty());
  }

  @Override
  protected void write(String key, Optional<Endpoint> wish) {
    String ns = key.substring(0, key.indexOf('/'));
    String name = key.substring(key.indexOf('/') + 1);
    var resource = client.resources(PodEndpoint.class).inNamespace(ns).withName(name);
    PodEndpoint current = resource.get();
    if (wish.isEmpty()) {
      if (current != null) {
        resource.delete();
        log.debug("[{}] PodEndpoint deleted", key);
      }
      return;
    }
    Endpoint e = wish.get();
    if (current != null && e.spec().equals(current.getSpec()) && ownedBy(current, e.podUid())) {
      return;
    }
    PodEndpoint wanted = new PodEndpoint();
    wanted.getMetadata().setNamespace(ns);
    wanted.getMetadata().setName(name);
    wanted.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
        .withApiVersion("v1").withKind("Pod").withName(name).withUid(e.podUid())
        .withController(true).withBlockOwnerDeletion(true).build()));
    wanted.setSpec(e.spec());
    createOrReplace(client, wanted, current, resource::get);
  }

  private static boolean ownedBy(PodEndpoint pe, String podUid) {
    return pe.getMetadata().getOwnerReferences().stream().anyMatch(o -> podUid.equals(o.getUid()));
  }

  /** Wishes not yet written (for tests and metrics). */
  public int backlog() {
    return pendingCount();
  }

}
