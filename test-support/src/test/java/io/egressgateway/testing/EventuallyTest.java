package io.egressgateway.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EventuallyTest {

  @Test
  void returnsTheFirstValueThatIsDone() {
    AtomicInteger n = new AtomicInteger();
    assertEquals(3, Eventually.await(Duration.ofSeconds(5), Duration.ofMillis(1), n::incrementAndGet, v -> v >= 3, "three"));
  }

  @Test
  void failsNamingWhatItWaitedForAndTheLastValue() {
    AssertionError e = assertThrows(AssertionError.class,
        () -> Eventually.await(Duration.ofMillis(50), () -> "never", v -> v.equals("done"), "the answer"));
    assertTrue(e.getMessage().contains("the answer") && e.getMessage().contains("last seen: never"), e.getMessage());
  }

  @Test
  void untilPassesRethrowsTheLastFailure() {
    AtomicInteger n = new AtomicInteger();
    Eventually.untilPasses(Duration.ofSeconds(5), () -> assertEquals(2, n.incrementAndGet()));
    AssertionError e = assertThrows(AssertionError.class,
        () -> Eventually.untilPasses(Duration.ofMillis(50), () -> assertEquals("a", "b", "still b")));
    assertTrue(e.getMessage().startsWith("still b"), e.getMessage());
  }
}
