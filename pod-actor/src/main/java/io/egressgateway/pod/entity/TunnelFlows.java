package io.egressgateway.pod.entity;

import akka.actor.typed.javadsl.ActorContext;
import io.egressgateway.core.reconcile.SerialReconcile;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.pod.entity.PodTunnel.Command;
import io.egressgateway.pod.entity.PodTunnel.Tunnel;
import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.pod.model.Route;
import java.util.List;
import java.util.function.BiFunction;

/**
 * What the flows of one {@link PodTunnel} share: the entity's context and dependencies, the datapath
 * pipelines, and the one-at-a-time rule ({@link SerialReconcile}: while a flow's datapath work runs, further
 * commands are stashed, and the flow's own completion message ends it), and which generation of its
 * configuration the tunnel's datapath runs. Holds no decision (what the datapath runs is an observation, kept
 * in memory only); owned by the entity; not thread-safe.
 */
final class TunnelFlows {
  final ActorContext<Command> ctx;
  final String entityId;
  final PodTunnel.Deps deps;
  final TunnelPipelines pipelines;
  final SerialReconcile<Command> serial = SerialReconcile.immediate();
  /** The view the tunnel's datapath was last brought to; null when not known (after an agent restart). */
  ConfigView applied;
  /** The view the running flow brings the datapath to. */
  ConfigView bringing;

  TunnelFlows(ActorContext<Command> ctx, String entityId, PodTunnel.Deps deps, TunnelPipelines pipelines) {
    this.ctx = ctx;
    this.entityId = entityId;
    this.deps = deps;
    this.pipelines = pipelines;
  }

  /** A tunnel's configuration view as replicated now, and the routes its pod should have under it. */
  record Plan(ConfigView view, List<Route> routes) {}

  /**
   * What re-making {@code t}'s device needs: its configuration usable and still the one the tunnel was made
   * for. Fails with {@link IllegalArgumentException} saying why not.
   */
  Plan planFor(Tunnel t) {
    ConfigView view = deps.views().get().get(t.configKey());
    String problem = unusable(view, t.configKey());
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    if (!view.uid().equals(t.configUid())) {
      throw new IllegalArgumentException("configuration " + t.configKey() + " was replaced since the tunnel was made");
    }
    return new Plan(view, PodRoutes.desired(view.defaultRoute(), t.eth0Gateway(), view.excludeCidrs(),
        t.excludedCidrs(), deps.exceptionCidrs(), view.ilbIp()));
  }

  /** Why {@code view} cannot serve a pod right now, or null. */
  static String unusable(ConfigView view, String key) {
    if (view == null) {
      return "gateway configuration " + key + " is not known on this node (it does not exist or has not replicated yet)";
    }
    if (!view.ready()) {
      return "gateway configuration " + key + " is not ready yet (gateways or Azure resources still provisioning)";
    }
    if (view.gateways().isEmpty()) {
      return "gateway configuration " + key + " has no gateway nodes";
    }
    if (view.ilbIp().isEmpty() || view.port() <= 0 || view.gatewayPublicKey().isEmpty()) {
      return "gateway configuration " + key + " has no gateway endpoint or public key yet";
    }
    return null;
  }

  /**
   * A new key for {@code t}'s device, kept in memory only ({@link io.egressgateway.pod.infra.PodKeys}); returns
   * the tunnel with its public half, sent to the configuration's pool, for the caller to journal.
   */
  Tunnel newKey(Tunnel t, ConfigView view) {
    WgKeys.KeyPair keys = WgKeys.generate();
    Tunnel keyed = t.rekeyed(keys.publicKey(), view.gateways().keySet());
    deps.keys().put(keyed.deviceName(), keys.privateKey());
    return keyed;
  }

  /**
   * The running flow brought {@code t}'s datapath to {@link #bringing}: that is what it runs now, reported to
   * the configuration's status; a view that moved on meanwhile is followed at once ({@link FollowFlow}).
   */
  void settled(Tunnel t) {
    if (bringing != null) {
      applied = bringing;
      bringing = null;
      deps.generations().applied(entityId, t.configKey(), t.configUid(), applied.generation());
    }
    ConfigView now = deps.views().get().get(t.configKey());
    if (now != null && (applied == null || now.generation() != applied.generation())) {
      ctx.getSelf().tell(new PodTunnel.Follow(t.configKey()));
    }
  }

  /** The tunnel is gone: it no longer counts among its configuration's pods. */
  void forget() {
    applied = null;
    bringing = null;
    deps.generations().gone(entityId);
  }

  /**
   * Provisions {@code t} (see {@link TunnelPipelines#provision}); the outcome comes back as {@code done}'s
   * message: the first gateway to confirm, or what went wrong.
   */
  void provision(Tunnel t, Plan plan, Tunnel replaced, BiFunction<String, String, Command> done) {
    String key = deps.keys().get(t.deviceName()).orElseThrow();
    bringing = plan.view();
    ctx.pipeToSelf(pipelines.provision(t, plan.view(), plan.routes(), key, replaced),
        (gw, err) -> done.apply(gw, err == null ? null : TunnelPipelines.describe(err)));
  }
}
