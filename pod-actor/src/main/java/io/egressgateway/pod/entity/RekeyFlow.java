package io.egressgateway.pod.entity;

import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.pod.entity.PodTunnel.Event;
import io.egressgateway.pod.entity.PodTunnel.Rekeyed;
import io.egressgateway.pod.entity.PodTunnel.Requested;
import io.egressgateway.pod.entity.PodTunnel.RetryRekey;
import io.egressgateway.pod.entity.PodTunnel.State;
import io.egressgateway.pod.entity.PodTunnel.TakenBack;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import io.egressgateway.pod.entity.PodTunnel.TunnelEstablished;
import io.egressgateway.pod.entity.PodTunnel.TunnelRequested;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Making an established tunnel's device again with a new key, after an agent restart found it gone while the
 * pod's namespace is still there ({@link ResumeFlow} starts it). The new key's public half is journaled
 * ({@link TunnelRequested}, state {@link Requested} with {@code replacing}), the pod's peer goes to the
 * gateways and the old one leaves them; the flow ends with {@link Rekeyed}. When no gateway confirms (the
 * gateways restart too, say) it is tried again every {@link #REKEY_RETRY}, {@link #REKEY_ATTEMPTS} times at
 * most, while nothing else (an ADD, a DEL) has happened to the tunnel meanwhile. The pod has no route into
 * the tunnel until then: it stays fail-closed, and the runtime would not ADD it again. The attempts are
 * timers; an agent restart meanwhile starts over from the journaled {@link Requested} state.
 */
final class RekeyFlow {
  private static final Logger log = LoggerFactory.getLogger(RekeyFlow.class);

  static final Duration REKEY_RETRY = Duration.ofSeconds(2);
  static final int REKEY_ATTEMPTS = 60;

  private final TunnelFlows f;

  RekeyFlow(TunnelFlows f) {
    this.f = f;
  }

  /** Starts the first attempt for {@code t} (the flow already runs), answering {@code replyTo} at its end. */
  ReplyEffect<Event, State> start(EffectFactories<Event, State> effect, Tunnel t, TunnelFlows.Plan plan,
      ActorRef<StatusReply<TakenBack>> replyTo) {
    Tunnel keyed = f.newKey(t, plan.view());
    return effect.persist(new TunnelRequested(keyed)).thenRun(st -> provision(keyed, plan, 0, t, replyTo)).thenNoReply();
  }

  ReplyEffect<Event, State> onRetry(EffectFactories<Event, State> effect, Requested r, RetryRekey m) {
    if (!r.tunnel().deviceName().equals(m.deviceName()) || f.deps.keys().get(m.deviceName()).isEmpty()) {
      return effect.noReply(); // an ADD or a DEL came meanwhile and decided
    }
    Tunnel t = r.tunnel();
    TunnelFlows.Plan plan;
    try {
      plan = f.planFor(t);
    } catch (IllegalArgumentException ex) {
      log.warn("{}: cannot make tunnel {} again yet: {}", f.entityId, t.deviceName(), ex.getMessage());
      retry(t, m.attempt() + 1, m.replaced());
      return effect.noReply();
    }
    log.info("{}: making tunnel {} again, attempt {}", f.entityId, t.deviceName(), m.attempt() + 1);
    f.serial.occupy();
    provision(t, plan, m.attempt(), m.replaced(), null);
    return effect.noReply();
  }

  ReplyEffect<Event, State> onRekeyed(EffectFactories<Event, State> effect, State s, Rekeyed m) {
    f.serial.end();
    Tunnel t = PodTunnel.tunnelOf(s);
    if (m.error() != null || t == null || !t.containerId().equals(m.containerId())) {
      String why = m.error() != null ? m.error() : "sandbox changed while provisioning";
      log.warn("{}: tunnel for {} not established: {}", f.entityId, m.containerId(), why);
      if (m.replyTo() != null) {
        m.replyTo().tell(StatusReply.error(why));
      }
      if (t != null && t.containerId().equals(m.containerId())) {
        retry(t, m.attempt() + 1, m.replaced());
      }
      return effect.none().thenNoReply().thenUnstashAll();
    }
    log.info("{}: tunnel {} established for {} via {} (first gateway to confirm: {})", f.entityId, t.deviceName(),
        t.podIp(), t.configKey(), m.gateway());
    return effect.persist(new TunnelEstablished(m.containerId(), m.gateway()))
        .thenRun(st -> {
          f.settled(t);
          if (m.replyTo() != null) {
            m.replyTo().tell(StatusReply.success(TakenBack.of(t, true)));
          }
        })
        .thenNoReply()
        .thenUnstashAll();
  }

  private void provision(Tunnel t, TunnelFlows.Plan plan, int attempt, Tunnel replaced,
      ActorRef<StatusReply<TakenBack>> replyTo) {
    f.provision(t, plan, replaced, (gw, error) -> new Rekeyed(t.containerId(), gw, error, attempt, replaced, replyTo));
  }

  private void retry(Tunnel t, int attempt, Tunnel replaced) {
    if (attempt < REKEY_ATTEMPTS) {
      f.ctx.scheduleOnce(REKEY_RETRY, f.ctx.getSelf(), new RetryRekey(t.deviceName(), attempt, replaced));
    } else {
      log.warn("{}: gave up making tunnel {} again after {} attempts; the pod stays fail-closed until its next ADD",
          f.entityId, t.deviceName(), attempt);
    }
  }
}
