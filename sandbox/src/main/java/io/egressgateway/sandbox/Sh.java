package io.egressgateway.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs host commands for the sandbox; a failure names the command and carries its stderr. */
public final class Sh {
  private static final java.util.concurrent.ExecutorService STDERR_READERS = java.util.concurrent.Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "sh-stderr");
    t.setDaemon(true);
    return t;
  });

  private Sh() {}

  /** Result of one command. */
  public record Result(int exit, String out, String err) {
    public boolean ok() {
      return exit == 0;
    }
  }

  /**
   * {@code cmd} in a session of its own ({@code setsid}, which execs in place: the PID stays the one the
   * sandbox started). A terminal's Ctrl-C goes to its foreground process group; every process the sandbox
   * starts leaves that group, so the signal reaches only the sandbox, whose teardown still needs them.
   */
  public static List<String> ownSession(List<String> cmd) {
    List<String> full = new java.util.ArrayList<>(cmd.size() + 2);
    full.add("setsid");
    full.add("--wait");
    full.addAll(cmd);
    return full;
  }

  public static Result run(List<String> cmd, String stdin, long timeoutSeconds) {
    try {
      Process p = new ProcessBuilder(ownSession(cmd)).redirectErrorStream(false).start();
      if (stdin != null) {
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
      }
      p.getOutputStream().close();
      // stderr on its own thread: a process that fills the stderr pipe before closing stdout would wait for ever
      var errBytes = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return p.getErrorStream().readAllBytes();
        } catch (IOException e) {
          return new byte[0];
        }
      }, STDERR_READERS);
      var out = p.getInputStream().readAllBytes();
      var err = errBytes.join();
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "", "timed out after " + timeoutSeconds + " s");
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + String.join(" ", cmd), e);
    }
  }

  /** Runs {@code cmd} and fails with its stderr if it exits non-zero. */
  public static String must(String... cmd) {
    return mustIn(null, cmd);
  }

  /** Same, inside network namespace {@code ns} (null: the current one), optionally feeding {@code stdin}. */
  public static String mustIn(String ns, String... cmd) {
    return mustWithInput(ns, null, cmd);
  }

  public static String mustWithInput(String ns, String stdin, String... cmd) {
    List<String> full = inNs(ns, cmd);
    Result r = run(full, stdin, 30);
    if (!r.ok()) {
      throw new IllegalStateException("command failed (exit " + r.exit() + "): " + String.join(" ", full) + "\n" + r.err().trim());
    }
    return r.out();
  }

  /** Runs and ignores failure (teardown). */
  public static Result quiet(String ns, String... cmd) {
    return run(inNs(ns, cmd), null, 30);
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

  static List<String> inNs(String ns, String... cmd) {
    List<String> full = new ArrayList<>();
    if (ns != null) {
      full.addAll(List.of("ip", "netns", "exec", ns));
    }
    full.addAll(Arrays.asList(cmd));
    return full;
  }
}
