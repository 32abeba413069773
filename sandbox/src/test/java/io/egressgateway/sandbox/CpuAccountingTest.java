package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU accounting's parsing of /proc and cgroup files (fixtures as this machine's kernel writes them),
 * and the breakdown over a window, on a /proc and a cpuacct hierarchy made of files.
 */
class CpuAccountingTest {
  private static final String ID_WORKER = "a".repeat(64);
  private static final String ID_HOLDER = "b".repeat(64);
  private static final String ID_GONE = "c".repeat(64);
  private static final long TICK = 10_000_000L; // 100 ticks a second

  @TempDir
  Path tmp;

  private static String stat(long pid, String comm, long ppid, long utime, long stime, long cutime, long cstime, long start) {
    // fields 1-22 as the kernel writes them (the rest cut short: the parser reads up to field 22)
    return pid + " (" + comm + ") S " + ppid + " " + pid + " " + pid + " 0 -1 4194560 1150 0 0 0 " + utime + " " + stime + " "
        + cutime + " " + cstime + " 20 0 31 0 " + start + " 4245626880 56016 18446744073709551615 1 1 0 0 0 0 0 0 2 0 0 0 17 1 0 0 0 0 0\n";
  }

  @Test
  void statLinesAreParsedAlsoWithSpacesAndParenthesesInTheName() {
    CpuAccounting.Stat s = CpuAccounting.parseStat(stat(4242, "wireguard-go", 17, 120, 35, 7, 3, 987654));
    assertEquals(4242, s.pid());
    assertEquals("wireguard-go", s.comm());
    assertEquals(17, s.ppid());
    assertEquals(120, s.utime());
    assertEquals(35, s.stime());
    assertEquals(7, s.cutime());
    assertEquals(3, s.cstime());
    assertEquals(987654, s.starttime());
    assertEquals(155, s.ticks());
    CpuAccounting.Stat odd = CpuAccounting.parseStat(stat(9, "a) b (c", 1, 5, 6, 0, 0, 11));
    assertEquals("a) b (c", odd.comm());
    assertEquals(11, odd.ticks());
    assertThrows(IllegalArgumentException.class, () -> CpuAccounting.parseStat("garbage"));
    assertThrows(IllegalArgumentException.class, () -> CpuAccounting.parseStat("12 (x) S 1 2"));
  }

  @Test
  void theCpuacctLineOfAProcCgroupFileIsFound() {
    String separate = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/7535\n2:cpuacct:/libpod_parent/libpod-" + ID_WORKER
        + "\n1:cpu:/\n0::/\n";
    assertEquals(Optional.of("/libpod_parent/libpod-" + ID_WORKER), CpuAccounting.cpuacctPath(separate));
    assertEquals(Optional.of("/egs-bench-ours"), CpuAccounting.cpuacctPath("3:cpu,cpuacct:/egs-bench-ours\n"));
    assertEquals(Optional.empty(), CpuAccounting.cpuacctPath("0::/user.slice\n"));
    assertEquals(Optional.of(ID_WORKER), CpuAccounting.containerOf("/libpod_parent/libpod-" + ID_WORKER));
    assertEquals(Optional.empty(), CpuAccounting.containerOf("/libpod_parent/conmon"));
    assertEquals(Optional.empty(), CpuAccounting.containerOf("/"));
  }

  @Test
  void usageIsReadInNanosecondsAndAGoneGroupSaysSo() throws Exception {
    Path g = Files.createDirectories(tmp.resolve("g"));
    Files.writeString(g.resolve("cpuacct.usage"), "123456789\n");
    assertEquals(123456789L, CpuAccounting.usageNanos(g));
    assertEquals(-1, CpuAccounting.usageNanos(tmp.resolve("gone")));
  }

  private Path proc(long pid, String comm, long ppid, long utime, long stime, long start, String cgroup) throws Exception {
    Path d = Files.createDirectories(tmp.resolve("proc").resolve(Long.toString(pid)));
    Files.writeString(d.resolve("stat"), stat(pid, comm, ppid, utime, stime, 0, 0, start));
    Files.writeString(d.resolve("cgroup"), "4:memory:/x\n2:cpuacct:" + cgroup + "\n1:cpu:/\n");
    return d;
  }

  private void usage(String id, long nanos) throws Exception {
    Path d = Files.createDirectories(tmp.resolve("cg/libpod_parent/libpod-" + id));
    Files.writeString(d.resolve("cpuacct.usage"), nanos + "\n");
  }

  @Test
  void aWindowIsBrokenDownByComponentFromTheCountersAtItsEnds() throws Exception {
    String worker = "/libpod_parent/libpod-" + ID_WORKER;
    String holder = "/libpod_parent/libpod-" + ID_HOLDER;
    // at the start: the worker's JVM and node journal, a tunnel already up in the holder, the controllers' journal
    // on the host and a stranger's wireguard-go outside any container of the run, and the sandbox itself
    proc(100, "java", 1, 1000, 200, 50, worker);
    proc(101, "postgres", 100, 10, 10, 60, worker);
    proc(200, "wireguard-go", 1, 5, 5, 70, holder);
    proc(300, "postgres", 1, 40, 10, 20, "/");
    proc(301, "wireguard-go", 1, 0, 0, 30, "/");
    proc(1, "systemd", 0, 9, 9, 1, "/");
    Path self = tmp.resolve("proc/77");
    Files.createDirectories(self);
    Files.writeString(self.resolve("stat"), stat(77, "java", 1, 500, 100, 30, 20, 5));
    usage(ID_WORKER, 20_000_000_000L);
    usage(ID_HOLDER, 1_000_000_000L);
    Path cg = tmp.resolve("cg");
    Files.createDirectories(cg.resolve("egs-bench-ours"));
    Files.writeString(cg.resolve("egs-bench-ours/cpuacct.usage"), "0\n");
    CpuGroup ours = groupAt(cg, "ours");
    List<CpuAccounting.Container> containers = List.of(new CpuAccounting.Container(ID_WORKER, "kube-egress-gateway/w-1", "worker"),
        new CpuAccounting.Container(ID_HOLDER, "kube-egress-gateway/th-1", "tunnel-holder"),
        new CpuAccounting.Container(ID_GONE, "kube-egress-gateway/c-1", "controller"));
    try (CpuAccounting a = new CpuAccounting(tmp.resolve("proc"), cg, TICK, containers, Map.of("pluginJvm", ours), 77, 300)) {
      a.start();
      // in the window: the JVM works 0.5 s, the node journal 0.1 s, the old tunnel 0.05 s; a new tunnel starts and
      // works 0.3 s; a backend of the controllers' journal starts, works 0.2 s and ends (its last sample counts)
      proc(100, "java", 1, 1040, 210, 50, worker);
      proc(101, "postgres", 100, 15, 15, 60, worker);
      proc(200, "wireguard-go", 1, 8, 7, 70, holder);
      proc(201, "wireguard-go", 1, 20, 10, 900, holder);
      proc(300, "postgres", 1, 55, 15, 20, "/");
      Path backend = proc(302, "postgres", 300, 15, 5, 950, "/");
      proc(301, "wireguard-go", 1, 50, 50, 30, "/");
      a.sample();
      Files.delete(backend.resolve("stat"));
      Files.delete(backend.resolve("cgroup"));
      Files.delete(backend);
      // the worker's group: JVM 0.5 + journal 0.1 + its commands 0.7 s; the holder's: tunnels 0.35 + 0.15 s other
      usage(ID_WORKER, 21_300_000_000L);
      usage(ID_HOLDER, 1_500_000_000L);
      Files.writeString(cg.resolve("egs-bench-ours/cpuacct.usage"), "2400000000\n");
      Files.writeString(self.resolve("stat"), stat(77, "java", 1, 600, 120, 30 + 250, 20 + 50, 5));
      CpuAccounting.Window w = a.stop();
      Map<String, Long> by = w.byComponent();
      assertEquals(500_000_000L, by.get("worker"));
      assertEquals(0L, by.get("controller"), "a container without counters counts nothing");
      assertEquals(100_000_000L, by.get("nodeJournals"));
      assertEquals(700_000_000L, by.get("agentCommands"));
      assertEquals(350_000_000L, by.get("wireguardGo"), "the run's tunnels only, the one that started in the window included");
      assertEquals(150_000_000L, by.get("tunnelHolder"));
      assertEquals(400_000_000L, by.get("controllerJournal"), "postmaster 0.2 s, a backend that ended 0.2 s");
      assertEquals(2_400_000_000L, by.get("pluginJvm"));
      assertEquals(1_200_000_000L, by.get("sandbox"));
      assertEquals(600_000_000L, by.get("sandboxChildren"), "3 s of children less the 2.4 s counted in the plugin's group");
      assertEquals(2_900_000_000L, w.ours());
      assertTrue(w.notes().stream().anyMatch(n -> n.contains("controller")), w.notes().toString());
      var perPod = w.perPod(10, 30_000_000L, null);
      assertEquals(290.0, perPod.path("ours").asDouble());
      assertTrue(perPod.path("oursNetOfIdle").isMissingNode());
      // idle, the worker's JVM used 0.1 s in 2 s: over a window of 4 s that is 0.2 s, 20 ms of each of the 10 pods
      var idle = new CpuAccounting.Window(Map.of("worker", 100_000_000L, "pluginJvm", 0L), CpuAccounting.OURS, 2_000_000_000L, List.of());
      var fixed = new CpuAccounting.Window(by, CpuAccounting.OURS, 4_000_000_000L, List.of());
      var net = fixed.perPod(10, -1, idle);
      assertEquals(270.0, net.path("oursNetOfIdle").asDouble());
      assertEquals(30.0, net.path("byComponentNetOfIdle").path("worker").asDouble());
      assertEquals(50.0, net.path("idleMsPerSecond").path("worker").asDouble());
      assertTrue(net.path("floor").isMissingNode());
      assertEquals(30.0, perPod.path("floor").asDouble());
      assertEquals(50.0, perPod.path("byComponent").path("worker").asDouble());
      assertEquals(35.0, perPod.path("byComponent").path("wireguardGo").asDouble());
    }
  }

  /** A {@link CpuGroup} over a directory of files (no kernel involved). */
  private static CpuGroup groupAt(Path root, String kind) {
    return CpuGroup.create(root, "egs", kind);
  }

  @Test
  void otherContainersAreReportedByTheirNames() {
    assertEquals("tunnelHolder", new CpuAccounting.Container(ID_HOLDER, "p", "tunnel-holder").component());
    assertEquals("cniChain", new CpuAccounting.Container(ID_HOLDER, "p", "cni-chain").component());
    assertEquals("x", new CpuAccounting.Container(ID_HOLDER, "p", "-x").component());
    assertTrue(new CpuAccounting.Container(ID_WORKER, "p", "worker").member());
    assertFalse(new CpuAccounting.Container(ID_HOLDER, "p", "netns-holder").member());
  }

  @Test
  void theFloorsLinesAreParsed() {
    List<Floor.Pod> pods = Floor.parse("floor-pod 1 166 130 ok\nnoise\nfloor-pod 2 5012 -1 failed no reply through the tunnel\n");
    assertEquals(2, pods.size());
    assertEquals(new Floor.Pod(1, 166, 130, true, ""), pods.get(0));
    assertFalse(pods.get(1).ok());
    assertEquals("no reply through the tunnel", pods.get(1).error());
    Floor.Result r = new Floor.Result(pods, 200_000_000L, 6000, "");
    assertEquals(100_000_000L, r.cpuNanosPerPod());
    assertEquals(166, r.report().path("p99Ms").asLong());
    assertEquals(1, r.report().path("ok").asLong());
    assertEquals(100.0, r.report().path("cpuMsPerPod").asDouble());
  }
}
