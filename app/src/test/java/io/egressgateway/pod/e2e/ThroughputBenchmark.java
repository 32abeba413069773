package io.egressgateway.pod.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.LinuxGatewayDatapath;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.testing.Eventually;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Throughput of the product's datapath against a plain wireguard-go tunnel on the same veth path, measured
 * interleaved in one run (the machine is shared: medians of several rounds, each path first, second and last
 * in turn). Three paths, each with two wireguard-go processes whose UDP crosses the same veths (w1 eth0, vnet,
 * gw1 eth0):
 *
 * <pre>
 *  plain:      ppod wg0 10.99.0.1 ==(socket in w1)== w1 - vnet - gw1 ==(socket in gw1)== pcfg wg0 10.99.0.2: iperf3 -s
 *  plain+snat: spod wg0 10.98.0.1 ==(socket in w1)== w1 - vnet - gw1 ==(socket in gw1)== scfg (wg0, host0 10.224.0.16,
 *              one nft SNAT rule) - gw1 - vnet (edge NAT, as Azure's) - inet 198.18.0.2: iperf3 -s
 *  ours:       pod (eth0 as ptp makes it; wg0 by HostPodDatapath, routes by PodRoutes) ==(socket in w1)== w1 - vnet
 *              (ILB route) - gw1 eth0 (ILB IP) ==(socket in gw1)== config namespace by LinuxGatewayDatapath (wg0,
 *              policy rule, host0 10.224.0.15, SNAT, invalid drop, host NAT exemption) - gw1 - vnet (edge NAT) - inet
 * </pre>
 *
 * "plain" is the bare tunnel the target compares with; "plain+snat" is the least any gateway of this design
 * does after the tunnel (forward, SNAT, out through the host), built without our code, so that ours against it
 * shows what our own programming costs. Only one path carries traffic at a time. Needs root, wireguard-go and
 * iperf3; everything lives in namespaces of the run's {@link Lab} and goes with it, also on failure. Prints each
 * run (with the CPU time of its two wireguard-go processes and the mean packet size the server received), the
 * medians and the ratios.
 *
 * <pre>
 * mvn -o -q -pl app -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=$PWD/target/cp.txt
 * java -cp "app/target/test-classes:app/target/classes:$(cat target/cp.txt)" io.egressgateway.pod.e2e.ThroughputBenchmark 5 8
 * </pre>
 *
 * Arguments: rounds (default 5), seconds per iperf3 run (default 10). {@code -Dbench.perf=DIR} records a
 * system-wide profile of the first round.
 */
public final class ThroughputBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String W1 = "10.224.0.4";
  static final String GW1 = "10.224.0.5";
  static final String SECONDARY = "10.224.0.15";
  static final String POD_IP = "10.244.1.10";
  static final String POD_GW = "10.244.1.1";
  static final String INET = "198.18.0.2";
  static final String PLAIN_POD = "10.99.0.1";
  static final String PLAIN_CFG = "10.99.0.2";
  static final int PLAIN_PORT = 6100;
  static final String SECONDARY2 = "10.224.0.16";
  static final String SNAT_POD = "10.98.0.1";
  static final int SNAT_PORT = 6200;

  /**
   * One path: iperf3 from {@code ns} to {@code server}, whose packets arrive on {@code serverIf} in {@code serverNs};
   * {@code pids} are its two wireguard-go processes.
   */
  record Variant(String name, String ns, String server, String serverNs, String serverIf, long[] pids) {}

  /**
   * One iperf3 run: receiver's bits per second, sender's retransmits, CPU seconds of the two wireguard-go processes,
   * the mean size of the packets the server's interface received (above the MTU: GRO merged them on the way).
   */
  record Run(double gbps, long retransmits, double wgCpuSeconds, double seconds, long rxPacketBytes) {
    @Override
    public String toString() {
      return String.format("%.3f Gb/s, %d retransmits, wireguard-go CPU %.2f s (%.2f cores), %d bytes per packet at the server",
          gbps, retransmits, wgCpuSeconds, wgCpuSeconds / seconds, rxPacketBytes);
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Lab.requirePrerequisites();
    if (!Files.isExecutable(Path.of("/usr/bin/iperf3"))) {
      throw new IllegalStateException("iperf3 is not installed (apt-get install iperf3)");
    }
    CommandRunner cmd = new CommandRunner();
    // the backend the product picks where there is no kernel WireGuard (as on this machine)
    GoWireGuard wg = new GoWireGuard(cmd);
    LinuxGatewayDatapath gateway = null;
    HostPodDatapath worker = null;
    String uid = null;
    String podDevice = null;
    String pod = null;
    // the bare devices' namespaces: their wg0 is deleted first, so that wireguard-go ends by itself and removes
    // its UAPI socket (the Lab's kill would leave the socket file behind)
    List<String> bare = new ArrayList<>();
    try (Lab lab = new Lab()) {
      try {
        Topology.Fabric fabric = Topology.fabric(lab);
        String vnet = fabric.vnet();
        String w1 = fabric.vm("w1", W1);
        String gw1 = fabric.vm("gw1", GW1);
        lab.ip(vnet, "route", "replace", Topology.ILB + "/32", "via", GW1, "dev", "v-gw1", "onlink");
        lab.ip(vnet, "route", "replace", SECONDARY + "/32", "via", GW1, "dev", "v-gw1", "onlink");
        lab.ip(vnet, "route", "replace", "10.244.1.0/24", "via", W1, "dev", "v-w1", "onlink");

        // (b) the product: the gateway's config namespace as LinuxGatewayDatapath programs it
        WgKeys.KeyPair gwKey = WgKeys.generate();
        WgKeys.KeyPair podKey = WgKeys.generate();
        uid = "bench";
        gateway = new LinuxGatewayDatapath(cmd, wg, new GatewayNames("gw1", lab.prefix + "-gwc-"), gw1, 1, "eth0");
        gateway.program(new ConfigDatapath(uid, Topology.PORT, GW1, SECONDARY, Topology.ILB, gwKey.publicKey(), "s",
            Map.of(podKey.publicKey(), POD_IP + "/32")), gwKey.privateKey());
        gateway.addFrontend(Topology.ILB);

        // a pod as ptp makes it (eth0 /32, on-link gateway on the host side), then the worker's tunnel and routes
        pod = lab.ns("pod");
        veth(lab, w1, "vpod", pod, POD_IP, POD_GW);
        worker = new HostPodDatapath(cmd, wg, w1);
        podDevice = "wgb" + lab.prefix;
        PodDatapath.Attachment a = new PodDatapath.Attachment(podDevice, "/var/run/netns/" + pod,
            Topology.ILB + ":" + Topology.PORT, gwKey.publicKey());
        worker.attach(a, podKey.privateKey());
        worker.applyRoutes(a.podNetns(), PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, POD_GW, List.of(), List.of(),
            List.of(Ipv4Cidr.parse("169.254.169.254/32")), Topology.ILB));

        // (a) plain: the recipe's way, no code of ours (bare wireguard-go, wg set, ip)
        String ppod = lab.ns("ppod");
        String pcfg = lab.ns("pcfg");
        bare.addAll(List.of(ppod, pcfg));
        WgKeys.KeyPair pa = WgKeys.generate();
        WgKeys.KeyPair pb = WgKeys.generate();
        Process plainA = plainDevice(lab, w1, ppod, "wgp" + lab.prefix + "a", pa.privateKey(), 0, pb.publicKey(),
            GW1 + ":" + PLAIN_PORT, PLAIN_CFG + "/32", PLAIN_POD);
        Process plainB = plainDevice(lab, gw1, pcfg, "wgp" + lab.prefix + "b", pb.privateKey(), PLAIN_PORT, pa.publicKey(),
            "", PLAIN_POD + "/32", PLAIN_CFG);

        // (c) plain + SNAT: a bare tunnel into a minimal gateway namespace (host0 with the other secondary IP, one nft
        // SNAT rule, forwarding), then the same way to the internet as (b): what any gateway of this design pays
        String spod = lab.ns("spod");
        String scfg = lab.ns("scfg");
        bare.addAll(List.of(spod, scfg));
        WgKeys.KeyPair sa = WgKeys.generate();
        WgKeys.KeyPair sb = WgKeys.generate();
        Process snatA = plainDevice(lab, w1, spod, "wgp" + lab.prefix + "c", sa.privateKey(), 0, sb.publicKey(),
            GW1 + ":" + SNAT_PORT, "0.0.0.0/0", SNAT_POD);
        Process snatB = plainDevice(lab, gw1, scfg, "wgp" + lab.prefix + "d", sb.privateKey(), SNAT_PORT, sa.publicKey(),
            "", SNAT_POD + "/32", null);
        lab.ip(gw1, "link", "add", "vscfg", "type", "veth", "peer", "name", "host0", "netns", scfg);
        lab.ip(gw1, "link", "set", "vscfg", "up");
        lab.ip(gw1, "route", "add", SECONDARY2 + "/32", "dev", "vscfg");
        lab.ip(scfg, "link", "set", "host0", "up");
        lab.ip(scfg, "addr", "add", SECONDARY2 + "/32", "dev", "host0");
        lab.ip(scfg, "route", "add", GW1 + "/32", "dev", "host0", "scope", "link");
        lab.ip(scfg, "route", "add", "default", "via", GW1, "dev", "host0", "onlink");
        lab.in(scfg, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        lab.cmd.run(CommandRunner.inNetns(scfg, List.of("nft", "-f", "-")),
            "table ip plain_snat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n"
                + "  oifname \"host0\" snat to " + SECONDARY2 + "\n }\n}\n");
        lab.ip(vnet, "route", "replace", SECONDARY2 + "/32", "via", GW1, "dev", "v-gw1", "onlink");

        lab.spawn(pcfg, List.of("iperf3", "-s", "-B", PLAIN_CFG));
        lab.spawn(fabric.inet(), List.of("iperf3", "-s", "-B", INET));
        for (var e : Map.of(pcfg, PLAIN_CFG + ":5201", fabric.inet(), INET + ":5201").entrySet()) {
          Eventually.await(Duration.ofSeconds(5), () -> lab.in(e.getKey(), "ss", "-ltnH").contains(e.getValue()), "iperf3 -s in " + e.getKey());
        }
        long[] plainPids = {plainA.pid(), plainB.pid()};
        long[] snatPids = {snatA.pid(), snatB.pid()};
        long[] ourPids = {wg.pidOf(podDevice).orElseThrow(), wg.pidOf(gateway.names().device(uid)).orElseThrow()};
        System.out.printf("wireguard-go: %s; pod MTU wg0 %s / eth0 %s; gateway wg0 %s / host0 %s%n",
            lab.cmd.attempt(List.of("wireguard-go", "--version")).stdout().lines().findFirst().orElse("?"),
            mtu(lab, pod, "wg0"), mtu(lab, pod, "eth0"), mtu(lab, gateway.names().netns(uid), "wg0"),
            mtu(lab, gateway.names().netns(uid), "host0"));

        // warm-up: handshakes, and proof that (b) and (c) leave with their secondary IPs' public addresses
        for (String[] p : List.of(new String[] {pod, "203.0.113.15"}, new String[] {spod, "203.0.113.16"})) {
          String seen = cmd.run(CommandRunner.inNetns(p[0], List.of("curl", "-s", "-m", "5", "http://" + Topology.ECHO + ":8080/"))).stdout().strip();
          if (!seen.equals(p[1])) {
            throw new IllegalStateException(p[0] + " does not egress as " + p[1] + ": the echo host saw '" + seen + "'");
          }
        }
        List<Variant> variants = List.of(
            new Variant("plain", ppod, PLAIN_CFG, pcfg, "wg0", plainPids),
            new Variant("plain+snat", spod, INET, fabric.inet(), "eth0", snatPids),
            new Variant("ours", pod, INET, fabric.inet(), "eth0", ourPids));
        Map<String, List<Run>> runs = new java.util.LinkedHashMap<>();
        for (Variant v : variants) {
          iperf(lab, v, 1);
          runs.put(v.name(), new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
          // each variant goes first, second and last in turn
          for (int k = 0; k < variants.size(); k++) {
            Variant v = variants.get((k + r) % variants.size());
            Process perf = profile(r, v.name(), seconds);
            Run run = iperf(lab, v, seconds);
            finish(perf);
            runs.get(v.name()).add(run);
            System.out.printf("round %d %-10s %s%n", r + 1, v.name() + ":", run);
          }
        }
        List<Run> plain = runs.get("plain");
        List<Run> snat = runs.get("plain+snat");
        List<Run> ours = runs.get("ours");
        double mp = median(plain.stream().map(Run::gbps).toList());
        double mo = median(ours.stream().map(Run::gbps).toList());
        List<Double> perRound = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          perRound.add(ours.get(r).gbps() / plain.get(r).gbps());
        }
        System.out.printf("plain wireguard-go tunnel: median %.3f Gb/s %s%n", mp, plain.stream().map(x -> String.format("%.3f", x.gbps())).toList());
        System.out.printf("ours (pod -> gateway -> internet): median %.3f Gb/s %s%n", mo, ours.stream().map(x -> String.format("%.3f", x.gbps())).toList());
        System.out.printf("ratio ours/plain: %.1f %% (of medians), per-round median %.1f %% %s%n", 100 * mo / mp,
            100 * median(perRound), perRound.stream().map(x -> String.format("%.0f%%", 100 * x)).toList());
        double ms = median(snat.stream().map(Run::gbps).toList());
        System.out.printf("plain + SNAT gateway: median %.3f Gb/s %s%n", ms, snat.stream().map(x -> String.format("%.3f", x.gbps())).toList());
        System.out.printf("ratio ours/(plain + SNAT): %.1f %%; (plain + SNAT)/plain: %.1f %%%n", 100 * mo / ms, 100 * ms / mp);
        for (var e : runs.entrySet()) {
          System.out.printf("wireguard-go CPU seconds per Gb, %s: %.2f%n", e.getKey(),
              median(e.getValue().stream().map(x -> x.wgCpuSeconds() / (x.gbps() * x.seconds())).toList()));
        }
      } finally {
        if (worker != null && pod != null) {
          worker.detach("/var/run/netns/" + pod, podDevice);
        }
        if (gateway != null) {
          gateway.remove(uid);
        }
        for (String ns : bare) {
          lab.cmd.attempt(List.of("ip", "-n", ns, "link", "del", "wg0"));
        }
        // wireguard-go notices its device is gone within about a second; what is left then, the Lab kills
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline
            && lab.cmd.attempt(List.of("pgrep", "-f", "^wireguard-go -f wgp" + lab.prefix)).exitCode() == 0) {
          Thread.sleep(100);
        }
      }
    }
  }

  /**
   * With {@code -Dbench.perf=DIR}: a system-wide {@code perf record} during each of the first round's runs, into
   * {@code DIR/<path>.data}, to see where the CPU goes.
   */
  static Process profile(int round, String what, int seconds) throws Exception {
    String dir = System.getProperty("bench.perf");
    if (dir == null || round > 0) {
      return null;
    }
    return new ProcessBuilder("perf", "record", "-a", "-g", "-o", dir + "/" + what + ".data", "--", "sleep",
        Integer.toString(Math.max(1, seconds - 1))).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  static void finish(Process perf) throws Exception {
    if (perf != null) {
      perf.waitFor();
    }
  }

  /** A ptp-like pod link: {@code ip}/32 on the pod's eth0, the host side {@code hostIp}/32, routes both ways. */
  static void veth(Lab lab, String host, String hostIf, String pod, String ip, String hostIp) {
    lab.ip(host, "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", pod);
    lab.ip(host, "addr", "add", hostIp + "/32", "dev", hostIf);
    lab.ip(host, "link", "set", hostIf, "up");
    lab.ip(host, "route", "add", ip + "/32", "dev", hostIf, "scope", "link");
    lab.ip(pod, "addr", "add", ip + "/32", "dev", "eth0");
    lab.ip(pod, "link", "set", "eth0", "up");
    lab.ip(pod, "route", "add", hostIp + "/32", "dev", "eth0", "scope", "link");
    lab.ip(pod, "route", "add", "default", "via", hostIp, "dev", "eth0");
  }

  /**
   * A bare wireguard-go device created in {@code host} (its socket stays there), configured with {@code wg set},
   * moved into {@code ns} as wg0 with {@code addr}/32 (none when null) and a route to the peer's allowed IPs.
   */
  static Process plainDevice(Lab lab, String host, String ns, String name, String privateKey, int listenPort,
      String peer, String endpoint, String allowed, String addr) throws Exception {
    Process p = lab.spawn(host, List.of("wireguard-go", "-f", name));
    // listening, not only bound: `wg` removes a socket file that refuses it (a bound one does) and then never finds the device
    String sock = "/var/run/wireguard/" + name + ".sock";
    Eventually.await(Duration.ofSeconds(5), () -> listening(p.pid(), sock), "wireguard-go " + name + " listening on " + sock);
    Path key = lab.dir.resolve(name + ".key");
    Files.writeString(key, privateKey + "\n");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    List<String> set = new ArrayList<>(List.of("wg", "set", name, "private-key", key.toString()));
    if (listenPort > 0) {
      set.addAll(List.of("listen-port", Integer.toString(listenPort)));
    }
    set.addAll(List.of("peer", peer, "allowed-ips", allowed));
    if (!endpoint.isEmpty()) {
      set.addAll(List.of("endpoint", endpoint));
    }
    lab.cmd.run(set);
    lab.ip(host, "link", "set", name, "netns", ns);
    lab.ip(ns, "link", "set", name, "name", "wg0");
    if (addr != null) {
      lab.ip(ns, "addr", "add", addr + "/32", "dev", "wg0");
    }
    lab.ip(ns, "link", "set", "wg0", "up");
    lab.ip(ns, "route", "add", allowed, "dev", "wg0");
    return p;
  }

  /** Whether {@code pid} (in its own network namespace) has a listening unix socket at {@code path}. */
  static boolean listening(long pid, String path) {
    try {
      // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = accepting connections
      return Files.readAllLines(Path.of("/proc/" + pid + "/net/unix")).stream()
          .map(l -> l.trim().split("\\s+"))
          .anyMatch(f -> f.length >= 8 && f[7].equals(path) && f[3].equals("00010000"));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  static Run iperf(Lab lab, Variant v, int seconds) throws Exception {
    double cpu0 = cpuSeconds(v.pids());
    long[] rx0 = rx(lab, v);
    long t0 = System.nanoTime();
    String out = lab.cmd.run(CommandRunner.inNetns(v.ns(), List.of("iperf3", "-c", v.server(), "-t", Integer.toString(seconds), "-J"))).stdout();
    double wall = (System.nanoTime() - t0) / 1e9;
    double cpu = cpuSeconds(v.pids()) - cpu0;
    long[] rx1 = rx(lab, v);
    JsonNode end = JSON.readTree(out).path("end");
    return new Run(end.path("sum_received").path("bits_per_second").asDouble() / 1e9,
        end.path("sum_sent").path("retransmits").asLong(), cpu, wall, (rx1[1] - rx0[1]) / Math.max(1, rx1[0] - rx0[0]));
  }

  /** Packets and bytes received on the server's interface. */
  static long[] rx(Lab lab, Variant v) throws Exception {
    JsonNode rx = JSON.readTree(lab.ip(v.serverNs(), "-s", "-j", "link", "show", v.serverIf())).path(0).path("stats64").path("rx");
    return new long[] {rx.path("packets").asLong(), rx.path("bytes").asLong()};
  }

  /** utime + stime of the processes, from /proc (clock ticks of 1/100 s). */
  static double cpuSeconds(long[] pids) throws Exception {
    double s = 0;
    for (long pid : pids) {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      s += (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
    }
    return s;
  }

  static String mtu(Lab lab, String ns, String dev) {
    return lab.ip(ns, "link", "show", dev).replaceAll("(?s).* mtu (\\d+).*", "$1");
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(null);
    int n = s.size();
    return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
