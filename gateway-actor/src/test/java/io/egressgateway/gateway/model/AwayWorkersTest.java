package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AwayWorkersTest {
  static final long S = 1_000_000_000L;
  final AwayWorkers away = new AwayWorkers(Duration.ofSeconds(5), Duration.ofMinutes(10));

  @Test
  void aRestartingWorkerIsAwayUntilItsNewMemberIsUpAndHasSettled() {
    away.up("w1", "m1", 0);
    away.up("w2", "m2", 0);
    assertEquals(Set.of(), away.waitingFor(1 * S));
    away.left("w1", "m1", 2 * S);
    assertEquals(Set.of("w1"), away.waitingFor(3 * S), "w2 is up, so w1 is expected back");
    away.left("w1", "m1", 4 * S); // exiting, then removed: the first departure counts
    away.up("w1", "m1b", 30 * S);
    assertEquals(Set.of("w1"), away.waitingFor(33 * S), "back, taking its tunnels back");
    assertEquals(Set.of(), away.waitingFor(35 * S));
  }

  @Test
  void anEarlierMemberRemovedAfterItsSuccessorCameUpChangesNothing() {
    away.up("w1", "m1", 0);
    away.up("w2", "m2", 0);
    away.up("w1", "m1b", 1 * S); // the new member was up before the old one's removal reached us
    away.left("w1", "m1", 2 * S);
    assertEquals(Set.of(), away.waitingFor(10 * S));
  }

  @Test
  void withEveryWorkerGoneThereIsNothingToWaitFor() {
    away.up("w1", "m1", 0);
    away.up("w2", "m2", 0);
    away.left("w1", "m1", 1 * S);
    assertEquals(Set.of("w1"), away.waitingFor(2 * S));
    away.left("w2", "m2", 2 * S);
    assertEquals(Set.of(), away.waitingFor(3 * S), "an uninstall: nobody is coming back soon");
    assertEquals(Set.of("w1", "w2"), away.at(3 * S));
  }

  @Test
  void aNodeAwayForLongIsTakenAsScaledIn() {
    away.up("w1", "m1", 0);
    away.up("w2", "m2", 0);
    away.left("w1", "m1", 1 * S);
    assertEquals(Set.of("w1"), away.waitingFor(60 * S));
    assertEquals(Set.of(), away.waitingFor(11 * 60 * S));
  }

  @Test
  void workersUpAreTheNodesWithAMemberUpNow() {
    assertEquals(Set.of(), away.workersUp());
    away.up("w1", "m1", 0);
    away.up("w2", "m2", 0);
    away.left("w1", "m1", 1 * S);
    assertEquals(Set.of("w2"), away.workersUp());
    away.up("w1", "m1b", 2 * S);
    assertEquals(Set.of("w1", "w2"), away.workersUp(), "back (settling does not matter here)");
  }
}
