package io.egressgateway.pod.entity;

import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.entity.PodTunnel.Established;
import io.egressgateway.pod.entity.PodTunnel.Event;
import io.egressgateway.pod.entity.PodTunnel.Follow;
import io.egressgateway.pod.entity.PodTunnel.Followed;
import io.egressgateway.pod.entity.PodTunnel.State;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running tunnel follows its configuration's new generation without a restart ({@link Follow}, told by the
 * agent when the replicated view changes). What the pod's datapath depends on ({@code excludeCidrs}, {@code
 * defaultRoute}, the gateway key, the ILB address and port) is brought over make before break ({@link
 * io.egressgateway.pod.infra.PodDatapath#follow}); a generation that changed none of it (the gateways, the
 * prefix) is only taken note of. Either way the tunnel then reports the generation it runs ({@link
 * TunnelFlows#settled}). Journals nothing: the configuration is the view's, and what the datapath runs is an
 * observation. A failed attempt is tried again, backing off from {@link #RETRY_MIN} to {@link #RETRY_MAX},
 * while the view still differs; the flow ends with {@link Followed}.
 */
final class FollowFlow {
  private static final Logger log = LoggerFactory.getLogger(FollowFlow.class);
  static final Duration RETRY_MIN = Duration.ofSeconds(1);
  static final Duration RETRY_MAX = Duration.ofSeconds(30);

  private final TunnelFlows f;
  private Duration retry = RETRY_MIN;

  FollowFlow(TunnelFlows f) {
    this.f = f;
  }

  ReplyEffect<Event, State> onFollow(EffectFactories<Event, State> effect, State s, Follow cmd) {
    if (f.serial.running()) {
      return effect.stash();
    }
    if (!(s instanceof Established e) || !e.tunnel().configKey().equals(cmd.configKey())) {
      return effect.noReply(); // a tunnel being made takes the view it finds, and follows once established
    }
    Tunnel t = e.tunnel();
    if (f.deps.keys().get(t.deviceName()).isEmpty()) {
      return effect.noReply(); // not taken back by this agent yet: its ResumeFlow brings it to the view
    }
    ConfigView view = f.deps.views().get().get(t.configKey());
    if (TunnelFlows.unusable(view, t.configKey()) != null || !view.uid().equals(t.configUid())) {
      return effect.noReply(); // provisioning, or replaced by a new object: the tunnel keeps what it has
    }
    ConfigView applied = f.applied;
    if (applied != null && applied.generation() == view.generation() && samePath(applied, view)) {
      return effect.noReply();
    }
    if (applied != null && samePath(applied, view)) {
      f.bringing = view;
      f.settled(t);
      return effect.noReply();
    }
    TunnelFlows.Plan plan;
    try {
      plan = f.planFor(t);
    } catch (IllegalArgumentException ex) {
      log.warn("{}: tunnel {} cannot follow generation {} of {}: {}", f.entityId, t.deviceName(), view.generation(),
          t.configKey(), ex.getMessage());
      return effect.noReply();
    }
    f.serial.occupy();
    f.bringing = plan.view();
    String previous = applied == null ? null : TunnelPipelines.endpoint(applied);
    long start = System.nanoTime();
    f.ctx.pipeToSelf(f.pipelines.follow(t, plan.view(), plan.routes(), previous), (v, err) -> new Followed(
        t.deviceName(), plan.view().generation(), (System.nanoTime() - start) / 1_000_000,
        err == null ? null : TunnelPipelines.describe(err)));
    return effect.noReply();
  }

  ReplyEffect<Event, State> onFollowed(EffectFactories<Event, State> effect, State s, Followed m) {
    f.serial.end();
    Tunnel t = s instanceof Established e && e.tunnel().deviceName().equals(m.deviceName()) ? e.tunnel() : null;
    if (t == null) {
      f.bringing = null;
      return effect.noReply().thenUnstashAll();
    }
    if (m.error() != null) {
      f.bringing = null;
      log.warn("{}: tunnel {} did not follow generation {} of {} (again in {}): {}", f.entityId, t.deviceName(),
          m.generation(), t.configKey(), retry, m.error());
      f.ctx.scheduleOnce(retry, f.ctx.getSelf(), new Follow(t.configKey()));
      retry = retry.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : retry.multipliedBy(2);
      return effect.noReply().thenUnstashAll();
    }
    retry = RETRY_MIN;
    log.info("{}: tunnel {} of {} follows generation {} of {} ({} ms)", f.entityId, t.deviceName(), t.podIp(),
        m.generation(), t.configKey(), m.tookMs());
    f.settled(t);
    return effect.noReply().thenUnstashAll();
  }

  /** Whether a pod's datapath is the same under both views (only the gateways or the prefix differ). */
  static boolean samePath(ConfigView a, ConfigView b) {
    return a.ilbIp().equals(b.ilbIp()) && a.port() == b.port() && a.gatewayPublicKey().equals(b.gatewayPublicKey())
        && a.excludeCidrs().equals(b.excludeCidrs()) && a.defaultRoute().equals(b.defaultRoute());
  }
}
