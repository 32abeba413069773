package io.egressgateway.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A cgroup (v1) of the {@code cpuacct} controller that the sandbox makes for one kind of program (the egress
 * CNI plugin, the other CNI plugins, the floor script), so that their CPU time is counted apart, children
 * included: a program joins it by writing its PID to the group's {@code cgroup.procs} before it execs
 * ({@link #wrap}). {@link #close} moves anything still in it to the root group and removes it.
 */
final class CpuGroup implements AutoCloseable {
  /** Where this machine mounts the cpuacct hierarchy. */
  static final Path ROOT = Path.of("/sys/fs/cgroup/cpuacct");
  /** What the sandbox's groups are named after its prefix: {@code PREFIX-bench-KIND} ({@link #removeLeftovers}). */
  static final String INFIX = "-bench-";

  private final Path root;
  private final Path dir;

  private CpuGroup(Path root, Path dir) {
    this.root = root;
    this.dir = dir;
  }

  /** Whether {@code root} is a cpuacct hierarchy this process can read. */
  static boolean available(Path root) {
    return Files.isReadable(root.resolve("cpuacct.usage")) && Files.isWritable(root.resolve("cgroup.procs"));
  }

  /** Makes (or takes over) group {@code PREFIX-bench-KIND} under {@code root}. */
  static CpuGroup create(Path root, String prefix, String kind) {
    String name = prefix + INFIX + kind;
    if (!name.matches("[a-z0-9-]{1,60}")) {
      throw new IllegalArgumentException("bad cgroup name: " + name);
    }
    Path dir = root.resolve(name);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot make cgroup " + dir, e);
    }
    if (!Files.exists(dir.resolve("cpuacct.usage"))) {
      throw new IllegalStateException(dir + " is no cpuacct cgroup (no cpuacct.usage)");
    }
    return new CpuGroup(root, dir);
  }

  Path dir() {
    return dir;
  }

  /** The file a process writes its PID to, to join the group. */
  Path procs() {
    return dir.resolve("cgroup.procs");
  }

  /** CPU time the group's processes (and their children) used since it was made, in ns. */
  long usageNanos() {
    return CpuAccounting.usageNanos(dir);
  }

  /** {@code cmd} started so that it runs in this group: a shell joins it, then execs {@code cmd}. */
  List<String> wrap(List<String> cmd) {
    List<String> full = new ArrayList<>(List.of("/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", procs().toString()));
    full.addAll(cmd);
    return full;
  }

  /** Moves what still runs in the group to the root group, then removes it; idempotent. */
  @Override
  public void close() {
    remove(root, dir);
  }

  /** Removes the groups an earlier run with {@code prefix} left under {@code root}; what it removed. */
  static List<String> removeLeftovers(Path root, String prefix) {
    List<String> removed = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return removed;
    }
    try (var dirs = Files.list(root)) {
      for (Path d : dirs.filter(d -> d.getFileName().toString().startsWith(prefix + INFIX) && Files.isDirectory(d)).toList()) {
        remove(root, d);
        removed.add("cgroup " + d);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
    return removed;
  }

  private static void remove(Path root, Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
      try {
        for (String pid : Files.readAllLines(dir.resolve("cgroup.procs"))) {
          if (!pid.isBlank()) {
            try {
              Files.writeString(root.resolve("cgroup.procs"), pid.trim());
            } catch (IOException gone) {
              // it ended meanwhile
            }
          }
        }
        Files.delete(dir); // rmdir of a cgroup: its control files go with it
        return;
      } catch (java.nio.file.NoSuchFileException e) {
        return;
      } catch (IOException e) {
        Sh.sleep(50); // a process that was forking as we moved the others: once more
      }
    }
    throw new IllegalStateException("cannot remove cgroup " + dir + " (processes keep joining it)");
  }
}
