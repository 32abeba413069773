package io.egressgateway.app.wiring;

import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.infra.PodEndpointWriter;
import io.egressgateway.pod.entity.CniHandler;
import io.egressgateway.pod.model.PodInfo;
import java.time.Duration;

/**
 * What a worker reports about its CNI path: a {@code PodEndpoint} per provisioned pod (written in the
 * background, batched, for tools made for the Go original) and the CNI ADD metrics. Labels are bounded:
 * annotated or not, ok or not; never per pod.
 */
public final class WorkerObserver implements CniHandler.Observer {
  private static final double[] BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  private final PodEndpointWriter endpoints;
  private final Metrics.Histogram addSeconds;
  private final Metrics.Counter adds;

  public WorkerObserver(PodEndpointWriter endpoints, Metrics metrics) {
    this.endpoints = endpoints;
    this.addSeconds = metrics.histogram("egress_cni_add_seconds", "CNI ADD latency inside the node agent",
        BUCKETS, "annotated");
    this.adds = metrics.counter("egress_cni_add_total", "CNI ADD calls by outcome", "annotated", "result");
  }

  @Override
  public void provisioned(PodInfo pod, String podIp, String configKey, String podPublicKey) {
    String sgcName = configKey.substring(configKey.indexOf('/') + 1);
    endpoints.upsert(new PodEndpointWriter.Endpoint(pod.namespace(), pod.name(), pod.uid(), sgcName, podIp, podPublicKey));
  }

  @Override
  public void removed(String namespace, String name) {
    endpoints.delete(namespace, name);
  }

  @Override
  public void addFinished(boolean annotated, boolean ok, Duration took) {
    String a = Boolean.toString(annotated);
    addSeconds.observe(took.toNanos() / 1e9, a);
    adds.inc(a, ok ? "ok" : "error");
  }
}
