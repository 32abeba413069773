package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.datapath.command.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The floor of a pod ADD ({@code floor.sh}, a resource of this jar): a plain script that does, for N pods
 * {@code batch} at a time, what a pod's egress needs without the product (namespace, the real ptp and
 * host-local plugins, a wireguard-go device moved into the pod, its routes, its peer on a gateway, the first
 * packet through the tunnel), in a cpuacct group of its own. Reports its CPU per pod and latency.
 */
final class Floor {
  /** One pod of the floor: ms from its start to the first reply through the tunnel, to its routes in place. */
  record Pod(int index, long readyMs, long addMs, boolean ok, String error) {}

  /** What a floor run measured: the pods, the CPU of the run phase (ns) and how long it took. */
  record Result(List<Pod> pods, long cpuNanos, long wallMs, String error) {
    long okCount() {
      return pods.stream().filter(Pod::ok).count();
    }

    long cpuNanosPerPod() {
      return pods.isEmpty() ? -1 : cpuNanos / pods.size();
    }

    ObjectNode report() {
      ObjectNode o = new ObjectMapper().createObjectNode();
      List<Long> ready = new ArrayList<>(pods.stream().filter(Pod::ok).map(Pod::readyMs).sorted().toList());
      List<Long> add = new ArrayList<>(pods.stream().filter(Pod::ok).map(Pod::addMs).sorted().toList());
      o.put("pods", pods.size()).put("ok", okCount()).put("wallMs", wallMs).put("cpuMsPerPod", CpuAccounting.ms(cpuNanos, Math.max(1, pods.size())));
      if (!ready.isEmpty()) {
        o.put("p50Ms", Bench.pct(ready, 50)).put("p99Ms", Bench.pct(ready, 99)).put("maxMs", ready.get(ready.size() - 1));
        o.put("setupP50Ms", Bench.pct(add, 50)).put("setupP99Ms", Bench.pct(add, 99));
      }
      var errors = o.putArray("errors");
      if (!error.isEmpty()) {
        errors.add(error);
      }
      pods.stream().filter(p -> !p.ok()).limit(5).forEach(p -> errors.add("pod " + p.index() + ": " + p.error()));
      return o;
    }
  }

  private Floor() {}

  /** Parses the script's "floor-pod I READY_MS ADD_MS ok|failed WHY" lines. */
  static List<Pod> parse(String stdout) {
    List<Pod> pods = new ArrayList<>();
    for (String line : stdout.split("\n")) {
      String[] f = line.trim().split(" ", 6);
      if (f.length >= 5 && f[0].equals("floor-pod")) {
        pods.add(new Pod(Integer.parseInt(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), f[4].equals("ok"),
            f.length > 5 ? f[5].trim() : ""));
      }
    }
    return pods;
  }

  /** {@link #run(CpuGroup, Path, String, int, int, String, String)} with the sandbox's names (egs-floor-*, egsf*). */
  static Result run(CpuGroup group, Path workDir, String cniBin, int pods, int batch) {
    return run(group, workDir, cniBin, pods, batch, Sandbox.NS_PREFIX + "-floor", "egsf");
  }

  /**
   * Runs the floor for {@code pods} pods, {@code batch} at a time, in group {@code group}, with the CNI
   * plugins of {@code cniBin}; work files under {@code workDir}; its namespaces named {@code nsPrefix-*},
   * its links {@code devPrefix*} (at most 5 characters). Always tears down what it made.
   */
  static Result run(CpuGroup group, Path workDir, String cniBin, int pods, int batch, String nsPrefix, String devPrefix) {
    if (!devPrefix.matches("[a-z]{1,5}") || !nsPrefix.matches("[a-z0-9-]{1,30}")) {
      throw new IllegalArgumentException("bad floor names: " + nsPrefix + ", " + devPrefix);
    }
    List<String> env = List.of("env", "FLOOR_NS=" + nsPrefix, "FLOOR_DEV=" + devPrefix);
    Path script = workDir.resolve("floor.sh");
    Path state = workDir.resolve("floor");
    try (var in = Floor.class.getResourceAsStream("/floor.sh")) {
      if (in == null) {
        throw new IllegalStateException("floor.sh missing from the sandbox jar");
      }
      Files.createDirectories(state);
      Files.write(script, in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      CommandRunner.Result setup = Sh.run(group.wrap(concat(env, "bash", script.toString(), "setup", state.toString(), cniBin)), null, 60);
      if (!setup.ok()) {
        return new Result(List.of(), 0, 0, "setup failed: " + (setup.stderr() + setup.stdout()).trim());
      }
      long before = group.usageNanos();
      long t0 = System.nanoTime();
      CommandRunner.Result run = Sh.run(group.wrap(concat(env, "bash", script.toString(), "run", state.toString(), cniBin,
          Integer.toString(pods), Integer.toString(batch))), null, 30L + pods * 10L);
      long wallMs = (System.nanoTime() - t0) / 1_000_000;
      long cpu = group.usageNanos() - before;
      List<Pod> measured = parse(run.stdout());
      String error = run.ok() && measured.size() == pods ? ""
          : "run: exit " + run.exitCode() + ", " + measured.size() + " of " + pods + " pods reported; " + run.stderr().trim();
      return new Result(measured, cpu, wallMs, error.length() > 2000 ? error.substring(0, 2000) : error);
    } finally {
      Sh.run(concat(env, "bash", script.toString(), "teardown", state.toString()), null, 120);
    }
  }

  private static List<String> concat(List<String> head, String... tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(List.of(tail));
    return all;
  }
}
