package io.egressgateway.pod.model;

import io.egressgateway.core.model.Failures;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Waits, bounded, for named attempts: how a pod waits for the gateways of its pool to confirm its peer.
 * Succeeds with the confirmed names (first confirmation first) once every attempt has ended, or
 * {@code grace} after the first confirmation, whichever comes first. Fails with every attempt's reason
 * when none succeeds, or when nothing has succeeded within {@code limit}.
 *
 * <p>Why the grace: the load balancer may steer the pod's first handshake to any gateway of the pool, and
 * a gateway without the peer drops it (then WireGuard retries only after 5 s). Waiting briefly for the
 * others makes the first request fast without letting one dead gateway delay every pod by {@code limit}.
 */
public final class FirstSuccess {
  private FirstSuccess() {}

  public static CompletableFuture<List<String>> await(Map<String, CompletionStage<?>> attempts, Duration limit, Duration grace) {
    CompletableFuture<List<String>> result = new CompletableFuture<>();
    if (attempts.isEmpty()) {
      result.completeExceptionally(new IllegalStateException("nothing to wait for"));
      return result;
    }
    AtomicInteger left = new AtomicInteger(attempts.size());
    List<String> confirmed = java.util.Collections.synchronizedList(new ArrayList<>());
    List<String> reasons = java.util.Collections.synchronizedList(new ArrayList<>());
    Runnable finishIfConfirmed = () -> {
      synchronized (confirmed) {
        if (!confirmed.isEmpty()) {
          result.complete(List.copyOf(confirmed));
        }
      }
    };
    attempts.forEach((name, stage) -> stage.whenComplete((v, err) -> {
      if (err == null) {
        boolean first;
        synchronized (confirmed) {
          first = confirmed.isEmpty();
          confirmed.add(name);
        }
        if (first) {
          CompletableFuture.delayedExecutor(grace.toMillis(), TimeUnit.MILLISECONDS).execute(finishIfConfirmed);
        }
      } else {
        reasons.add(name + ": " + rootMessage(err));
      }
      if (left.decrementAndGet() == 0) {
        finishIfConfirmed.run();
        result.completeExceptionally(new IllegalStateException("no gateway confirmed: " + String.join("; ", reasons)));
      }
    }));
    CompletableFuture.delayedExecutor(limit.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
      finishIfConfirmed.run();
      result.completeExceptionally(new IllegalStateException("no gateway of " + attempts.keySet()
          + " confirmed the pod's peer within " + limit.toMillis() + " ms"
          + (reasons.isEmpty() ? "" : " (" + String.join("; ", reasons) + ")")));
    });
    return result;
  }

  static String rootMessage(Throwable t) {
    return Failures.message(Failures.unwrap(t));
  }
}
