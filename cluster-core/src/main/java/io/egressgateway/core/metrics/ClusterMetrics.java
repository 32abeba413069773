package io.egressgateway.core.metrics;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.Cluster;
import akka.cluster.ClusterActorRefProvider;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.ClusterSharding;
import akka.cluster.sharding.ShardRegion;
import akka.pattern.Patterns;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.StreamSupport;

/**
 * The cluster as this member sees it, on the member's {@link Metrics}:
 *
 * <ul>
 *   <li>{@code egress_cluster_members{status}}: members by Akka status (Joining, WeaklyUp, Up, Leaving,
 *       Exiting, Down, Removed), read from the cluster's state at scrape time;
 *   <li>{@code egress_cluster_unreachable_members}: members this one's failure detector marks unreachable;
 *   <li>{@code egress_sharding_shards{type}} and {@code egress_sharding_entities{type}}: shards and running
 *       entities hosted here per entity type, from the local shard regions' statistics, refreshed by
 *       {@link #refreshSharding} before each scrape of {@code /metrics}.
 * </ul>
 */
public final class ClusterMetrics {
  private static final List<MemberStatus> STATUSES = List.of(MemberStatus.joining(), MemberStatus.weaklyUp(),
      MemberStatus.up(), MemberStatus.leaving(), MemberStatus.exiting(), MemberStatus.down(), MemberStatus.removed());

  private ClusterMetrics() {}

  static void register(ActorSystem<?> system, Metrics metrics) {
    if (!isCluster(system)) {
      return;
    }
    akka.actor.ActorSystem classic = Adapter.toClassic(system);
    Metrics.Gauge members = metrics.gauge("egress_cluster_members",
        "cluster members this member sees, by status", "status");
    for (MemberStatus status : STATUSES) {
      members.track(() -> StreamSupport.stream(Cluster.get(classic).state().getMembers().spliterator(), false)
          .map(Member::status).filter(status::equals).count(), status.toString());
    }
    metrics.gauge("egress_cluster_unreachable_members", "members this member's failure detector marks unreachable")
        .track(() -> Cluster.get(classic).state().getUnreachable().size());
    metrics.gauge("egress_sharding_shards", "shards hosted on this member, by entity type", "type");
    metrics.gauge("egress_sharding_entities", "running entities hosted on this member, by entity type", "type");
  }

  /**
   * Asks every shard region of this member for its statistics (shard to entity count) and stores them in
   * the sharding gauges. A region that does not answer within {@code timeout} keeps its previous values.
   * Never fails.
   */
  public static CompletionStage<Void> refreshSharding(ActorSystem<?> system, Duration timeout) {
    if (!isCluster(system)) {
      return CompletableFuture.completedFuture(null);
    }
    Metrics metrics = Metrics.get(system);
    Metrics.Gauge shards = metrics.gauge("egress_sharding_shards", "", "type");
    Metrics.Gauge entities = metrics.gauge("egress_sharding_entities", "", "type");
    ClusterSharding sharding = ClusterSharding.get(Adapter.toClassic(system));
    CompletableFuture<?>[] asks = sharding.getShardTypeNames().stream()
        .map(type -> Patterns.ask(sharding.shardRegion(type), ShardRegion.getRegionStatsInstance(), timeout)
            .thenAccept(reply -> {
              if (reply instanceof ShardRegion.ShardRegionStats stats) {
                shards.set(stats.getStats().size(), type);
                entities.set(stats.getStats().values().stream().mapToInt(n -> (Integer) n).sum(), type);
              }
            })
            .exceptionally(e -> null)
            .toCompletableFuture())
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(asks);
  }

  private static boolean isCluster(ActorSystem<?> system) {
    return ((ExtendedActorSystem) Adapter.toClassic(system)).provider() instanceof ClusterActorRefProvider;
  }
}
