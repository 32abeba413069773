package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Gateway failover, measured from inside a pod that starts a request to the internet echo every 50 ms
 * ({@link Traffic}: each may take up to 1 s, so they overlap and the measure is as fine as the interval), for
 * each {@link Kind} of gateway loss:
 * <ul>
 *   <li>{@code nic}: the gateway VM the pod egresses through loses its NIC (as when a VM dies, its processes
 *       still running); the failover is from the NIC going down to the first reply through another gateway;</li>
 *   <li>{@code member}: that VM's gateway member container is killed with SIGKILL (the runtime starts it
 *       again); the failover is the pod's longest gap in replies over the {@link #OUTAGE_WINDOW} after the kill;</li>
 *   <li>{@code node}: the whole VM is gone: its NIC down and every member container on it killed at once, and it stays
 *       dark for {@link #NODE_DARK}, longer than the cluster takes to down its members (unreachable after a few
 *       seconds, downed by the split-brain resolver 20 s later), so what the rest of the cluster does about a
 *       node that is gone for good (views without its gateway) happens while the pod is watched; the failover is
 *       the pod's longest gap in replies over that time (a second outage after the first failover counts), and
 *       {@code firstMs} the time to the first reply through another gateway, as for {@code nic}. The namespace
 *       itself stays, so that the VM can come back for the next run.</li>
 * </ul>
 *
 * <p>After each run the VM gets its NIC back and its containers run again (the runtime restarts them); before
 * another run, once the ILB probes it healthy again, the pod's egress is watched for {@link #FAILBACK_WATCH} and
 * the longest gap between replies is the failback disruption (the ILB may hash the pod's flow back to the
 * returned gateway, whose old session the pod no longer has).
 */
final class Failover {
  static final Duration FAILBACK_WATCH = Duration.ofSeconds(6);
  /** For {@code member}: how long after the kill the pod's replies are looked at for their longest gap. */
  static final Duration OUTAGE_WINDOW = Duration.ofSeconds(10);
  /** For {@code node}: how long the VM stays dark, NIC down: past the downing of its members. */
  static final Duration NODE_DARK = Duration.ofSeconds(35);
  /** How long a killed member may take to run and be probed healthy again. */
  static final Duration BACK_WITHIN = Duration.ofSeconds(180);
  static final long TARGET_MS = 2000;

  /** What the gateway loses. */
  enum Kind {
    NIC, MEMBER, NODE;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** {@code nic}, {@code member} or {@code node}; anything else fails naming the choices. */
    static Kind parse(String label) {
      for (Kind k : values()) {
        if (k.label().equals(label.trim())) {
          return k;
        }
      }
      throw new IllegalArgumentException("unknown failover kind '" + label + "' (nic, member, node)");
    }
  }

  /**
   * One run's result; {@code detail} says what went wrong, if anything; {@code back} how the killed members
   * came back (empty for {@code nic}).
   */
  record Run(String from, String to, long ms, long firstMs, int requests, long failbackGapMs, String detail, String back) {}

  private final AzureVnet vnet;
  private final AzureFollower follower;
  private final Release release;
  private final Function<String, Optional<Sandbox.SimNode>> gatewayByPublicIp;

  Failover(AzureVnet vnet, AzureFollower follower, Release release, Function<String, Optional<Sandbox.SimNode>> gatewayByPublicIp) {
    this.vnet = vnet;
    this.follower = follower;
    this.release = release;
    this.gatewayByPublicIp = gatewayByPublicIp;
  }

  /**
   * {@code runs} failovers of each kind of the pod in {@code podNetns}. Writes into {@code f} the first kind's runs
   * and summary (the report's {@code failover} as before: {@code ms} of its first run, {@code medianMs}, {@code maxMs},
   * {@code ok}, {@code targetMet}) and every kind's under {@code byKind}; true when every run of every kind recovered.
   */
  boolean measure(String podNetns, int runs, List<Kind> kinds, ObjectNode f) {
    boolean allOk = true;
    ObjectNode byKind = f.putObject("byKind");
    for (Kind kind : kinds) {
      ObjectNode k = byKind.putObject(kind.label());
      allOk &= measure(podNetns, runs, kind, k);
      if (kind == kinds.get(0)) {
        f.put("kind", kind.label());
        for (String field : List.of("ms", "maxMs", "medianMs", "from", "to")) {
          if (k.has(field)) {
            f.set(field, k.get(field));
          }
        }
        f.set("runs", k.get("runs"));
        f.put("targetMet", k.path("targetMet").asBoolean(false));
      }
    }
    f.put("ok", allOk).put("targetMs", TARGET_MS).put("probeIntervalMs", follower.probeIntervalMs())
        .put("targetMetByEveryKind", kinds.stream().allMatch(kind -> byKind.path(kind.label()).path("targetMet").asBoolean(false)));
    return allOk;
  }

  private boolean measure(String podNetns, int runs, Kind kind, ObjectNode f) {
    ArrayNode out = f.putArray("runs");
    List<Long> times = new ArrayList<>();
    boolean allOk = true;
    for (int i = 0; i < runs; i++) {
      Run run = once(podNetns, kind, i + 1 < runs);
      boolean ok = run.ms() >= 0 && run.detail().isEmpty();
      allOk &= ok;
      out.addObject().put("from", run.from()).put("to", run.to()).put("ms", run.ms()).put("firstMs", run.firstMs()).put("ok", ok)
          .put("requests", run.requests()).put("failbackGapMs", run.failbackGapMs()).put("detail", run.detail())
          .put("back", run.back());
      if (run.ms() >= 0) {
        times.add(run.ms());
      }
      if (!run.detail().isEmpty() && run.from().isEmpty()) {
        break; // no victim: the next run would find none either
      }
    }
    times.sort(Long::compare);
    long max = times.isEmpty() ? -1 : times.get(times.size() - 1);
    f.put("ms", out.isEmpty() ? -1 : out.get(0).path("ms").asLong(-1)).put("ok", allOk && !times.isEmpty())
        .put("maxMs", max).put("medianMs", times.isEmpty() ? -1 : times.get(times.size() / 2))
        .put("targetMet", allOk && !times.isEmpty() && max < TARGET_MS);
    if (!out.isEmpty()) {
      f.put("from", out.get(0).path("from").asText()).put("to", out.get(0).path("to").asText());
    }
    return allOk && !times.isEmpty();
  }

  /** One failover; the VM is whole again afterwards; {@code failback}: also measure the failback. */
  private Run once(String podNetns, Kind kind, boolean failback) {
    String before = Demo.egressOf(podNetns, Duration.ofSeconds(10)).orElse("");
    Optional<Sandbox.SimNode> victim = gatewayByPublicIp.apply(before);
    if (victim.isEmpty()) {
      return new Run("", "", -1, -1, 0, -1, "the pod's egress address " + before + " is no gateway's", "");
    }
    Sandbox.SimNode node = victim.get();
    List<Release.Member> members = release.members().stream().filter(m -> m.node().equals(node.name()))
        .filter(m -> kind == Kind.NODE || m.role().equals("gateway")).toList();
    Map<String, String> containers = new java.util.HashMap<>();
    members.forEach(m -> release.containerId(m).ifPresent(id -> containers.put(m.uid(), id)));
    if (kind != Kind.NIC && (containers.isEmpty() || members.stream().noneMatch(m -> m.role().equals("gateway")))) {
      return new Run(node.name(), "", -1, -1, 0, -1, "no running gateway member on " + node.name(), "");
    }
    try (Traffic traffic = new Traffic(podNetns)) {
      long t0 = System.nanoTime();
      if (kind != Kind.MEMBER) {
        vnet.setVmLink(node.ns(), false);
      }
      if (kind != Kind.NIC) {
        members.forEach(m -> Optional.ofNullable(containers.get(m.uid())).ifPresent(id -> release.kill(m, id)));
      }
      long ms;
      long firstMs = -1;
      if (kind == Kind.MEMBER) {
        Sh.sleep(OUTAGE_WINDOW.toMillis());
        ms = traffic.longestGapMs(t0, t0 + OUTAGE_WINDOW.toNanos());
        ms = ms >= OUTAGE_WINDOW.toMillis() ? -1 : ms;
      } else {
        long recoveredAt = Sh.poll(() -> traffic.firstReplyAfter(t0, seen -> !seen.equals(before)), at -> at >= 0,
            Duration.ofSeconds(60), 20);
        ms = firstMs = recoveredAt < 0 ? -1 : (recoveredAt - t0) / 1_000_000;
        if (kind == Kind.NODE && recoveredAt >= 0) {
          Sh.sleep(Math.max(0, (t0 + NODE_DARK.toNanos() - System.nanoTime()) / 1_000_000));
          long gap = traffic.longestGapMs(t0, t0 + NODE_DARK.toNanos());
          ms = gap >= NODE_DARK.toMillis() ? -1 : gap;
        }
      }
      long now = System.nanoTime();
      int requests = (int) traffic.started(t0, now);
      List<String> seen = traffic.seenBetween(t0, now);
      String after = seen.stream().filter(s -> !s.equals(before)).findFirst().orElse(seen.isEmpty() ? "" : seen.get(0));
      String to = gatewayByPublicIp.apply(after).map(Sandbox.SimNode::name).orElse("");
      // the VM is always made whole (a member left unreachable would make the split-brain resolver down the
      // whole cluster at teardown): NIC back, killed containers running again, probed healthy
      if (kind != Kind.MEMBER) {
        vnet.setVmLink(node.ns(), true);
      }
      List<String> back = new ArrayList<>();
      String detail = kind == Kind.NIC ? "" : awaitRestarted(members, containers, back);
      boolean healthy = awaitBackendHealthy(node.ip(), kind == Kind.NIC ? Duration.ofSeconds(30) : BACK_WITHIN);
      if (detail.isEmpty() && kind != Kind.NIC && !healthy) {
        detail = "the gateway on " + node.name() + " was not probed healthy again within " + BACK_WITHIN.toSeconds() + " s";
      }
      long gap = -1;
      if (failback) {
        long watchFrom = System.nanoTime();
        Sh.sleep(FAILBACK_WATCH.toMillis());
        gap = traffic.longestGapMs(watchFrom, System.nanoTime());
      }
      return new Run(node.name(), to, ms, firstMs, requests, gap, detail, String.join("; ", back));
    }
  }

  /**
   * Waits until every killed member runs again and is Ready: in a new container of its pod, or, when the runtime
   * holds its restart back ({@code CrashLoopBackOff}: each kill of the same pod within 10 minutes doubles the
   * kubelet's delay, up to 5 min), in the new pod its DaemonSet makes once the old one is deleted, as
   * {@code kubectl delete pod} would. The failover was measured before this; the next run needs the gateway
   * whole again, not the back-off waited out. What did not come back, or empty; {@code back} gets how each did.
   */
  private String awaitRestarted(List<Release.Member> members, Map<String, String> containers, List<String> back) {
    long start = System.nanoTime();
    Map<String, Release.Member> replacedBy = new java.util.HashMap<>();
    List<String> missing = Sh.poll(() -> members.stream().filter(m -> containers.containsKey(m.uid())).filter(m -> {
      if (replacedBy.containsKey(m.uid())) {
        Optional<Release.Member> fresh = release.members().stream()
            .filter(x -> x.node().equals(m.node()) && x.role().equals(m.role()) && !x.uid().equals(m.uid())).findFirst();
        return fresh.map(x -> !Workloads.ready(x.pod())).orElse(true);
      }
      Optional<Release.Member> now = release.member(m.uid());
      if (now.map(x -> heldBack(x.pod(), x.container().getName())).orElse(false)) {
        release.deletePod(m);
        replacedBy.put(m.uid(), m);
        back.add(m.name() + ": CrashLoopBackOff after " + (System.nanoTime() - start) / 1_000_000 + " ms, pod deleted and made again");
        return true;
      }
      boolean restarted = now.flatMap(release::containerId).filter(id -> !id.equals(containers.get(m.uid()))).isPresent();
      return !restarted || !now.map(x -> Workloads.ready(x.pod())).orElse(false);
    }).map(Release.Member::name).toList(), List::isEmpty, BACK_WITHIN, 500);
    if (missing.isEmpty()) {
      back.add("Ready again after " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }
    return missing.isEmpty() ? "" : "not running and Ready again within " + BACK_WITHIN.toSeconds() + " s: " + missing;
  }

  /** Whether the runtime holds back the restart of {@code container} of {@code pod}: it waits in {@code CrashLoopBackOff}. */
  static boolean heldBack(io.fabric8.kubernetes.api.model.Pod pod, String container) {
    return pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null && pod.getStatus().getContainerStatuses().stream()
        .filter(c -> container.equals(c.getName())).anyMatch(c -> c.getState() != null && c.getState().getWaiting() != null
            && "CrashLoopBackOff".equals(c.getState().getWaiting().getReason()));
  }

  private boolean awaitBackendHealthy(String primaryIp, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Map<Integer, List<String>> healthy = follower.healthyBackends();
      if (!healthy.isEmpty() && healthy.values().stream().allMatch(l -> l.contains(primaryIp))) {
        return true;
      }
      Sh.sleep(100);
    }
    return false;
  }
}
