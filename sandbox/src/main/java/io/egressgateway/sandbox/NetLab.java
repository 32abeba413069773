package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns every network namespace and background process the sandbox (or a test) creates, under one name
 * prefix, and removes all of them on {@link #close()}, also after a failure half-way. Processes are stopped
 * by the PID this object started, never by name. Nothing is added to the root namespace.
 */
public final class NetLab implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetLab.class);

  private final String prefix;
  private final Path workDir;
  private final Deque<String> namespaces = new ArrayDeque<>();
  private final List<Process> processes = new ArrayList<>();
  /** Where each started process is noted (PID and start time), so a later run can stop what a killed one left; null: nowhere. */
  private final Path pidDir;

  public NetLab(String prefix) {
    this(prefix, null);
  }

  /**
   * A lab that notes every process it starts in {@code pidDir} (one file per PID holding its start time),
   * for {@link #stopRecorded} in a later run when this one was killed before its {@link #close()}.
   */
  public NetLab(String prefix, Path pidDir) {
    this.pidDir = pidDir;
    if (!prefix.matches("[a-z][a-z0-9]{1,5}")) {
      throw new IllegalArgumentException("prefix must be 2-6 lowercase letters/digits: " + prefix);
    }
    this.prefix = prefix;
    try {
      this.workDir = Files.createTempDirectory("netlab-" + prefix + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String prefix() {
    return prefix;
  }

  public Path workDir() {
    return workDir;
  }

  /** The full namespace name for a short {@code name}. */
  public String nsName(String name) {
    return prefix + "-" + name;
  }

  /** Creates namespace {@code prefix-name} with loopback up; returns its full name. */
  public synchronized String addNamespace(String name) {
    String ns = nsName(name);
    Sh.must("ip", "netns", "add", ns);
    namespaces.push(ns);
    Sh.must("ip", "-n", ns, "link", "set", "lo", "up");
    return ns;
  }

  /** Deletes one namespace created here (full name), e.g. a pod's on CNI DEL. */
  public synchronized void removeNamespace(String ns) {
    if (namespaces.remove(ns)) {
      CommandRunner.Result r = Sh.quiet(null, "ip", "netns", "del", ns);
      if (!r.ok()) {
        log.warn("could not delete namespace {}: {}", ns, r.stderr().trim());
      }
    }
  }

  /** Namespaces created here that still exist, newest first. */
  public synchronized List<String> namespaces() {
    return List.copyOf(namespaces);
  }

  /** Starts {@code cmd} inside {@code ns} (null: here) in the background; output goes to a log file. */
  public synchronized Process spawn(String name, String ns, List<String> cmd) {
    List<String> full = Sh.inNs(ns, cmd.toArray(String[]::new));
    try {
      Path logFile = workDir.resolve(name + ".log");
      Process p = new ProcessBuilder(CommandRunner.inOwnSession(full))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      processes.add(p);
      note(p.toHandle());
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + String.join(" ", full), e);
    }
  }

  private void note(ProcessHandle h) {
    if (pidDir == null) {
      return;
    }
    try {
      Files.createDirectories(pidDir);
      Files.writeString(pidDir.resolve(Long.toString(h.pid())), h.info().startInstant().map(Object::toString).orElse(""));
    } catch (IOException e) {
      log.warn("could not note process {} in {}: {}", h.pid(), pidDir, e.getMessage());
    }
  }

  /**
   * Stops the processes noted in {@code pidDir} by an earlier lab that are still running (the same PID with
   * the same start time, so a reused PID is never hit), with their descendants, and empties the directory;
   * returns what was stopped.
   */
  public static List<String> stopRecorded(Path pidDir) {
    List<String> stopped = new ArrayList<>();
    if (!Files.isDirectory(pidDir)) {
      return stopped;
    }
    try (var files = Files.list(pidDir)) {
      for (Path f : files.toList()) {
        String name = f.getFileName().toString();
        if (name.matches("[0-9]{1,10}")) {
          String started = Files.readString(f).trim();
          ProcessHandle.of(Long.parseLong(name))
              .filter(h -> !started.isEmpty() && h.info().startInstant().map(Object::toString).orElse("").equals(started))
              .ifPresent(h -> {
                h.descendants().forEach(ProcessHandle::destroyForcibly);
                h.destroyForcibly();
                stopped.add("process " + h.pid() + " (" + h.info().command().orElse("?") + ")");
              });
        }
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      log.warn("could not read {}: {}", pidDir, e.getMessage());
    }
    return stopped;
  }

  /** Writes an executable helper script into the work directory. */
  public Path script(String name, String body) {
    try {
      Path p = workDir.resolve(name);
      Files.writeString(p, body);
      p.toFile().setExecutable(true, true);
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** PIDs of live processes started here (including their descendants). */
  public synchronized List<Long> livePids() {
    List<Long> pids = new ArrayList<>();
    for (Process p : processes) {
      p.toHandle().descendants().filter(ProcessHandle::isAlive).forEach(h -> pids.add(h.pid()));
      if (p.isAlive()) {
        pids.add(p.pid());
      }
    }
    return pids;
  }

  /** Stops the processes (TERM, then KILL) and deletes the namespaces, newest first. Idempotent. */
  @Override
  public synchronized void close() {
    List<ProcessHandle> children = new ArrayList<>();
    for (Process p : processes) {
      List<ProcessHandle> tree = p.toHandle().descendants().toList();
      tree.forEach(ProcessHandle::destroy);
      children.addAll(tree);
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(3, TimeUnit.SECONDS)) {
          p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    // a forked child (socat's per-connection handler) can outlive its parent's TERM; once the parent is gone it
    // is no longer its descendant, so it is ended from the list taken before
    children.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    processes.clear();
    if (pidDir != null) {
      stopRecorded(pidDir);
    }
    while (!namespaces.isEmpty()) {
      String ns = namespaces.pop();
      CommandRunner.Result r = Sh.quiet(null, "ip", "netns", "del", ns);
      if (!r.ok()) {
        log.warn("could not delete namespace {}: {}", ns, r.stderr().trim());
      }
    }
    try (var s = Files.walk(workDir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      log.warn("could not remove {}: {}", workDir, e.getMessage());
    }
  }

  /** Namespaces on this host whose name starts with this lab's prefix (for leftover checks). */
  public List<String> existingNamespaces() {
    return existingNamespaces(prefix);
  }

  /** Namespaces on this host whose name starts with {@code prefix-} (also those of a lab that is gone). */
  public static List<String> existingNamespaces(String prefix) {
    String out = Sh.quiet(null, "ip", "netns", "list").stdout();
    List<String> found = new ArrayList<>();
    for (String line : out.split("\n")) {
      String n = line.split(" ")[0].trim();
      if (n.startsWith(prefix + "-")) {
        found.add(n);
      }
    }
    return found;
  }
}
