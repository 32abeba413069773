package io.egressgateway.app.wiring;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import io.egressgateway.core.Roles;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a controller member: a gateway member that joins the cluster after this one started (an instance of a
 * scaled-out pool, a replaced gateway VM) makes every gateway pool look at Azure again at once, instead of
 * at its next resync (5 minutes by default). The new instance gets its ipConfigs, the configuration view
 * then lists it, and the pods of the pool send it their peers. Joins within {@link #SETTLE} of each other
 * make one look. Gateways already up when this starts trigger nothing: the pools look at Azure when they
 * start anyway.
 *
 * <p>Owns: one system actor subscribed to cluster membership. Persists: nothing.
 */
public final class PoolsFollowGateways {
  private static final Logger log = LoggerFactory.getLogger(PoolsFollowGateways.class);
  static final Duration SETTLE = Duration.ofSeconds(2);

  private PoolsFollowGateways() {}

  private sealed interface Msg {}

  private record Up(ClusterEvent.MemberUp event) implements Msg {}

  private record Settled() implements Msg {}

  private record Pools(List<String> pools, Throwable error, Set<String> joined) implements Msg {}

  /**
   * @param pools  the gateway pools known (their entity ids)
   * @param resync asks one pool to look at Azure again
   */
  public static void start(ActorSystem<?> system, Supplier<CompletionStage<List<String>>> pools, Consumer<String> resync) {
    system.systemActorOf(behavior(pools, resync), "egress-pools-follow-gateways", Props.empty());
  }

  /** A member that became Up after this member did (so not one of those a starting pool sees anyway). */
  static boolean joinedAfterMe(Member member, Member self) {
    return self.status() == MemberStatus.up() && !member.equals(self) && !member.isOlderThan(self);
  }

  private static Behavior<Msg> behavior(Supplier<CompletionStage<List<String>>> pools, Consumer<String> resync) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Cluster.get(ctx.getSystem()).subscriptions()
          .tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberUp.class, Up::new), ClusterEvent.MemberUp.class));
      Set<String> joined = new HashSet<>();
      return Behaviors.receive(Msg.class)
          .onMessage(Up.class, m -> {
            Member member = m.event().member();
            if (member.hasRole(Roles.GATEWAY) && joinedAfterMe(member, Cluster.get(ctx.getSystem()).selfMember())) {
              joined.add(Roles.nodeOf(member.getRoles()).orElse(member.address().toString()));
              timers.startSingleTimer(new Settled(), SETTLE);
            }
            return Behaviors.same();
          })
          .onMessage(Settled.class, m -> {
            Set<String> these = Set.copyOf(joined);
            joined.clear();
            ctx.pipeToSelf(pools.get(), (list, err) -> new Pools(list, err, these));
            return Behaviors.same();
          })
          .onMessage(Pools.class, m -> {
            if (m.error() != null) {
              log.warn("gateway member(s) {} joined, but the gateway pools could not be listed: {}", m.joined(),
                  m.error().getMessage());
            } else {
              log.info("gateway member(s) {} joined: pools {} look at Azure again", m.joined(), m.pools());
              m.pools().forEach(resync);
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
