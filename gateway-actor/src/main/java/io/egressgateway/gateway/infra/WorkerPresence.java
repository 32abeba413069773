package io.egressgateway.gateway.infra;

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
import io.egressgateway.gateway.model.AwayWorkers;
import java.util.function.LongSupplier;

/** Feeds {@link AwayWorkers} from this member's view of the cluster (a small system actor). */
public final class WorkerPresence {
  private WorkerPresence() {}

  public static void start(ActorSystem<?> system, AwayWorkers away, LongSupplier clock) {
    system.systemActorOf(behavior(away, clock), "egress-worker-presence", Props.empty());
  }

  private static Behavior<Object> behavior(AwayWorkers away, LongSupplier clock) {
    return Behaviors.setup(ctx -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
      return Behaviors.receiveMessage(event -> {
        if (event instanceof ClusterEvent.MemberEvent e) {
          onMember(away, e.member(), e instanceof ClusterEvent.MemberUp || e instanceof ClusterEvent.MemberWeaklyUp,
              clock.getAsLong());
        } else if (event instanceof ClusterEvent.UnreachableMember u) {
          worker(u.member()).ifPresent(node -> away.left(node, u.member().address().toString(), clock.getAsLong()));
        } else if (event instanceof ClusterEvent.ReachableMember r && r.member().status() == MemberStatus.up()) {
          worker(r.member()).ifPresent(node -> away.up(node, r.member().address().toString(), clock.getAsLong()));
        }
        return Behaviors.same();
      });
    });
  }

  private static void onMember(AwayWorkers away, Member m, boolean up, long now) {
    worker(m).ifPresent(node -> {
      String id = m.address().toString();
      if (up) {
        away.up(node, id, now);
      } else if (m.status() != MemberStatus.joining()) {
        away.left(node, id, now);
      }
    });
  }

  private static java.util.Optional<String> worker(Member m) {
    return m.hasRole(Roles.WORKER) ? Roles.nodeOf(m.getRoles()) : java.util.Optional.empty();
  }
}
