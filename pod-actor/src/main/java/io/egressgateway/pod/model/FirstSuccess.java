package io.egressgateway.pod.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Waits for the first of several named attempts to succeed, for at most a bounded time: how a pod waits
 * until at least one gateway of its pool has its peer. Fails with every attempt's reason when all fail,
 * or with a timeout naming the attempts still pending.
 */
public final class FirstSuccess {
  private FirstSuccess() {}

  public static CompletableFuture<String> await(Map<String, CompletionStage<?>> attempts, Duration limit) {
    CompletableFuture<String> first = new CompletableFuture<>();
    if (attempts.isEmpty()) {
      first.completeExceptionally(new IllegalStateException("nothing to wait for"));
      return first;
    }
    AtomicInteger left = new AtomicInteger(attempts.size());
    List<String> reasons = java.util.Collections.synchronizedList(new ArrayList<>());
    attempts.forEach((name, stage) -> stage.whenComplete((v, err) -> {
      if (err == null) {
        first.complete(name);
      } else {
        reasons.add(name + ": " + rootMessage(err));
        if (left.decrementAndGet() == 0) {
          first.completeExceptionally(new IllegalStateException("no gateway confirmed: " + String.join("; ", reasons)));
        }
      }
    }));
    CompletableFuture.delayedExecutor(limit.toMillis(), TimeUnit.MILLISECONDS).execute(() ->
        first.completeExceptionally(new IllegalStateException("no gateway of " + attempts.keySet()
            + " confirmed the pod's peer within " + limit.toMillis() + " ms"
            + (reasons.isEmpty() ? "" : " (" + String.join("; ", reasons) + ")"))));
    return first;
  }

  static String rootMessage(Throwable t) {
    while (t.getCause() != null && (t instanceof java.util.concurrent.CompletionException
        || t instanceof java.util.concurrent.ExecutionException)) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
