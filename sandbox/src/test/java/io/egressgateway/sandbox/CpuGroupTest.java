package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark's cpuacct groups on this machine's kernel: a program started through {@link CpuGroup#wrap}
 * is counted in its group, children included; the group goes at {@link CpuGroup#close} even with a process
 * still in it, and a group a run left is found by its name. Then the floor script, a few pods in a group.
 */
@Tag("privileged")
class CpuGroupTest {
  @TempDir
  Path work;

  private static String prefix() {
    return "cpt" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36);
  }

  private static void requireCpuacct() {
    Privileged.require("ip", "wg", "wireguard-go", "nsenter");
    if (!CpuGroup.available(CpuGroup.ROOT)) {
      String msg = "no writable cgroup v1 cpuacct hierarchy at " + CpuGroup.ROOT;
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        org.junit.jupiter.api.Assertions.fail(msg + " (CI=true: this is a failure, not a skip)");
      }
      Assumptions.abort(msg);
    }
  }

  @Test
  void whatRunsInAGroupIsCountedThereAndTheGroupGoesAtClose() throws Exception {
    requireCpuacct();
    CpuGroup g = CpuGroup.create(CpuGroup.ROOT, prefix(), "t");
    Process sleeper = null;
    try {
      assertEquals(0, g.usageNanos(), "a new group has counted nothing");
      // a child of the wrapped shell does the work: children count in the group too
      var r = Sh.run(g.wrap(List.of("sh", "-c", "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'")), null, 60);
      assertTrue(r.ok(), r.toString());
      long used = g.usageNanos();
      assertTrue(used > 50_000_000L, "the busy loop's CPU is in the group: " + used + " ns");
      // a process still in the group when it closes goes back to the root group
      sleeper = new ProcessBuilder(g.wrap(List.of("sleep", "60"))).start();
      long pid = sleeper.pid();
      assertTrue(Sh.poll(() -> read(g.procs()), s -> s.contains(Long.toString(pid)), java.time.Duration.ofSeconds(10), 50)
          .contains(Long.toString(pid)), "the sleeper joined the group");
      g.close();
      assertFalse(Files.exists(g.dir()), "the group is gone");
      assertTrue(sleeper.isAlive(), "its process was moved, not ended");
      assertTrue(read(CpuGroup.ROOT.resolve("cgroup.procs")).lines().anyMatch(l -> l.trim().equals(Long.toString(pid))));
      g.close(); // idempotent
    } finally {
      if (sleeper != null) {
        sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      g.close();
    }
  }

  @Test
  void aNodesHostProgramJoinsTheGroupOnceItsNamespacesAreSetUp() {
    requireCpuacct();
    Privileged.require("ip", "mount", "unshare");
    NetLab lab = new NetLab(prefix());
    CpuGroup g = CpuGroup.create(CpuGroup.ROOT, prefix(), "cni");
    NodeHost host = null;
    try {
      String ns = lab.addNamespace("node");
      host = NodeHost.create("node-1", ns, work.resolve("nodes"));
      var r = Sh.run(host.hostCommand(java.util.Map.of("X", "1"), List.of("sh", "-c",
          "[ \"$X\" = 1 ] && i=0 && while [ $i -lt 300000 ]; do i=$((i+1)); done && cat /proc/self/cgroup"), g.procs()), null, 60);
      assertTrue(r.ok(), r.toString());
      assertEquals(java.util.Optional.of("/" + g.dir().getFileName()), CpuAccounting.cpuacctPath(r.stdout()), r.stdout());
      assertTrue(g.usageNanos() > 50_000_000L, "the program's CPU is in the group: " + g.usageNanos());
      var plain = Sh.run(host.hostCommand(java.util.Map.of(), List.of("cat", "/proc/self/cgroup")), null, 60);
      assertEquals(CpuAccounting.cpuacctPath(read(Path.of("/proc/self/cgroup"))), CpuAccounting.cpuacctPath(plain.stdout()),
          "without a group: where the caller is");
    } finally {
      if (host != null) {
        host.remove();
      }
      lab.close();
      g.close();
    }
  }

  @Test
  void aGroupARunLeftIsRemovedByItsPrefixOnly() {
    requireCpuacct();
    String mine = prefix();
    String other = prefix() + "x";
    CpuGroup left = CpuGroup.create(CpuGroup.ROOT, mine, "ours");
    CpuGroup others = CpuGroup.create(CpuGroup.ROOT, other, "ours");
    try {
      assertEquals(List.of("cgroup " + left.dir()), CpuGroup.removeLeftovers(CpuGroup.ROOT, mine));
      assertFalse(Files.exists(left.dir()));
      assertTrue(Files.exists(others.dir()), "another prefix's group stays");
    } finally {
      left.close();
      others.close();
    }
  }

  @Test
  void theFloorSetsUpPodsThroughTheTunnelCountsTheirCpuAndLeavesNothing() throws Exception {
    requireCpuacct();
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/lib/cni/ptp")), "containernetworking-plugins are not installed");
    String names = prefix();
    String dev = "f" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36).replaceAll("[0-9]", "q");
    CpuGroup g = CpuGroup.create(CpuGroup.ROOT, names, "floor");
    try {
      Floor.Result r = Floor.run(g, work, "/usr/lib/cni", 5, 2, names + "-floor", dev);
      assertEquals("", r.error());
      assertEquals(5, r.okCount(), r.pods().toString());
      assertTrue(r.pods().stream().allMatch(p -> p.readyMs() >= p.addMs() && p.addMs() > 0), r.pods().toString());
      assertTrue(r.cpuNanos() > 5 * 1_000_000L, "at least 1 ms of CPU a pod: " + r.cpuNanos());
      assertTrue(r.report().path("p99Ms").asLong() > 0, r.report().toString());
    } finally {
      g.close();
    }
    assertEquals(List.of(), NetLab.existingNamespaces(names), "the floor's namespaces are gone");
    assertTrue(ProcessHandle.allProcesses().noneMatch(h -> h.info().arguments().map(a -> a.length > 0
        && a[a.length - 1].startsWith(dev)).orElse(false) && h.info().command().map(c -> c.endsWith("wireguard-go")).orElse(false)),
        "no wireguard-go of the floor runs");
  }

  private static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (java.io.IOException e) {
      return "";
    }
  }
}
