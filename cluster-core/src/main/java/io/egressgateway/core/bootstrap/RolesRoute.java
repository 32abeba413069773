package io.egressgateway.core.bootstrap;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import io.egressgateway.core.Roles;
import java.util.List;

/**
 * {@code GET /egress/roles} on the Akka Management port: this member's functional roles, one per line
 * ({@code controller}, {@code gateway}, {@code worker}). Cluster Bootstrap's contact points are every member,
 * but only controllers may form a new cluster; {@link ControllersFormJoinDecider} asks each contact point
 * this way which of them are. Registered in cluster-core's reference.conf; read-only.
 */
public final class RolesRoute extends AllDirectives implements ManagementRouteProvider {
  private final String body;

  public RolesRoute(akka.actor.ExtendedActorSystem system) {
    List<String> roles = system.settings().config().getStringList("akka.cluster.roles").stream()
        .filter(Roles.FUNCTIONAL::contains).sorted().toList();
    this.body = roles.isEmpty() ? "" : String.join("\n", roles) + "\n";
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path(PathMatchers.segment("egress").slash("roles"), () -> get(() -> complete(
        HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, body)))));
  }
}
