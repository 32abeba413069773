package io.egressgateway.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The tests' one way to wait for something: read a value until it is what the test expects, or fail with
 * what it was waiting for and the last value read. Tests never sleep a fixed time; a test that must show
 * that something did not happen asks for a state that proves it (a counter, a probe's
 * {@code expectNoMessage}, Akka's {@code ManualTime}) instead of waiting and looking.
 */
public final class Eventually {
  /** How often a condition is read again. */
  public static final Duration EVERY = Duration.ofMillis(20);

  private Eventually() {}

  /** Waits until {@code condition} holds; fails after {@code timeout} naming {@code what}. */
  public static void await(Duration timeout, BooleanSupplier condition, String what) {
    await(timeout, EVERY, () -> condition.getAsBoolean(), done -> done, what);
  }

  /**
   * Reads {@code value} every {@code every} until {@code done} holds for it; returns that value, or fails
   * after {@code timeout} naming {@code what} and the last value read.
   */
  public static <T> T await(Duration timeout, Duration every, Supplier<T> value, Predicate<? super T> done, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T v = value.get();
    while (!done.test(v)) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what + " (last seen: " + v + ")");
      }
      pause(every);
      v = value.get();
    }
    return v;
  }

  /** Same, read every {@link #EVERY}. */
  public static <T> T await(Duration timeout, Supplier<T> value, Predicate<? super T> done, String what) {
    return await(timeout, EVERY, value, done, what);
  }

  /** Waits until {@code assertion} passes; after {@code timeout} its last failure is thrown. */
  public static void untilPasses(Duration timeout, Runnable assertion) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() - deadline > 0) {
          throw e;
        }
      }
      pause(EVERY);
    }
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting", e);
    }
  }
}
