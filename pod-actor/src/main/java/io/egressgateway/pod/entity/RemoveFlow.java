package io.egressgateway.pod.entity;

import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.pod.entity.PodTunnel.Deprovisioned;
import io.egressgateway.pod.entity.PodTunnel.Event;
import io.egressgateway.pod.entity.PodTunnel.Remove;
import io.egressgateway.pod.entity.PodTunnel.State;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import io.egressgateway.pod.entity.PodTunnel.TunnelRemoved;
import akka.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DEL: the pod's peer off the gateways, the device out of the pod, whatever fails (a DEL always succeeds);
 * then {@link TunnelRemoved} is journaled and the tunnel no longer counts among its configuration's pods. Ends
 * with {@link Deprovisioned}.
 */
final class RemoveFlow {
  private static final Logger log = LoggerFactory.getLogger(RemoveFlow.class);

  private final TunnelFlows f;

  RemoveFlow(TunnelFlows f) {
    this.f = f;
  }

  /** DEL of the tunnel {@code t}, whose peer {@code confirmed} (may be empty) is known to hold. */
  ReplyEffect<Event, State> onRemove(EffectFactories<Event, State> effect, Tunnel t, String confirmed, Remove cmd) {
    if (!cmd.containerId().isEmpty() && !cmd.containerId().equals(t.containerId())) {
      return effect.reply(cmd.replyTo(), StatusReply.ack());
    }
    f.serial.occupy();
    return effect.none()
        .thenRun(st -> f.ctx.pipeToSelf(f.pipelines.deprovision(t, confirmed), (error, err) -> new Deprovisioned(
            t.containerId(), err != null ? TunnelPipelines.describe(err) : (error.isEmpty() ? null : error), cmd.replyTo())))
        .thenNoReply();
  }

  ReplyEffect<Event, State> onDeprovisioned(EffectFactories<Event, State> effect, State s, Deprovisioned m) {
    f.serial.end();
    if (m.error() != null) {
      log.warn("{}: removing the tunnel of {} was incomplete: {}", f.entityId, m.containerId(), m.error());
    } else {
      log.info("{}: tunnel of {} removed", f.entityId, m.containerId());
    }
    Tunnel gone = PodTunnel.tunnelOf(s);
    if (gone != null && gone.containerId().equals(m.containerId())) {
      f.deps.keys().remove(gone.deviceName());
    }
    f.forget();
    return effect.persist(new TunnelRemoved(m.containerId()))
        .thenRun(st -> m.replyTo().tell(StatusReply.ack()))
        .thenNoReply()
        .thenUnstashAll();
  }
}
