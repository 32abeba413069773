package io.egressgateway.core.health;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.persistence.r2dbc.ConnectionFactoryProvider;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Readiness check for Akka Management: the journal answers a trivial query through the same connection
 * pool the persistence plugin uses, within {@code egress.journal.health-timeout}. A member whose journal
 * is unreachable cannot persist decisions, so it must not be reported ready.
 */
public final class JournalHealthCheck implements Supplier<CompletionStage<Boolean>> {
  private static final Logger log = LoggerFactory.getLogger(JournalHealthCheck.class);

  private final ConnectionFactory connectionFactory;
  private final Duration timeout;
  private volatile boolean lastOk = true;

  public JournalHealthCheck(ActorSystem system) {
    this.connectionFactory = ConnectionFactoryProvider.get(Adapter.toTyped(system))
        .connectionFactoryFor("akka.persistence.r2dbc.connection-factory");
    this.timeout = system.settings().config().getDuration("egress.journal.health-timeout");
  }

  @Override
  public CompletionStage<Boolean> get() {
    return Mono.usingWhen(
            Mono.from(connectionFactory.create()),
            (Connection c) -> Flux.from(c.createStatement("SELECT 1").execute())
                .flatMap(r -> r.map((row, meta) -> row.get(0, Integer.class)))
                .next(),
            Connection::close)
        .map(v -> v == 1)
        .timeout(timeout)
        .onErrorResume(e -> {
          if (lastOk) {
            log.warn("journal health check failed: {}", e.toString());
          }
          return Mono.just(false);
        })
        .doOnNext(ok -> {
          if (ok && !lastOk) {
            log.info("journal health check recovered");
          }
          lastOk = ok;
        })
        .toFuture();
  }
}
