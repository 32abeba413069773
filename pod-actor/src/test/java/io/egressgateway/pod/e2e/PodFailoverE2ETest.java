package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.pod.model.GatewayRoute;
import io.egressgateway.testing.Eventually;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Gateway failover on Azure's clock (see {@link Topology}): the gateway a pod egresses through goes dark
 * (every packet to and from its VM dropped, links up), and the ILB stand-in keeps sending the pod's flow to
 * it for 5 s, as Azure's load balancer does until its 5 s health probe marks the backend down. The pod's
 * traffic must resume through the other gateway well before that: the worker's failover watchdog points the
 * tunnel at a live gateway's own address. Then the ILB stand-in drops the dead backend, the tunnel goes back
 * to the ILB, the gateway comes back, and the next run starts.
 */
@Tag("privileged")
class PodFailoverE2ETest {
  private static final Duration PROBE = Duration.ofSeconds(5);
  private static final int RUNS = 5;

  @Test
  void podTrafficResumesThroughTheOtherGatewayWhileTheIlbStillSendsToTheDeadOne() throws Exception {
    Lab.requirePrerequisites();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_GATEWAY, Duration.ofSeconds(7))) {
      Topology.AnnotatedPod p = t.addAnnotatedPod("fo");
      String pod = p.netns();
      String device = p.deviceName();
      WgDevice podDevice = p.device();
      String ilb = Topology.ILB + ":" + Topology.PORT;

      // the gateways in the order this pod tries them: odd runs fail its first, even runs its second, so
      // half the runs first try the dead gateway and wait out a retry
      List<String> order = GatewayRoute.order(device, List.of("10.224.0.5:" + Topology.PORT, "10.224.0.6:" + Topology.PORT));
      List<Long> times = new ArrayList<>();
      for (int run = 1; run <= RUNS; run++) {
        String dead = order.get((run - 1) % 2).startsWith("10.224.0.5:") ? "gw1" : "gw2";
        String live = dead.equals("gw1") ? "gw2" : "gw1";
        String deadNs = t.lab.prefix + "-" + dead;
        String deadIp = Topology.GATEWAYS.get(dead)[2];
        // the ILB hashes the pod's flow to the gateway about to die; through the ILB, working: the state a pod
        // is in before a gateway dies
        ilbTo(t, dead);
        Eventually.await(Duration.ofSeconds(40), () -> ilb.equals(t.gatewayEndpoint(podDevice)) && t.egressIp(pod).equals(deadIp),
            "run " + run + ": the tunnel on the ILB and working through " + dead);

        Path log = t.lab.dir.resolve("ping-" + run + ".txt");
        Process ping = new ProcessBuilder(CommandRunner.inNetns(pod, List.of("stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.02", "-W", "1", Topology.ECHO)))
            .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long resumedMs;
        try {
          Eventually.await(Duration.ofSeconds(5), () -> replies(log).size() > 5, "the ping's first replies");
          double killedAt = System.currentTimeMillis() / 1000.0;
          blackhole(t, deadNs, true);
          // the ILB stand-in keeps sending to the dead backend until its probe notices, PROBE later
          CompletableFuture<Void> probe = CompletableFuture.runAsync(() -> ilbTo(t, live),
              CompletableFuture.delayedExecutor(PROBE.toMillis(), TimeUnit.MILLISECONDS));
          Eventually.await(PROBE.plusSeconds(10), probe::isDone, "the ILB stand-in's probe");
          probe.join();
          resumedMs = outageMs(replies(log), killedAt);
          assertTrue(resumedMs >= 0, "run " + run + ": no outage with a reply after it once " + dead + " went dark");
        } finally {
          ping.destroyForcibly().waitFor();
        }
        String seen = t.egressIp(pod);
        System.out.printf("failover e2e run %d: %s went dark, ILB kept sending to it for %d ms; traffic resumed after %d ms via %s (%s)%n",
            run, dead, PROBE.toMillis(), resumedMs, seen, t.gatewayEndpoint(podDevice));
        assertEquals(live.equals("gw1") ? "203.0.113.15" : "203.0.113.16", seen, "run " + run + ": now egressing through " + live);
        times.add(resumedMs);

        // the dead gateway comes back once the tunnel is on the ILB again (with the dead one out of its backends)
        Eventually.await(Duration.ofSeconds(30), () -> ilb.equals(t.gatewayEndpoint(podDevice)), "run " + run + ": the tunnel back on the ILB");
        blackhole(t, deadNs, false);
      }
      List<Long> sorted = times.stream().sorted().toList();
      System.out.printf("failover e2e: %d runs with the ILB following a %d ms probe: %s ms (median %d, max %d)%n",
          RUNS, PROBE.toMillis(), times, sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1));
      for (long ms : times) {
        assertTrue(ms < 2000, "failover took " + ms + " ms, target < 2000 (runs " + times + ")");
      }
      assertNotEquals(0, t.watchdog.kicks());
      assertTrue(t.delete(p));
    }
  }

  /** The ILB stand-in's route for the frontend: to one backend (the one the pod's flow hashes to, or the one left). */
  private static void ilbTo(Topology t, String gw) {
    t.lab.ip(t.vnet, "route", "replace", Topology.ILB + "/32", "via", Topology.GATEWAYS.get(gw)[0], "dev", "v-" + gw, "onlink");
  }

  /**
   * The pod's outage: from the last reply before the first gap of 200 ms or more after {@code killedAt} to
   * the first reply after it (the ping runs every 20 ms); -1 without one.
   */
  static long outageMs(List<Double> replies, double killedAt) {
    for (int i = 1; i < replies.size(); i++) {
      if (replies.get(i) > killedAt && replies.get(i) - replies.get(i - 1) >= 0.2) {
        return Math.round((replies.get(i) - Math.max(killedAt, replies.get(i - 1))) * 1000);
      }
    }
    return -1;
  }

  /** Drops every packet to and from a gateway VM (links stay up, so the ILB stand-in's route still uses it). */
  private static void blackhole(Topology t, String ns, boolean on) {
    if (on) {
      t.lab.cmd.run(CommandRunner.inNetns(ns, List.of("nft", "-f", "-")),
          "table inet pod_e2e_dark {\n chain pre {\n  type filter hook prerouting priority -400; policy drop;\n }\n"
              + " chain out {\n  type filter hook output priority -400; policy drop;\n }\n}\n");
    } else {
      t.lab.cmd.run(CommandRunner.inNetns(ns, List.of("nft", "delete", "table", "inet", "pod_e2e_dark")));
    }
  }

  /** Reply times (epoch seconds) in a {@code ping -D} log. */
  private static List<Double> replies(Path log) {
    try {
      List<Double> out = new ArrayList<>();
      for (String l : Files.readAllLines(log)) {
        if (l.startsWith("[") && l.contains("bytes from")) {
          out.add(Double.parseDouble(l.substring(1, l.indexOf(']'))));
        }
      }
      return out;
    } catch (java.io.IOException e) {
      return List.of();
    }
  }
}
