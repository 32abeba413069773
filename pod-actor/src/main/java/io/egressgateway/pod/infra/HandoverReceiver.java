package io.egressgateway.pod.infra;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.receptionist.Receptionist;
import io.egressgateway.core.gateway.Handover;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * A worker member's end of {@link Handover}: registered with the receptionist so that stopping gateways find
 * it, it passes each {@link Handover.Leaving} on (to {@link FailoverWatchdog#offerHandover}). Only gateways may
 * send it; the signed serializer refuses it from anyone else before it arrives here.
 */
public final class HandoverReceiver {
  private HandoverReceiver() {}

  /** Starts the receiver as a system actor of {@code system}, passing what it is told to {@code onLeaving}. */
  public static void start(ActorSystem<?> system, BiConsumer<String, List<String>> onLeaving) {
    system.systemActorOf(behavior(onLeaving), "egress-pod-handover", Props.empty());
  }

  /** Restarted (and registered again) if passing a message on fails, so one bad message does not end it. */
  static Behavior<Handover.Leaving> behavior(BiConsumer<String, List<String>> onLeaving) {
    return Behaviors.supervise(Behaviors.<Handover.Leaving>setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(Handover.SERVICE, ctx.getSelf()));
      return Behaviors.receiveMessage(m -> {
        if (!m.gatewayNode().isEmpty()) {
          onLeaving.accept(m.gatewayNode(), m.podPublicKeys());
        }
        return Behaviors.same();
      });
    })).onFailure(RuntimeException.class, SupervisorStrategy.restart());
  }
}
