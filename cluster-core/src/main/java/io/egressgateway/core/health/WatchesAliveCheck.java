package io.egressgateway.core.health;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness check for Akka Management: no watch the member needs has been down longer than
 * {@code egress.health.watch-down-limit}. A member that cannot watch what it serves makes no progress; failing
 * liveness lets the runtime restart it (a fresh process, fresh connections) rather than keep it.
 */
public final class WatchesAliveCheck implements Supplier<CompletionStage<Boolean>> {
  private static final Logger log = LoggerFactory.getLogger(WatchesAliveCheck.class);

  private final Watches watches;
  private final Duration limit;

  public WatchesAliveCheck(ActorSystem system) {
    this.watches = Watches.get(Adapter.toTyped(system));
    this.limit = system.settings().config().getDuration("egress.health.watch-down-limit");
  }

  @Override
  public CompletionStage<Boolean> get() {
    Optional<Duration> longest = watches.longestDown();
    boolean alive = longest.isEmpty() || longest.get().compareTo(limit) <= 0;
    if (!alive) {
      log.error("not alive: a watch has been down for {} s (limit {} s): {}", longest.get().toSeconds(),
          limit.toSeconds(), watches.down());
    }
    return CompletableFuture.completedFuture(alive);
  }
}
