package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.Net;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What one read of a pod tunnel costs the failover watchdog (docs/benchmarks.md, "Second pass: the watchdog's reads and the signatures"): CPU
 * of this JVM and of the device's wireguard-go per UAPI read, on a new connection per read (a {@link UapiConnections}
 * used once, as the watchdog read before) and through {@link GoWireGuard#dump} (a kept connection). Not a test: run as
 * root, with wireguard-go and wg installed; it makes its own namespace and device and removes them.
 *
 * <p>Arguments: reads per round (default 5000), rounds (default 3). Run it with the worker's JIT settings
 * ({@code -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}) to match the member.
 */
public final class UapiReadBenchmark {
  private UapiReadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int reads = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    CommandRunner cmd = new CommandRunner();
    String ns = "egub-" + ProcessHandle.current().pid();
    String dev = "egub" + ProcessHandle.current().pid() % 100000;
    GoWireGuard wg = new GoWireGuard(cmd);
    Net.ensureNetns(cmd, ns);
    try {
      WgDevice d = wg.create(ns, dev);
      // a pod tunnel's device: its key, a port, the gateway peer with its endpoint
      wg.configure(d, new WgConfig(WgKeys.generate().privateKey(), 0,
          List.of(new WgPeer(WgKeys.generate().publicKey(), List.of("0.0.0.0/0"), "10.224.0.100:6000", 0))));
      long wgPid = wg.pidOf(dev).orElseThrow();
      Path socket = Path.of("/var/run/wireguard", dev + ".sock");
      System.out.printf("%d reads per round, JVM %s%n", reads, ManagementFactory.getRuntimeMXBean().getInputArguments());
      for (int r = 0; r < rounds; r++) {
        measure("new connection per read", reads, wgPid, () -> {
          try (UapiConnections once = new UapiConnections()) {
            return once.get(socket, Duration.ofSeconds(5));
          }
        });
        measure("kept connection (GoWireGuard.dump)", reads, wgPid, () -> wg.dump(d));
      }
      wg.delete(d);
    } finally {
      Net.deleteNetns(cmd, ns);
    }
  }

  private interface Read {
    Object run() throws IOException;
  }

  private static void measure(String what, int reads, long wgPid, Read read) throws IOException {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long jvm0 = os.getProcessCpuTime();
    long wg0 = ticks(wgPid);
    long t0 = System.nanoTime();
    for (int i = 0; i < reads; i++) {
      if (read.run() == null) {
        throw new IllegalStateException("no answer");
      }
    }
    long wall = System.nanoTime() - t0;
    double jvmMs = (os.getProcessCpuTime() - jvm0) / 1e6 / reads;
    double wgMs = (ticks(wgPid) - wg0) * 10.0 / reads; // USER_HZ = 100
    System.out.printf("%-36s %6.1f us wall, CPU per read: JVM %.3f ms, wireguard-go %.3f ms, both %.3f ms%n",
        what, wall / 1e3 / reads, jvmMs, wgMs, jvmMs + wgMs);
  }

  /** utime + stime of {@code pid}, in clock ticks. */
  private static long ticks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }
}
