package io.egressgateway.kube.infra;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.function.Supplier;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalescing background writer: the latest wish per object key wins, and a single thread writes the
 * pending wishes every {@code batch}. A failed write is kept for the next round unless a newer wish for
 * the same key arrived meanwhile. Callers never block on the API server.
 */
abstract class BatchingWriter<W> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BatchingWriter.class);

  private final Map<String, W> pending = new LinkedHashMap<>();
  private final ScheduledExecutorService thread;
  private final String name;

  BatchingWriter(String name, Duration batch) {
    this.name = name;
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
    thread.scheduleWithFixedDelay(this::flush, batch.toMillis(), batch.toMillis(), TimeUnit.MILLISECONDS);
  }

  protected final void offer(String key, W wish) {
    synchronized (pending) {
      pending.put(key, wish);
    }
  }

  protected final int pendingCount() {
    synchronized (pending) {
      return pending.size();
    }
  }

  /**
   * Creates {@code wanted}, or replaces {@code current} with it (at current's resourceVersion). A create
   * that loses a race to someone else (409) re-reads and replaces instead.
   */
  protected static <T extends HasMetadata> void createOrReplace(KubernetesClient client, T wanted, T current,
      Supplier<T> reread) {
    if (current == null) {
      try {
        client.resource(wanted).create();
        return;
      } catch (KubernetesClientException ex) {
        if (ex.getCode() != 409) {
          throw ex;
        }
        current = reread.get();
      }
    }
    if (current != null) {
      wanted.getMetadata().setResourceVersion(current.getMetadata().getResourceVersion());
      client.resource(wanted).update();
    }
  }

  /** Writes one wish; blocking; throws to be retried. */
  protected abstract void write(String key, W wish);

  final void flush() {
    Map<String, W> batch;
    synchronized (pending) {
      batch = new LinkedHashMap<>(pending);
    }
    for (Map.Entry<String, W> e : batch.entrySet()) {
      try {
        write(e.getKey(), e.getValue());
        synchronized (pending) {
          pending.remove(e.getKey(), e.getValue());
        }
      } catch (RuntimeException ex) {
        log.warn("{}: writing {} failed, retrying next round: {}", name, e.getKey(), ex.getMessage());
      }
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
