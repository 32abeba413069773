package io.egressgateway.core.metrics;

import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;

/**
 * {@code GET /metrics} on the Akka Management port, in Prometheus text format. Registered in
 * cluster-core's reference.conf under {@code akka.management.http.routes}; read-only.
 */
public final class MetricsRoute extends AllDirectives implements ManagementRouteProvider {
  private final Metrics metrics;

  public MetricsRoute(akka.actor.ExtendedActorSystem system) {
    this.metrics = Metrics.get(Adapter.toTyped(system));
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path("metrics", () -> get(() -> complete(
        akka.http.javadsl.model.HttpResponse.create().withEntity(
            HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape())))));
  }
}
