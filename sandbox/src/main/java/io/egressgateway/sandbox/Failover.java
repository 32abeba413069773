package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Gateway failover, measured from inside a pod: the gateway VM the pod egresses through loses its NIC (as
 * when a VM dies) while the pod starts a request to the internet echo every 50 ms ({@link Traffic}: each may
 * take up to 1 s); the failover time is from the NIC going down to the first reply that came through another gateway.
 * Overlapping requests make the measurement as fine as the request interval: a single request loop with
 * a short timeout would add up to its timeout to every result.
 *
 * <p>After each run the VM gets its NIC back; before another run, once the ILB probes it healthy again, the
 * pod's egress is watched for {@link #FAILBACK_WATCH} and the longest gap between replies is the failback disruption
 * (the ILB may hash the pod's flow back to the returned gateway, whose old session the pod no longer has).
 */
final class Failover {
  static final Duration FAILBACK_WATCH = Duration.ofSeconds(6);

  /** One run's result. */
  record Run(String from, String to, long ms, int requests, long failbackGapMs) {}

  private final AzureVnet vnet;
  private final AzureFollower follower;
  private final Function<String, Optional<Sandbox.SimNode>> gatewayByPublicIp;

  Failover(AzureVnet vnet, AzureFollower follower, Function<String, Optional<Sandbox.SimNode>> gatewayByPublicIp) {
    this.vnet = vnet;
    this.follower = follower;
    this.gatewayByPublicIp = gatewayByPublicIp;
  }

  /** {@code runs} failovers of the pod in {@code podNetns}; writes runs, the first run's ms and a summary into {@code f}. */
  boolean measure(String podNetns, int runs, ObjectNode f) {
    ArrayNode out = f.putArray("runs");
    List<Long> times = new ArrayList<>();
    boolean allOk = true;
    for (int i = 0; i < runs; i++) {
      Optional<Run> r = once(podNetns, i + 1 < runs);
      if (r.isEmpty()) {
        out.addObject().put("ok", false);
        allOk = false;
        break;
      }
      Run run = r.get();
      boolean ok = run.ms() >= 0;
      allOk &= ok;
      out.addObject().put("from", run.from()).put("to", run.to()).put("ms", run.ms()).put("ok", ok)
          .put("requests", run.requests()).put("failbackGapMs", run.failbackGapMs());
      if (ok) {
        times.add(run.ms());
      }
    }
    times.sort(Long::compare);
    long max = times.isEmpty() ? -1 : times.get(times.size() - 1);
    long first = out.isEmpty() ? -1 : out.get(0).path("ms").asLong(-1);
    f.put("ms", first).put("ok", allOk && !times.isEmpty()).put("targetMs", 2000).put("probeIntervalMs", follower.probeIntervalMs())
        .put("maxMs", max).put("medianMs", times.isEmpty() ? -1 : times.get(times.size() / 2))
        .put("targetMet", allOk && !times.isEmpty() && max < 2000);
    if (!out.isEmpty()) {
      f.put("from", out.get(0).path("from").asText()).put("to", out.get(0).path("to").asText());
    }
    return allOk;
  }

  /** One failover; the VM gets its NIC back afterwards; {@code restore}: also measure the failback. */
  private Optional<Run> once(String podNetns, boolean restore) {
    String before = Demo.egressOf(podNetns, Duration.ofSeconds(10)).orElse("");
    Optional<Sandbox.SimNode> victim = gatewayByPublicIp.apply(before);
    if (victim.isEmpty()) {
      return Optional.empty();
    }
    try (Traffic traffic = new Traffic(podNetns)) {
      long t0 = System.nanoTime();
      vnet.setVmLink(victim.get().ns(), false);
      long recoveredAt = Sh.poll(() -> traffic.firstReplyAfter(t0, seen -> !seen.equals(before)), at -> at >= 0,
          Duration.ofSeconds(60), 20);
      long ms = recoveredAt < 0 ? -1 : (recoveredAt - t0) / 1_000_000;
      int requests = (int) traffic.started(t0, System.nanoTime());
      String after = recoveredAt < 0 ? "" : traffic.seenBetween(t0, System.nanoTime()).stream()
          .filter(seen -> !seen.equals(before)).findFirst().orElse("");
      String to = gatewayByPublicIp.apply(after).map(Sandbox.SimNode::name).orElse("");
      long gap = -1;
      // the VM always gets its NIC back (a member left unreachable would make the split-brain resolver down
      // the whole cluster at teardown); the failback is measured before another run
      vnet.setVmLink(victim.get().ns(), true);
      if (restore) {
        awaitBackendHealthy(victim.get().ip(), Duration.ofSeconds(30));
        long watchFrom = System.nanoTime();
        Sh.sleep(FAILBACK_WATCH.toMillis());
        gap = traffic.longestGapMs(watchFrom, System.nanoTime());
      }
      return Optional.of(new Run(victim.get().name(), to, ms, requests, gap));
    }
  }

  private void awaitBackendHealthy(String primaryIp, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Map<Integer, List<String>> healthy = follower.healthyBackends();
      if (!healthy.isEmpty() && healthy.values().stream().allMatch(l -> l.contains(primaryIp))) {
        return;
      }
      Sh.sleep(100);
    }
  }
}
