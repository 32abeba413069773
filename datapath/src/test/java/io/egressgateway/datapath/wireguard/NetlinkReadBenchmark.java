package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.Netlink;
import io.egressgateway.datapath.net.NetlinkSocket;
import io.egressgateway.datapath.net.Sysctls;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a read over netlink in a pod's namespace costs, against the process per read it replaces for kernel
 * WireGuard (docs/benchmarks.md, "Kernel WireGuard reads over netlink"). In a namespace of its own with a veth
 * pair: opening a socket there (a thread that enters the namespace), one exchange on a kept socket (a link
 * dump; where the kernel has WireGuard, also {@link WgNetlink#dump} of a device), and {@code ip netns exec
 * <ns> ip link show}, a process of the same shape as {@code ip netns exec <ns> wg show}. Also the pod's
 * reverse-path filter (two sysctls, both changed each time) set by {@link Sysctls} and by the commands it
 * replaced. CPU is this JVM's (getProcessCpuTime) plus, for the processes, their children's time from
 * {@code /proc/self/stat}. Not a test: run as root; it removes what it made.
 *
 * <p>Arguments: exchanges per round (default 20000), rounds (default 3).
 */
public final class NetlinkReadBenchmark {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private NetlinkReadBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 20000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    CommandRunner cmd = new CommandRunner();
    String ns = "egnb-" + ProcessHandle.current().pid();
    Path nsPath = Path.of("/var/run/netns", ns);
    Net.ensureNetns(cmd, ns);
    try {
      cmd.run(Net.ip(ns, "link", "add", "egnb0", "type", "veth", "peer", "name", "egnb1"));
      boolean kernelWg = cmd.attempt(Net.ip(ns, "link", "add", "egnbwg0", "type", "wireguard")).ok();
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      System.out.printf("%d exchanges per round, kernel WireGuard %s, JVM %s%n", n, kernelWg ? "present" : "absent",
          ManagementFactory.getRuntimeMXBean().getInputArguments());
      try (WgNetlink wg = new WgNetlink()) {
        for (int r = 0; r < rounds; r++) {
          int opens = Math.max(1, n / 20);
          long c0 = os.getProcessCpuTime();
          long t0 = System.nanoTime();
          for (int i = 0; i < opens; i++) {
            NetlinkSocket.open(nsPath, NetlinkSocket.NETLINK_ROUTE, TIMEOUT).close();
          }
          print("open a socket in the namespace", opens, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          try (NetlinkSocket s = NetlinkSocket.open(nsPath, NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
            c0 = os.getProcessCpuTime();
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
              if (s.exchange(seq -> Netlink.request(18, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, new byte[16]),
                  TIMEOUT).size() != 3) {
                throw new IllegalStateException("expected lo and the veth pair");
              }
            }
            print("link dump on a kept socket", n, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          }
          if (kernelWg) {
            c0 = os.getProcessCpuTime();
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
              wg.dump(ns, "egnbwg0");
            }
            print("WireGuard device dump (WgNetlink)", n, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          }
          int procs = Math.max(1, n / 100);
          long k0 = childTicks();
          t0 = System.nanoTime();
          for (int i = 0; i < procs; i++) {
            cmd.run(CommandRunner.inNetns(ns, List.of("ip", "link", "show")));
          }
          print("ip netns exec <ns> ip link show", procs, System.nanoTime() - t0, (childTicks() - k0) * 10_000_000L);

          int sets = Math.max(2, n / 100);
          c0 = os.getProcessCpuTime();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            if (Sysctls.ensure(nsPath, rpFilter(i % 2 == 0 ? "2" : "1"), TIMEOUT).size() != 2) {
              throw new IllegalStateException("both sysctls differ each time");
            }
          }
          print("rp_filter, 2 sysctls (Sysctls)", sets, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          c0 = os.getProcessCpuTime();
          k0 = childTicks();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            String v = i % 2 == 0 ? "2" : "1";
            cmd.run(CommandRunner.inNetns(ns, List.of("sh", "-c", "mount -o remount,bind,rw /proc/sys 2>/dev/null;"
                + " exec sysctl -q -w net.ipv4.conf.all.rp_filter=" + v + " net.ipv4.conf.egnb0.rp_filter=" + v)));
          }
          print("rp_filter, ip netns exec sh mount sysctl", sets, System.nanoTime() - t0,
              os.getProcessCpuTime() - c0 + (childTicks() - k0) * 10_000_000L);
        }
      }
    } finally {
      Net.deleteNetns(cmd, ns);
    }
  }

  private static Map<String, String> rpFilter(String value) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("net.ipv4.conf.all.rp_filter", value);
    m.put("net.ipv4.conf.egnb0.rp_filter", value);
    return m;
  }

  private static void print(String what, int count, long wallNanos, long cpuNanos) {
    System.out.printf("%-42s %8.1f us wall, %8.3f ms CPU each%n", what, wallNanos / 1e3 / count, cpuNanos / 1e6 / count);
  }

  /** cutime + cstime of this process (its waited-for children), in clock ticks (USER_HZ = 100). */
  private static long childTicks() throws java.io.IOException {
    String stat = java.nio.file.Files.readString(Path.of("/proc/self/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[13]) + Long.parseLong(f[14]);
  }
}
