package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.Netlink;
import io.egressgateway.datapath.net.NetlinkSocket;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.NextHop;
import io.egressgateway.datapath.net.IpBatch;
import io.egressgateway.datapath.net.Nft;
import io.egressgateway.datapath.net.Routes;
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
 * replaced; a pod's rule and routes read and made (or taken out), over rtnetlink ({@link Routes}) and with the two
 * {@code ip -batch} processes of before; and its reply-marking table over nfnetlink and with {@code nft -f}. CPU is this JVM's (getProcessCpuTime) plus, for the processes, their children's time from
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
      cmd.run(Net.ip(ns, "link", "set", "egnb0", "up"));
      cmd.run(Net.ip(ns, "link", "set", "egnb1", "up"));
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

          // a pod's ADD and DEL of its rule and routes: read, then make (even) or take out (odd) all of them
          NetnsName name = NetnsName.parse(ns);
          c0 = os.getProcessCpuTime();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            Routes.Owned owned = Net.ownedRoutes(cmd, name, 8738, 77).orElseThrow();
            Net.changeRoutes(cmd, name, i % 2 == 0 ? podRoutes() : podRoutesGone(owned), i % 2 == 1);
          }
          print("pod rule and routes, read + change (Routes)", sets, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          c0 = os.getProcessCpuTime();
          k0 = childTicks();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            String shown = new IpBatch().ruleShow(8738).routesOfProto(77).run(cmd, name, "-j").stdout();
            if (shown.isEmpty()) {
              throw new IllegalStateException("ip -j printed nothing");
            }
            if (i % 2 == 0) {
              podRoutes().run(cmd, name);
            } else {
              podRoutesGone(Net.ownedRoutes(cmd, name, 8738, 77).orElseThrow()).attempt(cmd, name, "-force");
            }
          }
          print("pod rule and routes, ip -j -batch + ip -batch", sets, System.nanoTime() - t0,
              os.getProcessCpuTime() - c0 + (childTicks() - k0) * 10_000_000L);

          c0 = os.getProcessCpuTime();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            Net.replaceReplyMarking(cmd, ns, "egnb_reply", IfName.parse("egnb0"), 0x2222);
          }
          print("reply-marking table (NfTables)", sets, System.nanoTime() - t0, os.getProcessCpuTime() - c0);
          c0 = os.getProcessCpuTime();
          k0 = childTicks();
          t0 = System.nanoTime();
          for (int i = 0; i < sets; i++) {
            Nft.replaceTable(cmd, ns, "ip", "egnb_reply", Nft.replyMarkingBody(IfName.parse("egnb0"), 0x2222));
          }
          print("reply-marking table, ip netns exec nft -f", sets, System.nanoTime() - t0,
              os.getProcessCpuTime() - c0 + (childTicks() - k0) * 10_000_000L);
        }
      }
    } finally {
      Net.deleteNetns(cmd, ns);
    }
  }

  /** A pod's reply rule and routes, as an ADD makes them. */
  private static IpBatch podRoutes() {
    IfName dev = IfName.parse("egnb0");
    return new IpBatch().ruleAddFwmark(8738, 0x2222, 8738)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, dev, 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.169.254/32"), NextHop.parse("169.254.1.1"), dev, 254, 77)
        .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"), dev, 8738, 77);
  }

  /** What a DEL takes out: the rule and the routes read. */
  private static IpBatch podRoutesGone(Routes.Owned owned) {
    IpBatch b = new IpBatch().ruleDel(8738);
    for (Routes.Entry r : owned.routes()) {
      b.route(IpBatch.RouteVerb.DEL, Ipv4Cidr.parse(r.dst()), r.via().isEmpty() ? null : NextHop.parse(r.via()),
          IfName.parse(r.dev()), r.table(), 77);
    }
    return b;
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
