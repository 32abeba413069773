package io.egressgateway.core.health;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Readiness check for Akka Management: every watch the member needs ({@link Watches}) is watching. */
public final class WatchesReadyCheck implements Supplier<CompletionStage<Boolean>> {
  private static final Logger log = LoggerFactory.getLogger(WatchesReadyCheck.class);

  private final Watches watches;
  private volatile Map<String, String> lastDown = Map.of();

  public WatchesReadyCheck(ActorSystem system) {
    this.watches = Watches.get(Adapter.toTyped(system));
  }

  @Override
  public CompletionStage<Boolean> get() {
    Map<String, String> down = watches.down();
    if (!down.equals(lastDown)) {
      if (down.isEmpty()) {
        log.info("every watch is up again: ready");
      } else {
        log.warn("not ready: watch down on {}", down);
      }
      lastDown = down;
    }
    return CompletableFuture.completedFuture(down.isEmpty());
  }
}
