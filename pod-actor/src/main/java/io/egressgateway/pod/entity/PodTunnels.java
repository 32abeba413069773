package io.egressgateway.pod.entity;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.sharding.typed.ShardingEnvelope;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * Reaches {@link PodTunnel} entities by id: through node-pinned sharding on cluster members, or through
 * any resolver (tests spawn entities locally).
 */
public final class PodTunnels {
  private final ActorSystem<?> system;
  private final Function<String, ActorRef<PodTunnel.Command>> resolver;
  private final ActorRef<ShardingEnvelope<PodTunnel.Command>> region;

  private PodTunnels(ActorSystem<?> system, Function<String, ActorRef<PodTunnel.Command>> resolver,
      ActorRef<ShardingEnvelope<PodTunnel.Command>> region) {
    this.system = system;
    this.resolver = resolver;
    this.region = region;
  }

  public static PodTunnels sharded(ActorSystem<?> system, ActorRef<ShardingEnvelope<PodTunnel.Command>> region) {
    return new PodTunnels(system, null, region);
  }

  public static PodTunnels resolvedBy(ActorSystem<?> system, Function<String, ActorRef<PodTunnel.Command>> resolver) {
    return new PodTunnels(system, resolver, null);
  }

  public void tell(String entityId, PodTunnel.Command message) {
    if (region != null) {
      region.tell(new ShardingEnvelope<>(entityId, message));
    } else {
      resolver.apply(entityId).tell(message);
    }
  }

  public <R> CompletionStage<R> ask(String entityId, Function<ActorRef<R>, PodTunnel.Command> message, Duration timeout) {
    if (region != null) {
      return AskPattern.ask(region, (ActorRef<R> r) -> new ShardingEnvelope<>(entityId, message.apply(r)),
          timeout, system.scheduler());
    }
    return AskPattern.ask(resolver.apply(entityId), message::apply, timeout, system.scheduler());
  }
}
