package io.egressgateway.core.metrics;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import java.time.Duration;

/**
 * {@code GET /metrics} on the Akka Management port, in Prometheus text format. Registered in
 * cluster-core's reference.conf under {@code akka.management.http.routes}; read-only. Each request first
 * refreshes the sharding gauges (a local query of this member's shard regions, at most 2 s).
 */
public final class MetricsRoute extends AllDirectives implements ManagementRouteProvider {
  private static final Duration SHARDING_TIMEOUT = Duration.ofSeconds(2);

  private final ActorSystem<?> system;
  private final Metrics metrics;

  public MetricsRoute(akka.actor.ExtendedActorSystem system) {
    this.system = Adapter.toTyped(system);
    this.metrics = Metrics.get(this.system);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path("metrics", () -> get(() -> completeWithFuture(
        ClusterMetrics.refreshSharding(system, SHARDING_TIMEOUT).thenApply(done -> HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape()))))));
  }
}
