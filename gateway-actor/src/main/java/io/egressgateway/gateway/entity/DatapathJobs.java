package io.egressgateway.gateway.entity;

import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.TimerScheduler;
import io.egressgateway.core.gateway.GatewayNodeProtocol.Command;
import io.egressgateway.core.reconcile.SerialReconcile;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.DatapathAction;
import io.egressgateway.gateway.model.PendingWork;
import io.egressgateway.gateway.model.Reconciliation;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code GatewayNode}'s datapath work, one job at a time on the blocking dispatcher ({@link SerialReconcile}):
 * waiting single-peer operations ({@link PendingWork}) first, in one batch, then a full reconcile when one is
 * wanted. Each job's outcome comes back to the entity as {@link GatewayNode.PeersApplied} or {@link
 * GatewayNode.Reconciled}; the entity hands it to {@link #peersApplied} or {@link #reconciled} and calls
 * {@link #kick} again. Keeps what the last reconcile observed (configs serving, errors), never journaled.
 * Also starts the entity's {@link DatapathSampler} (the datapath metrics), a child that reads the same
 * datapath on the same dispatcher. Owned by the entity; not thread-safe.
 */
final class DatapathJobs {
  private static final Logger log = LoggerFactory.getLogger(DatapathJobs.class);

  private final ActorContext<Command> ctx;
  private final String node;
  private final GatewayNode.Deps deps;
  private final Executor blocking;
  private final PeerWaiters waiters;
  private final SerialReconcile<Command> loop;
  private final PendingWork pending = new PendingWork();
  private Set<String> serving = Set.of();
  private Map<String, String> errors = Map.of();

  DatapathJobs(ActorContext<Command> ctx, TimerScheduler<Command> timers, Command tick, String node,
      GatewayNode.Deps deps, Executor blocking, PeerWaiters waiters) {
    this.ctx = ctx;
    this.node = node;
    this.deps = deps;
    this.blocking = blocking;
    this.waiters = waiters;
    this.loop = new SerialReconcile<>(timers, tick, deps.settings().coalesce());
    if (!deps.settings().metricsInterval().isZero()) {
      // the datapath metrics: a supervised child of the entity, reading the same datapath on the same dispatcher
      ctx.spawnAnonymous(DatapathSampler.create(node, deps, blocking));
    }
  }

  /** Each of the configs {@code uids}: serving (verified by the last reconcile), peers journaled, last error. */
  Map<String, GatewayNode.ConfigStatus> status(Set<String> uids, GatewayNode.State state) {
    Map<String, GatewayNode.ConfigStatus> out = new HashMap<>();
    uids.forEach(uid -> out.put(uid,
        new GatewayNode.ConfigStatus(serving.contains(uid), state.peersOf(uid).size(), errors.getOrDefault(uid, ""))));
    return out;
  }

  void queue(DatapathAction op) {
    pending.add(op);
  }

  /** A full reconcile after the coalescing window (the entity receives the tick, then calls {@link #due}). */
  void requestReconcile() {
    loop.schedule();
  }

  /** The coalesced reconcile is due. */
  void due() {
    loop.want();
  }

  /**
   * Starts the next job if none runs. Operations on a config not in {@link #serving} (its device is still to
   * be made) are dropped for a reconcile, which programs the config with all its peers.
   */
  void kick(Supplier<Map<String, ConfigDatapath>> desired, boolean collect) {
    if (loop.running()) {
      return;
    }
    PendingWork.Batch batch = pending.take(serving);
    if (batch.reconcile()) {
      loop.want();
    }
    List<DatapathAction> ops = batch.ops();
    if (!ops.isEmpty()) {
      loop.occupy();
      ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> Reconciliation.applyPeers(deps.datapath(), ops), blocking),
          (errs, ex) -> new GatewayNode.PeersApplied(ops, ex != null ? failAll(ops, ex) : errs));
    } else if (loop.beginIfWanted()) {
      Map<String, ConfigDatapath> want = desired.get();
      int bulk = deps.settings().bulkThreshold();
      ctx.pipeToSelf(CompletableFuture.supplyAsync(
              () -> Reconciliation.run(deps.datapath(), deps.keys(), want, bulk, collect), blocking),
          (res, ex) -> new GatewayNode.Reconciled(want, res, ex == null ? null : String.valueOf(ex.getMessage())));
    }
  }

  /**
   * A full reconcile finished: what it verified is published to the health board, drift it repaired is
   * counted, and whoever waits for a peer now programmed is answered. Returns whether it succeeded as a whole.
   */
  boolean reconciled(GatewayNode.Reconciled r) {
    loop.end();
    if (r.failure() != null) {
      log.warn("[{}] reconcile failed: {}", node, r.failure());
      GatewayNodeMetrics.countReconcile(ctx.getSystem(), "error");
      errors = Map.of("*", r.failure());
      retryLater();
      return false;
    }
    Reconciliation result = r.result();
    Set<String> servedBefore = serving;
    serving = result.serving();
    errors = result.errors();
    GatewayNodeMetrics.countReconcile(ctx.getSystem(), errors.isEmpty() ? "ok" : "error");
    deps.board().publish(r.desired(), serving);
    if (!result.actions().isEmpty()) {
      log.info("[{}] reconciled: {} action(s), {} bulk load(s), serving {}", node, result.actions().size(),
          result.bulkLoads(), serving);
    }
    errors.forEach((uid, e) -> log.warn("[{}] config {}: {}", node, uid, e));
    result.drift().forEach((uid, d) -> {
      if (servedBefore.contains(uid) && serving.contains(uid)) {
        log.info("[{}] config {}: its device had drifted from the journal ({} peer(s) missing, {} not ours); repaired",
            node, uid, d.missing(), d.unwanted());
        GatewayNodeMetrics.countRepairs(ctx.getSystem(), uid, "kernel", d.missing(), d.unwanted());
      }
    });
    for (String uid : serving) {
      r.desired().get(uid).peers().keySet().forEach(key -> waiters.programmed(uid, key));
    }
    if (!errors.isEmpty()) {
      retryLater();
    }
    return true;
  }

  /**
   * Single-peer operations were applied: whoever waits for an added peer that is still journaled is
   * answered; a failed one calls for a full reconcile.
   */
  void peersApplied(GatewayNode.PeersApplied r, GatewayNode.State state) {
    loop.end();
    for (DatapathAction op : r.ops()) {
      String error = r.errors().get(op.uid() + " " + Reconciliation.peerKey(op));
      if (error != null) {
        log.warn("[{}] {}; a full reconcile follows", node, error);
        loop.want();
      } else if (op instanceof DatapathAction.AddPeer add && state.has(add.uid(), add.publicKey(), add.allowedIp())) {
        log.info("[{}] peer {} {} added to config {}", node, add.publicKey(), add.allowedIp(), add.uid());
        waiters.programmed(add.uid(), add.publicKey());
      } else if (op instanceof DatapathAction.RemovePeer) {
        log.info("[{}] peer {} removed from config {}", node, Reconciliation.peerKey(op), op.uid());
        waiters.unprogrammed(op.uid(), Reconciliation.peerKey(op));
      }
    }
  }

  /** A reconcile after {@code retry-interval}, unless one is due sooner. */
  private void retryLater() {
    loop.scheduleIn(deps.settings().retryInterval());
  }

  private static Map<String, String> failAll(List<DatapathAction> ops, Throwable ex) {
    Map<String, String> out = new HashMap<>();
    ops.forEach(op -> out.put(op.uid() + " " + Reconciliation.peerKey(op), String.valueOf(ex.getMessage())));
    return out;
  }
}
