package io.egressgateway.datapath.command;

import io.egressgateway.datapath.model.NetnsName;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Runs host commands ({@code ip}, {@code wg}, {@code nft}, ...) with a timeout. Blocking by design: callers
 * run it on a blocking dispatcher, never on an actor thread. Secrets go through stdin, never argv, so that
 * a failure message (command line + stderr) can be logged as is.
 *
 * <p>Owns: nothing beyond the child processes of one call. Persists: nothing. Observes: exit code, stdout,
 * stderr.
 */
public final class CommandRunner {

  /** What a finished command printed. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  private static final ExecutorService PUMPS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "egress-cmd-pump");
    t.setDaemon(true);
    return t;
  });

  private final Duration timeout;
  private final boolean ownSession;
  private final List<String> prefix;

  public CommandRunner(Duration timeout) {
    this(timeout, false, List.of());
  }

  public CommandRunner() {
    this(Duration.ofSeconds(20));
  }

  private CommandRunner(Duration timeout, boolean ownSession, List<String> prefix) {
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("command timeout must be positive: " + timeout);
    }
    this.timeout = timeout;
    this.ownSession = ownSession;
    this.prefix = List.copyOf(prefix);
  }

  /** The same runner with another timeout. */
  public CommandRunner withTimeout(Duration timeout) {
    return new CommandRunner(timeout, ownSession, prefix);
  }

  /**
   * The same runner, its commands each in a session of their own ({@link #inOwnSession}); results and
   * failures still name the command as given.
   */
  public CommandRunner inOwnSessions() {
    return new CommandRunner(timeout, true, prefix);
  }

  /**
   * The same runner, each command run through {@code prefix} (for example {@code nsenter} into a test's
   * stand-in for a container, with that container's capabilities); results and failures still name the
   * command as given.
   */
  public CommandRunner within(List<String> prefix) {
    List<String> all = new ArrayList<>(this.prefix);
    all.addAll(prefix);
    return new CommandRunner(timeout, ownSession, all);
  }

  /** True when commands run elsewhere ({@link #within}): what this process sees directly is not where they act. */
  public boolean runsElsewhere() {
    return !prefix.isEmpty();
  }

  /**
   * {@code argv} in a session of its own ({@code setsid --wait}, which execs in place when it can: the PID
   * stays the one the caller started, and the exit code is the command's). A terminal's Ctrl-C goes to its
   * foreground process group; a command that left that group is not interrupted with its caller, whose
   * clean-up may still need it.
   */
  public static List<String> inOwnSession(List<String> argv) {
    List<String> out = new ArrayList<>(argv.size() + 2);
    out.add("setsid");
    out.add("--wait");
    out.addAll(argv);
    return out;
  }

  /**
   * {@code argv} run inside network namespace {@code netns} ({@code ip netns exec}); null or empty: as is.
   * The name is parsed ({@link NetnsName}) here, whatever checked it before.
   */
  public static List<String> inNetns(String netns, List<String> argv) {
    if (netns == null || netns.isEmpty()) {
      return argv;
    }
    List<String> out = new ArrayList<>(argv.size() + 4);
    out.addAll(List.of("ip", "netns", "exec", NetnsName.parse(netns).value()));
    out.addAll(argv);
    return out;
  }

  /** Runs {@code argv}; fails with {@link CommandException} unless it exits 0. */
  public Result run(List<String> argv) {
    return run(argv, null);
  }

  /** Runs {@code argv} feeding {@code stdin}; fails with {@link CommandException} unless it exits 0. */
  public Result run(List<String> argv, String stdin) {
    Result r = attempt(argv, stdin);
    if (!r.ok()) {
      throw new CommandException(argv, r.exitCode(), r.stderr());
    }
    return r;
  }

  /** Runs {@code argv} and returns its result whatever the exit code (-1: timed out or not startable). */
  public Result attempt(List<String> argv) {
    return attempt(argv, null);
  }

  public Result attempt(List<String> argv, String stdin) {
    requireNoControlCharacters(argv);
    Process p;
    try {
      List<String> full = argv;
      if (!prefix.isEmpty()) {
        full = new ArrayList<>(prefix);
        full.addAll(argv);
      }
      p = new ProcessBuilder(ownSession ? inOwnSession(full) : full).redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))
          : ProcessBuilder.Redirect.PIPE).start();
    } catch (IOException e) {
      return new Result(argv, -1, "", String.valueOf(e.getMessage()));
    }
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()), PUMPS);
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()), PUMPS);
    if (stdin != null) {
      try (OutputStream os = p.getOutputStream()) {
        os.write(stdin.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // the command exited before reading everything; its exit code and stderr tell why
      }
    }
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Result(argv, -1, "", "timed out after " + timeout.toMillis() + " ms");
      }
      return new Result(argv, p.exitValue(), out.get(5, TimeUnit.SECONDS), err.get(5, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      return new Result(argv, -1, "", "interrupted");
    } catch (Exception e) {
      return new Result(argv, -1, "", "output not readable: " + e);
    }
  }

  /**
   * The last line of defence: no argument may carry a control character (a newline, a NUL, an escape).
   * Values are parsed into typed values long before they get here; this only makes sure a path that forgot
   * to is refused instead of run. Fails with {@link IllegalArgumentException}.
   */
  static void requireNoControlCharacters(List<String> argv) {
    if (argv.isEmpty()) {
      throw new IllegalArgumentException("empty command");
    }
    for (String a : argv) {
      if (a == null) {
        throw new IllegalArgumentException("null argument in " + argv.get(0));
      }
      for (int i = 0; i < a.length(); i++) {
        char c = a.charAt(i);
        if (c < 0x20 || c == 0x7f) {
          throw new IllegalArgumentException("argument of " + argv.get(0) + " holds control character 0x"
              + Integer.toHexString(c) + "; refused");
        }
      }
    }
  }

  private static String drain(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
