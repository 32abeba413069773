package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import java.time.Duration;
import java.util.List;

/**
 * The sandbox's short forms for host commands, run by the project's {@link CommandRunner}: each in a
 * session of its own ({@link CommandRunner#inOwnSession}: a terminal's Ctrl-C reaches only the sandbox,
 * whose teardown still needs them), 30 s unless told otherwise; a failure names the command and carries
 * its stderr ({@link CommandException}).
 */
public final class Sh {
  private static final CommandRunner RUNNER = new CommandRunner(Duration.ofSeconds(30)).inOwnSessions();

  private Sh() {}

  /**
   * Runs {@code cmd} feeding {@code stdin} (null: none), for at most {@code timeoutSeconds} (at least one);
   * its result whatever the exit code (-1: timed out or not startable).
   */
  public static CommandRunner.Result run(List<String> cmd, String stdin, long timeoutSeconds) {
    return RUNNER.withTimeout(Duration.ofSeconds(Math.max(1, timeoutSeconds))).attempt(cmd, stdin);
  }

  /** Runs {@code cmd}; its stdout, or a {@link CommandException} if it exits non-zero. */
  public static String must(String... cmd) {
    return mustIn(null, cmd);
  }

  /** Same, inside network namespace {@code ns} (null: the current one). */
  public static String mustIn(String ns, String... cmd) {
    return mustWithInput(ns, null, cmd);
  }

  /** Same, feeding {@code stdin}. */
  public static String mustWithInput(String ns, String stdin, String... cmd) {
    return RUNNER.run(inNs(ns, cmd), stdin).stdout();
  }

  /** Runs and ignores failure (teardown, probes): the result. */
  public static CommandRunner.Result quiet(String ns, String... cmd) {
    return RUNNER.attempt(inNs(ns, cmd));
  }

  /** Waits {@code ms}; an interrupt ends the wait early and stays set for the caller to see. */
  public static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Reads {@code value} every {@code everyMs} until {@code done} holds for it or {@code timeout} has passed;
   * returns the last value read.
   */
  public static <T> T poll(java.util.function.Supplier<T> value, java.util.function.Predicate<T> done,
      java.time.Duration timeout, long everyMs) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T v = value.get();
    while (!done.test(v) && System.nanoTime() < deadline) {
      sleep(everyMs);
      v = value.get();
    }
    return v;
  }

  /** {@code cmd} inside network namespace {@code ns} (null: as is). */
  static List<String> inNs(String ns, String... cmd) {
    return CommandRunner.inNetns(ns, List.of(cmd));
  }
}
