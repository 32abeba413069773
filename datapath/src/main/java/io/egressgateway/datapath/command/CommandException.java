package io.egressgateway.datapath.command;

import java.util.List;

/** A host command failed or timed out; the message names the command line and its stderr (never its stdin). */
public final class CommandException extends RuntimeException {
  private final List<String> command;
  private final int exitCode;
  private final String stderr;

  public CommandException(List<String> command, int exitCode, String stderr) {
    super("`" + String.join(" ", command) + "` " + (exitCode < 0 ? "timed out or could not start" : "exited " + exitCode)
        + (stderr.isBlank() ? "" : ": " + stderr.strip()));
    this.command = List.copyOf(command);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }

  public List<String> command() {
    return command;
  }

  /** The exit code, or -1 when the command timed out or could not be started. */
  public int exitCode() {
    return exitCode;
  }

  public String stderr() {
    return stderr;
  }
}
