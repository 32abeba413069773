package io.egressgateway.gateway.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The single-peer datapath operations a gateway node has decided and not started yet, in the order they were
 * decided. They run together, as one batch, once the node's datapath work is idle; an operation on a config
 * whose device is not made yet is dropped instead, for a full reconcile that programs the config with all its
 * peers. Owned by one entity; not thread-safe.
 */
public final class PendingWork {
  /** What {@link #take} hands out: the batch to run now, and whether dropped operations call for a reconcile. */
  public record Batch(List<DatapathAction> ops, boolean reconcile) {}

  private final List<DatapathAction> ops = new ArrayList<>();

  public void add(DatapathAction op) {
    ops.add(op);
  }

  public boolean isEmpty() {
    return ops.isEmpty();
  }

  /** Takes every waiting operation out: those on configs in {@code serving} form the batch. */
  public Batch take(Set<String> serving) {
    boolean dropped = ops.removeIf(op -> !serving.contains(op.uid()));
    List<DatapathAction> batch = List.copyOf(ops);
    ops.clear();
    return new Batch(batch, dropped);
  }
}
