package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.gateway.model.StartHold.Change;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StartHoldTest {
  static final long S = 1_000_000_000L;
  final StartHold hold = new StartHold(Duration.ofSeconds(60));

  @Test
  void heldWhileAWorkerOfItsPeersIsAwayThenServedForGood() {
    assertFalse(hold.released("c1"));
    StartHold.Verdict v = hold.ask("c1", Set.of("w1", "w2"), Set.of("w2"), true, 0);
    assertEquals(Set.of("w1"), v.waitingFor());
    assertEquals(Change.HELD, v.change());
    assertEquals(Change.NONE, hold.ask("c1", Set.of("w1", "w2"), Set.of("w2"), true, 10 * S).change());
    assertTrue(hold.ask("c1", Set.of("w1", "w2"), Set.of("w2"), true, 10 * S).held());
    v = hold.ask("c1", Set.of("w1", "w2"), Set.of("w1", "w2"), true, 20 * S);
    assertFalse(v.held());
    assertEquals(Change.BACK, v.change());
    assertTrue(hold.released("c1"));
    assertEquals(20 * S, v.heldNanos());
    // served now: a worker restarting later does not take it out again (the drain's wait covers that side)
    v = hold.ask("c1", Set.of("w1", "w2"), Set.of("w2"), true, 30 * S);
    assertFalse(v.held());
    assertEquals(Change.NONE, v.change());
  }

  @Test
  void notHeldWithEveryOwnerUpOrNoOwnersOrNoOtherGatewayToServe() {
    assertFalse(hold.ask("c1", Set.of("w1"), Set.of("w1"), true, 0).held());
    assertEquals(Change.NONE, hold.ask("c2", Set.of(), Set.of(), true, 0).change());
    assertFalse(hold.ask("c3", Set.of("w1"), Set.of(), false, 0).held(), "alone in its pool: serve at once");
    assertFalse(hold.ask("c3", Set.of("w1"), Set.of(), true, 1 * S).held(), "decided once: served");
  }

  @Test
  void heldAtMostMax() {
    assertTrue(hold.ask("c1", Set.of("w1"), Set.of(), true, 5 * S).held());
    assertTrue(hold.ask("c1", Set.of("w1"), Set.of(), true, 64 * S).held());
    StartHold.Verdict v = hold.ask("c1", Set.of("w1"), Set.of(), true, 65 * S);
    assertFalse(v.held());
    assertEquals(Change.TIMED_OUT, v.change());
    assertFalse(hold.ask("c1", Set.of("w1"), Set.of(), true, 66 * S).held());
  }

  @Test
  void eachConfigIsDecidedOnItsOwn() {
    assertTrue(hold.ask("c1", Set.of("w1"), Set.of("w2"), true, 0).held());
    assertFalse(hold.ask("c2", Set.of("w2"), Set.of("w2"), true, 0).held());
    assertTrue(hold.ask("c1", Set.of("w1"), Set.of("w2"), true, 1 * S).held());
  }

  @Test
  void letInWhenThePoolsOtherGatewayStopsServing() {
    assertTrue(hold.ask("c1", Set.of("w1"), Set.of(), true, 0).held());
    StartHold.Verdict v = hold.ask("c1", Set.of("w1"), Set.of(), false, 3 * S);
    assertFalse(v.held());
    assertEquals(Change.ALONE, v.change());
    assertFalse(hold.ask("c1", Set.of("w1"), Set.of(), true, 4 * S).held(), "let in for good");
  }
}
