package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Optional;

/**
 * A partition between one gateway member and the rest of the cluster: its Akka remoting traffic (TCP to
 * and from the remoting port) dropped by an nft table in its node's namespace, the data path untouched.
 * Shorter than the split-brain resolver's {@code stable-after} (Akka's default, 20 s: neither the chart nor
 * the product sets it), the member is only unreachable for a while; longer, the majority downs it and it
 * downs itself, its process ends and its runtime restarts it, as a kubelet would. Either way the tunnels it
 * serves keep forwarding (the pod's longest gap stays within the gateway failover bound) and it ends Up in
 * the cluster again.
 */
final class PartitionFaults {
  /** Akka's split-brain resolver default, which the product keeps. */
  static final Duration STABLE_AFTER = Duration.ofSeconds(20);
  static final Duration SHORT = Duration.ofSeconds(10);
  static final Duration LONG = Duration.ofSeconds(45);

  private final Faults f;
  private final ObjectMapper json = new ObjectMapper();

  PartitionFaults(Faults f) {
    this.f = f;
  }

  void shortPartition(Faults.Run run) {
    partition(run, SHORT, false);
  }

  void longPartition(Faults.Run run) {
    partition(run, LONG, true);
  }

  private void partition(Faults.Run run, Duration length, boolean downed) {
    Optional<Release.Member> gateway = servingGateway();
    if (gateway.isEmpty()) {
      run.fail("no gateway member");
      return;
    }
    Release.Member g = gateway.get();
    int port = g.container().getPorts() == null ? 25520 : g.container().getPorts().stream()
        .filter(p -> "remoting".equals(p.getName())).mapToInt(p -> p.getContainerPort()).findFirst().orElse(25520);
    String ns = f.nodes.stream().filter(n -> n.name().equals(g.node())).map(Sandbox.SimNode::ns).findFirst().orElseThrow();
    String before = f.release.containerId(g).orElse("");
    run.r.put("gateway", g.name()).put("node", g.node()).put("partitionMs", length.toMillis())
        .put("stableAfterMs", STABLE_AFTER.toMillis());
    long t0 = System.nanoTime();
    String table = "egs_partition";
    Sh.mustWithInput(ns, "table inet " + table + " {\n"
        + " chain input {\n  type filter hook input priority -10;\n  tcp dport " + port + " drop\n  tcp sport " + port + " drop\n }\n"
        + " chain output {\n  type filter hook output priority -10;\n  tcp dport " + port + " drop\n  tcp sport " + port + " drop\n }\n}\n",
        "nft", "-f", "-");
    try {
      Sh.sleep(length.toMillis());
    } finally {
      Sh.quiet(ns, "nft", "delete", "table", "inet", table);
    }
    run.healed();
    // downed: its process ends and the runtime starts a new container; else the same container carries on
    String after = Sh.poll(() -> f.release.member(g.uid()).flatMap(f.release::containerId).orElse(""),
        id -> downed ? !id.isEmpty() && !id.equals(before) : true, Duration.ofSeconds(downed ? 120 : 1), 1000);
    boolean restarted = !after.isEmpty() && !after.equals(before);
    run.r.put("restarted", restarted);
    run.check(restarted == downed, downed ? "the member was not downed and restarted after a partition longer than stable-after"
        : "the member was restarted after a partition shorter than stable-after");
    // Up again in the cluster, as a controller sees it
    boolean up = Sh.poll(() -> upInCluster(g), b -> b, Duration.ofSeconds(120), 1000);
    run.r.put("upAgainMs", up ? (System.nanoTime() - t0) / 1_000_000 : -1);
    run.check(up, "the gateway is not Up in the controllers' view of the cluster");
  }

  /** The gateway member serving the demo's annotated pod (whose SNAT address the echo sees), else the first. */
  private Optional<Release.Member> servingGateway() {
    PodRuntime.PodEvent e = f.events.get(Faults.TRAFFIC_POD);
    String node = e == null ? "" : f.azure.gatewayOf(Demo.egressOf(e.netns(), Duration.ofSeconds(5)).orElse(""));
    var gateways = f.release.members().stream().filter(m -> m.role().equals("gateway")).toList();
    return gateways.stream().filter(m -> m.node().equals(node)).findFirst().or(() -> gateways.stream().findFirst());
  }

  private boolean upInCluster(Release.Member gateway) {
    Release.Member now = f.release.member(gateway.uid()).orElse(gateway);
    if (now.ip() == null) {
      return false;
    }
    for (Release.Member c : f.release.members().stream().filter(m -> m.role().equals("controller")).toList()) {
      try {
        for (JsonNode m : json.readTree(f.release.management(c, "cluster/members")).path("members")) {
          if ("Up".equals(m.path("status").asText()) && m.path("node").asText().contains("@" + now.ip() + ":")) {
            return true;
          }
        }
      } catch (java.io.IOException | RuntimeException e) {
        // an unreadable answer: ask the next controller
      }
    }
    return false;
  }
}
