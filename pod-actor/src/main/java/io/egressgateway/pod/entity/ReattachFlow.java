package io.egressgateway.pod.entity;

import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.pod.entity.PodTunnel.Established;
import io.egressgateway.pod.entity.PodTunnel.Event;
import io.egressgateway.pod.entity.PodTunnel.Reattach;
import io.egressgateway.pod.entity.PodTunnel.Reattached;
import io.egressgateway.pod.entity.PodTunnel.State;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An established tunnel's device died (its wireguard-go process exited): made again with the same key, and
 * the routes restored; the gateways keep the peer, so nothing is journaled. Ends with {@link Reattached}.
 */
final class ReattachFlow {
  private static final Logger log = LoggerFactory.getLogger(ReattachFlow.class);

  private final TunnelFlows f;

  ReattachFlow(TunnelFlows f) {
    this.f = f;
  }

  ReplyEffect<Event, State> onReattach(EffectFactories<Event, State> effect, Established e, Reattach cmd) {
    if (!e.tunnel().deviceName().equals(cmd.deviceName())) {
      return effect.noReply();
    }
    Tunnel t = e.tunnel();
    Optional<String> key = f.deps.keys().get(t.deviceName());
    TunnelFlows.Plan plan;
    try {
      if (key.isEmpty()) {
        throw new IllegalArgumentException("its key was lost with an agent restart");
      }
      plan = f.planFor(t);
    } catch (IllegalArgumentException ex) {
      log.warn("{}: device {} died and cannot be re-created here ({}); the pod stays fail-closed until its next ADD",
          f.entityId, t.deviceName(), ex.getMessage());
      return effect.noReply();
    }
    f.serial.occupy();
    f.bringing = plan.view();
    f.ctx.pipeToSelf(f.pipelines.reattach(t, plan.view(), plan.routes(), key.get()),
        (v, err) -> new Reattached(t.deviceName(), err == null ? null : TunnelPipelines.describe(err)));
    return effect.noReply();
  }

  ReplyEffect<Event, State> onReattached(EffectFactories<Event, State> effect, State s, Reattached m) {
    f.serial.end();
    Tunnel t = PodTunnel.tunnelOf(s);
    if (m.error() == null) {
      log.info("{}: device {} re-created after its process died", f.entityId, m.deviceName());
      if (t != null && t.deviceName().equals(m.deviceName())) {
        f.settled(t);
      }
    } else {
      f.bringing = null;
      log.warn("{}: re-creating device {} failed: {}", f.entityId, m.deviceName(), m.error());
    }
    return effect.noReply().thenUnstashAll();
  }
}
