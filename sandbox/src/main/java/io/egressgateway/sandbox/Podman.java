package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Podman as the sandbox's node runtimes run it: runc with the cgroupfs manager and no rlimits of its own
 * ({@code docker/containers.conf}, passed as {@code CONTAINERS_CONF}, as {@code ./egress image} does).
 * Remembers every container it created, and stops and removes only those, by id.
 */
final class Podman {
  private static final Logger log = LoggerFactory.getLogger(Podman.class);
  /** Label on every container the sandbox creates (its value: the run's lab work directory). */
  static final String LABEL = "io.egressgateway.sandbox";

  private final Path containersConf;
  private final Set<String> created = ConcurrentHashMap.newKeySet();

  Podman(Path containersConf) {
    if (!Files.isRegularFile(containersConf)) {
      throw new IllegalStateException("podman settings not found: " + containersConf);
    }
    this.containersConf = containersConf;
  }

  /** The repository's {@code docker/containers.conf} (property {@code egress.root}, default: the working directory). */
  static Podman forRepository() {
    return new Podman(Path.of(System.getProperty("egress.root", ".")).resolve("docker/containers.conf").toAbsolutePath());
  }

  /** Whether podman runs here at all (the binary is there and answers). */
  static boolean available() {
    return Sh.run(List.of("sh", "-c", "command -v podman && command -v runc"), null, 10).ok();
  }

  /** {@code podman run -d ARGS}; the new container's id. */
  String runDetached(List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("run", "-d"));
    cmd.addAll(args);
    CommandRunner.Result r = podman(cmd, 120);
    String id = r.stdout().trim();
    if (!id.isEmpty() && id.matches("[0-9a-f]{64}")) {
      created.add(id);
    } else {
      // a container can be created and still fail to start: find it by name to remove it later
      nameIn(args).map(n -> podman(List.of("inspect", "--format", "{{.Id}}", n), 30).stdout().trim())
          .filter(s -> s.matches("[0-9a-f]{64}")).ifPresent(created::add);
    }
    if (!r.ok()) {
      throw new IllegalStateException("podman run failed (exit " + r.exitCode() + "): " + (r.stderr() + r.stdout()).trim());
    }
    return id;
  }

  private static java.util.Optional<String> nameIn(List<String> args) {
    int i = args.indexOf("--name");
    return i >= 0 && i + 1 < args.size() ? java.util.Optional.of(args.get(i + 1)) : java.util.Optional.empty();
  }

  /**
   * Completes with the exit code when container {@code id} has stopped ({@code podman wait}, polling each
   * second); -1 when that cannot be told.
   */
  CompletableFuture<Integer> whenExited(String id) {
    try {
      Process p = new ProcessBuilder(CommandRunner.inOwnSession(command(List.of("wait", "--interval", "1s", id))))
          .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      return p.onExit().thenApply(done -> {
        try {
          String out = new String(done.getInputStream().readAllBytes()).trim();
          return Integer.parseInt(out.lines().reduce((a, b) -> b).orElse("-1").trim());
        } catch (java.io.IOException | NumberFormatException e) {
          return -1;
        }
      });
    } catch (java.io.IOException e) {
      return CompletableFuture.completedFuture(-1);
    }
  }

  /** {@code podman exec}; the result (exit 126/127 and stderr when the command cannot run). */
  CommandRunner.Result exec(String id, List<String> cmd, long timeoutSeconds) {
    List<String> args = new ArrayList<>(List.of("exec", id));
    args.addAll(cmd);
    return podman(args, timeoutSeconds);
  }

  /** SIGTERM (the image's stop signal), SIGKILL after {@code graceSeconds}. */
  void stop(String id, long graceSeconds) {
    CommandRunner.Result r = podman(List.of("stop", "--time", Long.toString(Math.max(0, graceSeconds)), id), graceSeconds + 60);
    if (!r.ok()) {
      log.warn("podman stop {}: {}", id.substring(0, 12), r.stderr().trim());
    }
  }

  /** Removes a container this object created (stopping it first, without grace, if it still runs). */
  void remove(String id) {
    if (!created.contains(id)) {
      throw new IllegalArgumentException("container " + id + " was not created by this sandbox");
    }
    CommandRunner.Result r = podman(List.of("rm", "--force", "--time", "0", id), 90);
    if (r.ok() || r.stderr().contains("no such container")) {
      created.remove(id);
    } else {
      log.warn("podman rm {}: {}", id.substring(0, 12), r.stderr().trim());
    }
  }

  /** Writes the container's output (stdout and stderr, as {@code podman logs} has it) to {@code file}. */
  void saveLogs(String id, Path file) {
    try {
      Process p = new ProcessBuilder(CommandRunner.inOwnSession(command(List.of("logs", id)))).redirectErrorStream(true)
          .redirectOutput(file.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (java.io.IOException e) {
      log.warn("cannot save the logs of {}: {}", id.substring(0, 12), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The image's id, size in bytes and default user ({@code id}, {@code size}, {@code user}); empty when absent. */
  Map<String, String> image(String ref) {
    CommandRunner.Result r = podman(List.of("image", "inspect", "--format", "{{.Id}} {{.Size}} {{.Config.User}}", ref), 30);
    if (!r.ok()) {
      return Map.of();
    }
    String[] f = r.stdout().trim().split(" ", 3);
    return Map.of("id", f[0], "size", f.length > 1 ? f[1] : "", "user", f.length > 2 ? f[2].trim() : "");
  }

  /** Containers created here and not removed yet. */
  List<String> remaining() {
    return List.copyOf(created);
  }

  /**
   * Containers on this machine that carry {@code label} (any value): what sandbox runs created, also runs
   * that are gone. They become this object's to remove.
   */
  List<String> labelled(String label) {
    CommandRunner.Result r = podman(List.of("ps", "--all", "--no-trunc", "--filter", "label=" + label, "--format", "{{.ID}}"), 60);
    if (!r.ok()) {
      throw new IllegalStateException("podman ps failed (exit " + r.exitCode() + "): " + r.stderr().trim());
    }
    List<String> ids = r.stdout().lines().map(String::trim).filter(l -> l.matches("[0-9a-f]{64}")).toList();
    created.addAll(ids);
    return ids;
  }

  /** Containers on this machine with {@code label} that exist (running or not), without taking them over. */
  List<String> running(String label) {
    CommandRunner.Result r = podman(List.of("ps", "--all", "--no-trunc", "--filter", "label=" + label, "--format", "{{.ID}} {{.Names}}"), 60);
    return r.stdout().lines().map(String::trim).filter(l -> !l.isEmpty()).toList();
  }

  /** {@code podman tag SOURCE TARGET}: another name for the same image. */
  void tag(String source, String target) {
    CommandRunner.Result r = podman(List.of("tag", source, target), 60);
    if (!r.ok()) {
      throw new IllegalStateException("podman tag " + source + " " + target + " failed: " + r.stderr().trim());
    }
  }

  /** {@code podman untag IMAGE NAME}: drops one name of an image (the image stays under its others). */
  void untag(String image, String name) {
    CommandRunner.Result r = podman(List.of("untag", image, name), 60);
    if (!r.ok()) {
      log.warn("podman untag {}: {}", name, r.stderr().trim());
    }
  }

  /**
   * {@code podman kill --signal TERM}: to the container's main process only, as the kubelet's runtime
   * (containerd, CRI-O) sends a container's stop signal. {@link #stop} would send it to every process of a
   * container that has no PID namespace of its own (hostPID: the gateway, the worker), so their children
   * (the gateway's wireguard-go) would end at once, while on a node they run until the main process exits.
   */
  void terminate(String id) {
    CommandRunner.Result r = podman(List.of("kill", "--signal", "TERM", id), 30);
    if (!r.ok()) {
      log.warn("podman kill --signal TERM {}: {}", id.substring(0, 12), r.stderr().trim());
    }
  }

  /** {@code podman kill --signal KILL}: the container's processes end at once, the container stays (exited). */
  void kill(String id) {
    CommandRunner.Result r = podman(List.of("kill", "--signal", "KILL", id), 30);
    if (!r.ok()) {
      throw new IllegalStateException("podman kill " + id.substring(0, 12) + " failed: " + r.stderr().trim());
    }
  }

  /** Removes every container created here (teardown). */
  void removeAll() {
    for (String id : remaining()) {
      remove(id);
    }
  }

  private CommandRunner.Result podman(List<String> args, long timeoutSeconds) {
    return Sh.run(command(args), null, timeoutSeconds);
  }

  private List<String> command(List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("env", "CONTAINERS_CONF=" + containersConf, "podman"));
    cmd.addAll(args);
    return cmd;
  }
}
