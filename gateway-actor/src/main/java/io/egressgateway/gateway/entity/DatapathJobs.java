package io.egressgateway.gateway.entity;

import akka.actor.typed.javadsl.ActorContext;
import io.egressgateway.core.gateway.GatewayNodeProtocol.Command;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.DatapathAction;
import io.egressgateway.gateway.model.Reconciliation;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * A {@code GatewayNode}'s datapath work, one job at a time on the blocking dispatcher: queued single-peer
 * operations first (in one batch), then a full reconcile when one is wanted. Each job's outcome comes back to
 * the entity as {@link GatewayNode.PeersApplied} or {@link GatewayNode.Reconciled}, after which the entity
 * calls {@link #done} and {@link #kick} again. Owned by the entity; not thread-safe.
 */
final class DatapathJobs {
  private final ActorContext<Command> ctx;
  private final GatewayNode.Deps deps;
  private final Executor blocking;
  private final List<DatapathAction> pending = new ArrayList<>();
  private boolean busy;
  private boolean reconcileWanted;

  DatapathJobs(ActorContext<Command> ctx, GatewayNode.Deps deps, Executor blocking) {
    this.ctx = ctx;
    this.deps = deps;
    this.blocking = blocking;
  }

  void queue(DatapathAction op) {
    pending.add(op);
  }

  void wantReconcile() {
    reconcileWanted = true;
  }

  /** The running job's outcome has arrived. */
  void done() {
    busy = false;
  }

  /**
   * Starts the next job if none runs. Operations on a config not in {@code serving} (its device is still to
   * be made) are dropped for a reconcile, which programs the config with all its peers.
   */
  void kick(Set<String> serving, Supplier<Map<String, ConfigDatapath>> desired, boolean collect) {
    if (busy) {
      return;
    }
    if (pending.removeIf(op -> !serving.contains(op.uid()))) {
      reconcileWanted = true;
    }
    if (!pending.isEmpty()) {
      List<DatapathAction> ops = List.copyOf(pending);
      pending.clear();
      busy = true;
      ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> Reconciliation.applyPeers(deps.datapath(), ops), blocking),
          (errs, ex) -> new GatewayNode.PeersApplied(ops, ex != null ? failAll(ops, ex) : errs));
    } else if (reconcileWanted) {
      reconcileWanted = false;
      busy = true;
      Map<String, ConfigDatapath> want = desired.get();
      int bulk = deps.settings().bulkThreshold();
      ctx.pipeToSelf(CompletableFuture.supplyAsync(
              () -> Reconciliation.run(deps.datapath(), deps.keys(), want, bulk, collect), blocking),
          (res, ex) -> new GatewayNode.Reconciled(want, res, ex == null ? null : String.valueOf(ex.getMessage())));
    }
  }

  private static Map<String, String> failAll(List<DatapathAction> ops, Throwable ex) {
    Map<String, String> out = new HashMap<>();
    ops.forEach(op -> out.put(op.uid() + " " + Reconciliation.peerKey(op), String.valueOf(ex.getMessage())));
    return out;
  }
}
