package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import io.egressgateway.datapath.command.CommandRunner;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * The namespaces and processes one privileged test owns, under a random prefix; {@link #close()} removes
 * all of them (processes by the PID we started, namespaces newest first), also after a failure. Nothing is
 * added to the root namespace.
 */
final class Lab implements AutoCloseable {
  private static final List<String> TOOLS = List.of("ip", "wg", "wireguard-go", "nft", "curl", "socat");

  final String prefix = "p" + UUID.randomUUID().toString().replace("-", "").substring(0, 4);
  final CommandRunner cmd = new CommandRunner();
  final Path dir;
  private final Deque<String> namespaces = new ArrayDeque<>();
  private final List<Process> processes = new ArrayList<>();

  Lab() throws IOException {
    dir = Files.createTempDirectory("pod-e2e-" + prefix);
  }

  /** Root, tools, TUN and the Debian CNI plugins; missing ones skip locally and fail under CI=true. */
  static void requirePrerequisites() {
    StringBuilder missing = new StringBuilder();
    if (!"root".equals(System.getProperty("user.name"))) {
      missing.append("not root; ");
    }
    for (String t : TOOLS) {
      boolean found = List.of("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/").stream().anyMatch(d -> Files.isExecutable(Path.of(d + t)));
      if (!found) {
        missing.append(t).append(" not installed; ");
      }
    }
    for (String p : List.of("/dev/net/tun", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local")) {
      if (!Files.exists(Path.of(p))) {
        missing.append(p).append(" missing; ");
      }
    }
    if (missing.isEmpty()) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("privileged test prerequisite missing under CI=true: " + missing);
    }
    Assumptions.abort("privileged test skipped: " + missing);
  }

  String ns(String name) {
    String full = prefix + "-" + name;
    cmd.run(List.of("ip", "netns", "add", full));
    namespaces.push(full);
    cmd.run(List.of("ip", "-n", full, "link", "set", "lo", "up"));
    return full;
  }

  String in(String ns, String... argv) {
    return cmd.run(CommandRunner.inNetns(ns, List.of(argv))).stdout();
  }

  String ip(String ns, String... args) {
    List<String> a = new ArrayList<>(List.of("ip", "-n", ns));
    a.addAll(List.of(args));
    return cmd.run(a).stdout();
  }

  Process spawn(String ns, List<String> argv) throws IOException {
    Process p = new ProcessBuilder(CommandRunner.inNetns(ns, argv))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    processes.add(p);
    return p;
  }

  boolean exists(String ns) {
    return Files.exists(Path.of("/var/run/netns", ns));
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    while (!namespaces.isEmpty()) {
      cmd.attempt(List.of("ip", "netns", "del", namespaces.pop()));
    }
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a leftover temp dir is harmless
    }
  }
}
