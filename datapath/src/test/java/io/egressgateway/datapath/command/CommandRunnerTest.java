package io.egressgateway.datapath.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The runner's contract with plain shell commands (no privileges needed). */
class CommandRunnerTest {
  private final CommandRunner runner = new CommandRunner(Duration.ofSeconds(10));

  /** The command's PID and session id, as the kernel tells them ({@code /proc/PID/stat}, fields 1 and 6). */
  private static final List<String> PID_AND_SESSION = List.of("sh", "-c", "read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; echo $pid $sid");

  @Test
  void capturesStdoutStderrAndExitCodeAndFeedsStdin() {
    CommandRunner.Result r = runner.attempt(List.of("sh", "-c", "cat; echo oops >&2; exit 3"), "hello");
    assertEquals(3, r.exitCode());
    assertEquals("hello", r.stdout());
    assertEquals("oops\n", r.stderr());
    assertEquals("hello", runner.run(List.of("cat"), "hello").stdout());
  }

  @Test
  void aFailureNamesTheCommandAndItsStderr() {
    CommandException e = assertThrows(CommandException.class, () -> runner.run(List.of("sh", "-c", "echo bad thing >&2; exit 4")));
    assertEquals(4, e.exitCode());
    assertEquals("`sh -c echo bad thing >&2; exit 4` exited 4: bad thing", e.getMessage());
  }

  @Test
  void aCommandThatCannotStartIsAResultNotAnException() {
    CommandRunner.Result r = runner.attempt(List.of("/nonexistent/program"));
    assertEquals(-1, r.exitCode());
    assertTrue(r.stderr().contains("/nonexistent/program"), r.stderr());
  }

  @Test
  void aCommandPastItsTimeoutIsStopped() {
    long t0 = System.nanoTime();
    CommandRunner.Result r = runner.withTimeout(Duration.ofMillis(300)).attempt(List.of("sleep", "30"));
    assertEquals(-1, r.exitCode());
    assertEquals("timed out after 300 ms", r.stderr());
    assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "the runner did not wait for the command");
  }

  @Test
  void ownSessionsRunEachCommandAsTheLeaderOfANewSession() {
    String[] plain = runner.run(PID_AND_SESSION).stdout().trim().split(" ");
    assertNotEquals(plain[0], plain[1], "a plain command stays in its caller's session");
    CommandRunner.Result r = runner.inOwnSessions().run(PID_AND_SESSION);
    String[] own = r.stdout().trim().split(" ");
    assertEquals(own[0], own[1], "the command leads a session of its own");
    assertEquals(PID_AND_SESSION, r.command(), "the result names the command as given");
    assertEquals(5, runner.inOwnSessions().attempt(List.of("sh", "-c", "exit 5")).exitCode(), "setsid --wait passes the exit code on");
  }

  @Test
  void refusesControlCharactersInArguments() {
    assertThrows(IllegalArgumentException.class, () -> runner.attempt(List.of("echo", "a\nb")));
  }
}
