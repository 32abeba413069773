package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PendingWorkTest {
  private static final DatapathAction ADD_A = new DatapathAction.AddPeer("a", "k1", "10.0.0.1/32");
  private static final DatapathAction REMOVE_A = new DatapathAction.RemovePeer("a", "k2");
  private static final DatapathAction ADD_B = new DatapathAction.AddPeer("b", "k3", "10.0.0.2/32");

  @Test
  void servedOperationsLeaveTogetherInTheirOrder() {
    PendingWork work = new PendingWork();
    work.add(ADD_A);
    work.add(REMOVE_A);
    assertEquals(new PendingWork.Batch(List.of(ADD_A, REMOVE_A), false), work.take(Set.of("a")));
    assertTrue(work.isEmpty());
    assertEquals(new PendingWork.Batch(List.of(), false), work.take(Set.of("a")), "nothing twice");
  }

  @Test
  void operationsOnAConfigWithoutDeviceAreDroppedForAReconcile() {
    PendingWork work = new PendingWork();
    work.add(ADD_A);
    work.add(ADD_B);
    PendingWork.Batch batch = work.take(Set.of("a"));
    assertEquals(List.of(ADD_A), batch.ops());
    assertTrue(batch.reconcile(), "config b's device is still to be made: a reconcile programs it with all its peers");
    assertTrue(work.isEmpty());
    work.add(ADD_B);
    assertFalse(work.isEmpty());
    assertEquals(new PendingWork.Batch(List.of(), true), work.take(Set.of()));
  }
}
