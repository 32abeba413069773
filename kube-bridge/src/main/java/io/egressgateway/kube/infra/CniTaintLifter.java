package io.egressgateway.kube.infra;

import io.egressgateway.core.health.Watches;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controllers lift a worker node's cni-not-ready taint (AKS puts it on new nodes) once the node's worker
 * pod is Ready, so that the workers need no right to patch any Node (issue 14, item 4). It watches the
 * release's worker pods (label selector, release namespace) and, for a Ready pod on a node not yet done for
 * that pod, removes exactly that taint with a JSON patch whose {@code test} operation makes it fail instead
 * of removing another taint if the list changed meanwhile. A failed lift is retried with backoff (5 s
 * doubling to 1 min) as long as that pod is the node's Ready worker; every controller does it, idempotently.
 */
public final class CniTaintLifter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CniTaintLifter.class);
  static final Duration RETRY_MIN = Duration.ofSeconds(5);
  static final Duration RETRY_MAX = Duration.ofMinutes(1);

  private final KubernetesClient client;
  private final String taintKey;
  private final ScheduledExecutorService worker;
  /** node -> UID of the Ready worker pod it was done for (lifted, or found without the taint). */
  private final Map<String, String> done = new ConcurrentHashMap<>();
  /** node -> UID of the Ready worker pod a lift is pending or retrying for. */
  private final Map<String, String> pending = new ConcurrentHashMap<>();
  private final SupervisedInformer<Pod> pods;

  private CniTaintLifter(KubernetesClient client, String namespace, String podSelector, String taintKey, Watches watches) {
    this.client = client;
    this.taintKey = taintKey;
    this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "cni-taint-lifter");
      t.setDaemon(true);
      return t;
    });
    Map<String, String> labels = labels(podSelector);
    this.pods = new SupervisedInformer<>("pods/workers", () -> client.pods().inNamespace(namespace).withLabels(labels)
        .runnableInformer(Duration.ofMinutes(5).toMillis()), List.of(handler()), watches, worker,
        Duration.ofSeconds(1), Duration.ofSeconds(30), () -> {});
  }

  /** Starts watching; {@code podSelector} is {@code k=v,k=v} (the chart's worker pod labels). */
  public static CniTaintLifter start(KubernetesClient client, String namespace, String podSelector, String taintKey,
      Watches watches) {
    CniTaintLifter lifter = new CniTaintLifter(client, namespace, podSelector, taintKey, watches);
    lifter.pods.start();
    log.info("lifting taint {} from nodes whose worker pod ({}) is ready", taintKey, podSelector);
    return lifter;
  }

  static Map<String, String> labels(String selector) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String part : selector.split(",")) {
      String[] kv = part.trim().split("=", 2);
      if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
        throw new IllegalArgumentException("worker pod selector must be k=v[,k=v...], got '" + selector + "'");
      }
      out.put(kv[0].trim(), kv[1].trim());
    }
    return out;
  }

  private ResourceEventHandler<Pod> handler() {
    return SupervisedInformer.handler(this::consider, pod -> {
      String node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
      if (node != null) {
        done.remove(node, pod.getMetadata().getUid());
      }
    });
  }

  /** Whether the pod's Ready condition is True. */
  static boolean ready(Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null && pod.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private void consider(Pod pod) {
    String node = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    String uid = pod.getMetadata().getUid();
    if (node == null || node.isBlank() || !ready(pod) || uid.equals(done.get(node))) {
      return;
    }
    if (uid.equals(pending.put(node, uid))) {
      return; // already queued or retrying for this pod
    }
    worker.execute(() -> attempt(node, uid, RETRY_MIN));
  }

  private void attempt(String node, String uid, Duration backoff) {
    if (!uid.equals(pending.get(node))) {
      return; // superseded by another pod of that node
    }
    try {
      lift(node);
      done.put(node, uid);
      pending.remove(node, uid);
    } catch (RuntimeException e) {
      log.warn("could not lift taint {} from node {} (retrying in {}s): {}", taintKey, node, backoff.toSeconds(), e.toString());
      Duration next = backoff.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : backoff.multipliedBy(2);
      worker.schedule(() -> attempt(node, uid, next), backoff.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Removes the taint from {@code node} if it has it; true when it removed it. */
  boolean lift(String node) {
    for (int tries = 1; ; tries++) {
      Node n = client.nodes().withName(node).get();
      Optional<String> patch = n == null ? Optional.empty() : removal(n, taintKey);
      if (patch.isEmpty()) {
        return false;
      }
      try {
        client.nodes().withName(node).patch(PatchContext.of(PatchType.JSON), patch.get());
        log.info("lifted taint {} from node {}: its worker is ready", taintKey, node);
        return true;
      } catch (KubernetesClientException e) {
        // 422: the test failed, the taints changed between our read and the patch: read again (a few times)
        if ((e.getCode() != 422 && e.getCode() != 409) || tries >= 3) {
          throw e;
        }
      }
    }
  }

  /**
   * The JSON patch that removes the first taint with {@code key}, tested by key at its index (so a changed list
   * fails the patch rather than removing another taint); empty when the node has no such taint.
   */
  static Optional<String> removal(Node node, String key) {
    List<Taint> taints = node.getSpec() == null || node.getSpec().getTaints() == null ? List.of() : node.getSpec().getTaints();
    for (int i = 0; i < taints.size(); i++) {
      if (key.equals(taints.get(i).getKey())) {
        String quoted = "\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        return Optional.of("[{\"op\":\"test\",\"path\":\"/spec/taints/" + i + "/key\",\"value\":" + quoted + "},"
            + "{\"op\":\"remove\",\"path\":\"/spec/taints/" + i + "\"}]");
      }
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    pods.close();
    worker.shutdownNow();
  }
}
