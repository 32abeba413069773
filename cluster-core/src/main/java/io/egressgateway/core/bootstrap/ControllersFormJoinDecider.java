package io.egressgateway.core.bootstrap;

import akka.actor.ActorSystem;
import akka.discovery.ServiceDiscovery.ResolvedTarget;
import akka.http.javadsl.Http;
import akka.http.javadsl.model.HttpRequest;
import akka.management.cluster.bootstrap.ClusterBootstrapSettings;
import akka.management.cluster.bootstrap.LowestAddressJoinDecider;
import akka.management.cluster.bootstrap.SeedNodesInformation;
import io.egressgateway.core.Roles;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Cluster Bootstrap's lowest-address rule among the contact points that may form a cluster. Every member is a
 * contact point (so a controller that replaces all earlier ones finds the running cluster through the
 * gateways and workers), but only controllers may form a new one. Akka's {@link LowestAddressJoinDecider}
 * leaves the forming to the contact point with the lowest address among all of them, which is often a
 * gateway's or worker's node address (host network) and never forms: no cluster would ever start. Here the
 * lowest is taken among the confirmed contact points that are controllers, as each answers on
 * {@code GET /egress/roles} ({@link RolesRoute}); one whose roles are not known yet counts as a possible
 * controller, so two controllers cannot both take themselves for the lowest.
 */
public final class ControllersFormJoinDecider extends LowestAddressJoinDecider {
  private static final Logger log = LoggerFactory.getLogger(ControllersFormJoinDecider.class);
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem system;
  private final int fallbackPort;
  /** host:port of a contact point → whether it is a controller; absent while unknown. */
  private final Map<String, Boolean> controllers = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<?>> asking = new ConcurrentHashMap<>();

  public ControllersFormJoinDecider(ActorSystem system, ClusterBootstrapSettings settings) {
    super(system, settings);
    this.system = system;
    this.fallbackPort = settings.contactPoint().fallbackPort();
  }

  @Override
  public Option<ResolvedTarget> lowestAddressContactPoint(SeedNodesInformation info) {
    Optional<ResolvedTarget> lowest = lowestPossibleController(
        info.getSeedNodesObservations().stream().map(o -> o.contactPoint()).toList(), this::isController);
    return lowest.map(Option::apply).orElse(Option.empty());
  }

  /**
   * The lowest contact point by Akka's address ordering among those that are, or may be, controllers
   * ({@code role} empty: not known yet).
   */
  public static Optional<ResolvedTarget> lowestPossibleController(Collection<ResolvedTarget> contactPoints,
      Function<ResolvedTarget, Optional<Boolean>> role) {
    scala.math.Ordering<ResolvedTarget> ordering = akka.discovery.ServiceDiscovery.ResolvedTarget$.MODULE$.addressOrdering();
    return contactPoints.stream().filter(t -> role.apply(t).orElse(true)).min(ordering::compare);
  }

  /** Whether the contact point is a controller; empty until its answer came (asks it once, again after a failure). */
  private Optional<Boolean> isController(ResolvedTarget t) {
    String hostPort = t.host() + ":" + (t.port().isDefined() ? (int) (Integer) t.port().get() : fallbackPort);
    Boolean known = controllers.get(hostPort);
    if (known != null) {
      return Optional.of(known);
    }
    asking.computeIfAbsent(hostPort, hp -> Http.get(system).singleRequest(HttpRequest.GET("http://" + hp + "/egress/roles"))
        .thenCompose(r -> r.entity().toStrict(ASK_TIMEOUT.toMillis(), system)
            .thenApply(e -> r.status().isSuccess() ? Optional.of(e.getData().utf8String()) : Optional.<String>empty()))
        .toCompletableFuture()
        .orTimeout(ASK_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .whenComplete((body, err) -> {
          if (err == null && body.isPresent()) {
            boolean controller = body.get().lines().anyMatch(Roles.CONTROLLER::equals);
            controllers.put(hp, controller);
            log.info("bootstrap: contact point {} is {}", hp, controller ? "a controller" : "no controller (it cannot form a cluster)");
          }
          asking.remove(hp);
        }));
    return Optional.empty();
  }
}
