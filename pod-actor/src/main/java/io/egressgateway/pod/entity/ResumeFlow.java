package io.egressgateway.pod.entity;

import akka.pattern.StatusReply;
import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.entity.PodTunnel.Established;
import io.egressgateway.pod.entity.PodTunnel.Event;
import io.egressgateway.pod.entity.PodTunnel.Requested;
import io.egressgateway.pod.entity.PodTunnel.Resume;
import io.egressgateway.pod.entity.PodTunnel.Resumed;
import io.egressgateway.pod.entity.PodTunnel.State;
import io.egressgateway.pod.entity.PodTunnel.TakenBack;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import java.util.Collection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Taking a tunnel back after an agent restart ({@link Resume}): a live device gives its key back (read from
 * the device into memory) and is watched again; a device that is gone while the pod's namespace is still
 * there is made again with a new key ({@link RekeyFlow}); a gone namespace is left to the pod's DEL. The
 * tunnels taken back are the established ones and those whose device was being made again (their pods run
 * and will not be ADDed again); a tunnel of a pending ADD is left to the runtime's retry. A configuration
 * that has not replicated to this node yet is waited for: the command comes back every {@link
 * PodTunnel#RESUME_RETRY}, {@link PodTunnel#RESUME_ATTEMPTS} times at most (the agent asks again after a
 * restart of its own). The look at the device ends with {@link Resumed}.
 */
final class ResumeFlow {
  private static final Logger log = LoggerFactory.getLogger(ResumeFlow.class);

  private final TunnelFlows f;
  private final RekeyFlow rekey;

  ResumeFlow(TunnelFlows f, RekeyFlow rekey) {
    this.f = f;
    this.rekey = rekey;
  }

  /** {@link Resume} of an established tunnel, or of one being made again ({@code replacing}). */
  ReplyEffect<Event, State> onResume(EffectFactories<Event, State> effect, State s, Tunnel t, Resume cmd) {
    if (f.deps.keys().get(t.deviceName()).isPresent()) { // this agent serves the tunnel already, or is re-making it
      return effect.reply(cmd.replyTo(), s instanceof Requested
          ? StatusReply.error("tunnel " + t.deviceName() + " is being made again")
          : StatusReply.success(TakenBack.of(t, false)));
    }
    ConfigView view = f.deps.views().get().get(t.configKey());
    String problem = TunnelFlows.unusable(view, t.configKey());
    if (problem != null) {
      if (cmd.attempt() + 1 < PodTunnel.RESUME_ATTEMPTS) {
        f.ctx.scheduleOnce(PodTunnel.RESUME_RETRY, f.ctx.getSelf(), new Resume(cmd.attempt() + 1, cmd.replyTo()));
        return effect.noReply();
      }
      log.warn("{}: cannot resume tunnel {}: {}", f.entityId, t.deviceName(), problem);
      return effect.reply(cmd.replyTo(), StatusReply.error(problem));
    }
    if (!view.uid().equals(t.configUid())) {
      return effect.reply(cmd.replyTo(), StatusReply.error("configuration " + t.configKey()
          + " was replaced since the tunnel was made; the pod's next ADD makes a new one"));
    }
    f.serial.occupy();
    f.ctx.pipeToSelf(f.pipelines.resume(t, view),
        (found, err) -> new Resumed(t.deviceName(), found, err == null ? null : TunnelPipelines.describe(err), cmd.replyTo()));
    return effect.noReply();
  }

  ReplyEffect<Event, State> onResumed(EffectFactories<Event, State> effect, State s, Resumed m) {
    Tunnel taken = resumable(s);
    Tunnel t = taken != null && taken.deviceName().equals(m.deviceName()) ? taken : null;
    String problem = m.error() != null ? m.error() : t == null ? "the tunnel changed while it was resumed" : null;
    if (problem != null) {
      f.serial.end();
      log.warn("{}: resuming tunnel {} failed: {}", f.entityId, m.deviceName(), problem);
      return effect.reply(m.replyTo(), StatusReply.error(problem)).thenUnstashAll();
    }
    if (m.found().privateKey().isPresent() && s instanceof Established) {
      f.serial.end();
      f.deps.keys().put(t.deviceName(), m.found().privateKey().get());
      log.info("{}: tunnel {} of {} resumed: its device is alive and watched again", f.entityId, t.deviceName(), t.podIp());
      // the pool may have gained a gateway while this agent was away (nobody told the tunnel then)
      ConfigView view = f.deps.views().get().get(t.configKey());
      if (view != null && view.uid().equals(t.configUid())) {
        sendPeer(t, view.gateways().keySet(), "resumed after an agent restart");
      }
      // what the device runs is not known here: brought to the view as it is now (which may have moved on)
      f.applied = null;
      f.bringing = null;
      f.settled(t);
      return effect.reply(m.replyTo(), StatusReply.success(TakenBack.of(t, false))).thenUnstashAll();
    }
    if (m.found().sandboxGone()) {
      f.serial.end();
      log.info("{}: the namespace of tunnel {} is gone; the pod's DEL removes the rest", f.entityId, t.deviceName());
      return effect.reply(m.replyTo(), StatusReply.error("the pod's network namespace is gone")).thenUnstashAll();
    }
    TunnelFlows.Plan plan;
    try {
      plan = f.planFor(t);
    } catch (IllegalArgumentException ex) {
      f.serial.end();
      return effect.reply(m.replyTo(), StatusReply.error(ex.getMessage())).thenUnstashAll();
    }
    if (s instanceof Requested) {
      log.warn("{}: tunnel {} of {} was being made again when the agent stopped; making it again with a new key",
          f.entityId, t.deviceName(), t.podIp());
    } else {
      log.warn("{}: device {} of {} did not survive the agent's restart; making it again with a new key", f.entityId,
          t.deviceName(), t.podIp());
    }
    return rekey.start(effect, t, plan, m.replyTo()); // the flow goes on: the re-key's end answers
  }

  /**
   * The tunnel an agent restart should take back: an established one, or one whose device was being made
   * again. Null otherwise.
   */
  static Tunnel resumable(State s) {
    if (s instanceof Established e) {
      return e.tunnel();
    }
    if (s instanceof Requested r && r.replacing()) {
      return r.tunnel();
    }
    return null;
  }

  /**
   * Sends an established tunnel's peer to {@code gateways} without waiting (a gateway that has it already
   * answers at once); the outcome is logged.
   */
  private void sendPeer(Tunnel t, Collection<String> gateways, String why) {
    for (String gw : gateways) {
      f.deps.gateways().addPeer(gw, t.configUid(), t.publicKey(), t.podIp()).whenComplete((v, err) -> {
        if (err == null) {
          log.debug("{}: gateway {} holds the peer of tunnel {} ({})", f.entityId, gw, t.deviceName(), why);
        } else {
          log.warn("{}: gateway {} did not take the peer of tunnel {} ({}): {}", f.entityId, gw, t.deviceName(), why,
              TunnelPipelines.describe(err));
        }
      });
    }
  }
}
