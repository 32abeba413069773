package io.egressgateway.sandbox;

import io.egressgateway.core.journal.Journal;
import io.egressgateway.datapath.command.CommandRunner;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What an earlier sandbox run left on this machine when it could not tear down (killed, the machine's
 * session ended, Ctrl-C pressed twice during start-up): its member containers, the processes its lab
 * started, the PostgreSQL of its journal, the mounts of its nodes' directories and its {@code egs-*}
 * namespaces. A start removes them first and says what it removed; {@code ./egress sandbox --clean} only
 * does that. A sandbox that is still running is never touched: the start is refused instead.
 *
 * <p>Everything is found by what the sandbox itself recorded or named: the state directory, the PIDs its
 * lab noted (with their start times), the podman label of its containers, its namespace prefix.
 */
final class Leftovers {
  /** The running sandbox's PID (and start time), in the state directory. */
  static final String OWNER_FILE = "sandbox.pid";
  static final String PIDS_DIR = "pids";
  static final String JOURNAL_DIR = "journal";

  private final Path stateDir;
  private final String nsPrefix;
  private final Podman podman;
  private final String containerLabel;
  private final PrintStream out;

  /** {@code containerLabel}: the podman label the run's containers carry ({@link Podman#LABEL}). */
  Leftovers(Path stateDir, String nsPrefix, Podman podman, String containerLabel, PrintStream out) {
    this.stateDir = stateDir;
    this.nsPrefix = nsPrefix;
    this.podman = podman;
    this.containerLabel = containerLabel;
    this.out = out;
  }

  /** The sandbox that owns the state directory now, if it is another live process. */
  Optional<ProcessHandle> runningSandbox() {
    Path f = stateDir.resolve(OWNER_FILE);
    try {
      if (!Files.isRegularFile(f)) {
        return Optional.empty();
      }
      String[] s = Files.readString(f).trim().split(" ", 2);
      String started = s.length > 1 ? s[1] : "";
      return ProcessHandle.of(Long.parseLong(s[0]))
          .filter(h -> h.pid() != ProcessHandle.current().pid())
          .filter(h -> h.info().startInstant().map(Object::toString).orElse("").equals(started));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Marks the state directory as this process's (after {@link #clean}). */
  void claim() {
    ProcessHandle self = ProcessHandle.current();
    try {
      Files.createDirectories(stateDir);
      Files.writeString(stateDir.resolve(OWNER_FILE), self.pid() + " " + self.info().startInstant().map(Object::toString).orElse(""));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + stateDir.resolve(OWNER_FILE), e);
    }
  }

  /** Gives the state directory up (end of teardown). */
  void release() {
    try {
      Files.deleteIfExists(stateDir.resolve(OWNER_FILE));
    } catch (IOException e) {
      out.println("could not remove " + stateDir.resolve(OWNER_FILE) + ": " + e.getMessage());
    }
  }

  /**
   * Removes what an earlier run left; returns what it found (empty: nothing). Refuses, with an
   * {@link IllegalStateException}, while another sandbox is running.
   */
  List<String> clean() {
    runningSandbox().ifPresent(h -> {
      throw new IllegalStateException("another sandbox is running (pid " + h.pid() + "); stop it first (Ctrl-C, or kill "
          + h.pid() + ")");
    });
    List<String> found = new ArrayList<>();
    // containers first: they run in the nodes' namespaces and hold mounts of the nodes' directories
    for (String c : podman.labelled(containerLabel)) {
      podman.remove(c);
      found.add("container " + c);
    }
    found.addAll(NetLab.stopRecorded(stateDir.resolve(PIDS_DIR)));
    for (String ns : NetLab.existingNamespaces(nsPrefix)) {
      // whatever still runs inside a namespace of ours was started by a sandbox run (socat stand-ins, wireguard-go)
      for (String pid : Sh.quiet(null, "ip", "netns", "pids", ns).stdout().split("\\s+")) {
        if (pid.matches("[0-9]{1,10}")) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
          found.add("process " + pid + " in namespace " + ns);
        }
      }
    }
    // the benchmark's cpuacct groups (the processes still in them, if any, go back to the root group)
    found.addAll(CpuGroup.removeLeftovers(CpuGroup.ROOT, nsPrefix));
    Path journal = stateDir.resolve(JOURNAL_DIR);
    if (Files.isDirectory(journal)) {
      boolean running = Files.exists(journal.resolve("pgdata/postmaster.pid"));
      if (!Journal.stopLeftoverServer(journal)) {
        throw new IllegalStateException("the PostgreSQL server of an earlier run on " + journal + " does not stop");
      }
      if (running) {
        found.add("journal server on " + journal);
      }
    }
    List<String> mounts = NodeHost.mountsUnder(stateDir);
    for (String m : mounts) {
      Sh.quiet(null, "umount", "--lazy", m);
      found.add("mount " + m);
    }
    for (String ns : NetLab.existingNamespaces(nsPrefix)) {
      CommandRunner.Result r = Sh.quiet(null, "ip", "netns", "delete", ns);
      if (!r.ok()) {
        throw new IllegalStateException("cannot delete namespace " + ns + " left by an earlier run: " + r.stderr().trim());
      }
      found.add("namespace " + ns);
    }
    for (String dir : List.of("nodes", "pods", JOURNAL_DIR)) {
      deleteTree(stateDir.resolve(dir));
    }
    // wg forgets the UAPI sockets of wireguard-go processes that are gone
    Sh.quiet(null, "wg", "show", "interfaces");
    if (!found.isEmpty()) {
      out.println("removed what an earlier sandbox run left behind: " + String.join(", ", found));
    }
    return found;
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir) || !NodeHost.mountsUnder(dir).isEmpty()) {
      return;
    }
    try (var s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir, e);
    }
  }
}
