package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What happens to an installed release besides its use, with an application pod's traffic flowing (a
 * request every 50 ms, {@link Traffic}): the container runtime kills a gateway and a worker container with
 * SIGKILL ({@code kill}), and every controller is replaced at once ({@code controllersReplaced}). Each
 * lands in the report with what was measured next to what was required.
 */
final class Lifecycle {
  /**
   * The longest gap in a pod's replies a killed gateway container may cause: the bound the failover check
   * holds a gateway VM's failure to (its design target is 2 s; on a loaded two-core machine one kill took 3.3 s).
   */
  static final long GATEWAY_KILL_MAX_GAP_MS = 5_000;
  static final String REPLACED_SGC = "after-controllers";

  private final KubernetesClient kube;
  private final Release release;
  private final AzureSubscription azure;
  private final Map<String, PodRuntime.PodEvent> events;
  private final PrintStream out;
  private final ObjectNode report;
  private final ObjectMapper json = new ObjectMapper();

  Lifecycle(KubernetesClient kube, Release release, AzureSubscription azure, Map<String, PodRuntime.PodEvent> events,
      PrintStream out, ObjectNode report) {
    this.kube = kube;
    this.release = release;
    this.azure = azure;
    this.events = events;
    this.out = out;
    this.report = report;
  }

  /**
   * SIGKILL of the gateway container on the first gateway node, then of the worker container on the node of
   * {@code podKey} (an annotated pod), each with that pod's traffic flowing. A gateway is recovered when its
   * new container's member answers the load balancer's probe again (it does so only once its peers are back
   * from its node-local journal); a worker when its new member is Ready and the pod's requests get replies
   * through the gateway again. No reply may ever come from the node's own address (a leak).
   */
  void kill(String podKey) {
    ArrayNode runs = report.putArray("kill");
    PodRuntime.PodEvent pod = events.get(podKey);
    if (pod == null || !pod.ok()) {
      runs.addObject().put("container", "").put("ok", false).put("detail", "pod " + podKey + " is not running");
      return;
    }
    Optional<Release.Member> gateway = release.members().stream().filter(m -> m.role().equals("gateway"))
        .min(java.util.Comparator.comparing(Release.Member::node));
    Optional<Release.Member> worker = release.members().stream()
        .filter(m -> m.role().equals("worker") && m.node().equals(pod.node())).findFirst();
    java.util.function.Predicate<String> egress = viaGateway(podKey);
    try (Traffic traffic = new Traffic(pod.netns())) {
      Sh.sleep(2_000);
      gateway.ifPresent(g -> killOne(runs.addObject(), g, traffic, egress, () -> backendHealthy(g), null));
      worker.ifPresent(w -> killOne(runs.addObject(), w, traffic, egress, () -> true, pod.netns()));
    }
    if (gateway.isEmpty() || worker.isEmpty()) {
      runs.addObject().put("container", "").put("ok", false).put("detail", "no gateway member, or no worker member on "
          + pod.node());
    }
  }

  /**
   * Whether an address the echo saw is one of the pod's configuration's prefix (either gateway's SNAT
   * address); anything else, the node's own address above all, is a leak.
   */
  private java.util.function.Predicate<String> viaGateway(String podKey) {
    String ns = podKey.substring(0, podKey.indexOf('/'));
    var pod = kube.pods().inNamespace(ns).withName(podKey.substring(podKey.indexOf('/') + 1)).get();
    String sgc = pod == null || pod.getMetadata().getAnnotations() == null ? null : pod.getMetadata().getAnnotations().get(Demo.ANNOTATION);
    String prefix = sgc == null ? "" : Demo.egressPrefix(kube, ns, sgc).orElse("");
    return ip -> !prefix.isEmpty() && Demo.inCidr(ip, prefix);
  }

  /** {@code podNetns}: for a worker, the pod whose wireguard-go process must outlive the worker's container. */
  private void killOne(ObjectNode r, Release.Member m, Traffic traffic, java.util.function.Predicate<String> egress,
      java.util.function.BooleanSupplier up, String podNetns) {
    Optional<ProcessHandle> tunnel = podNetns == null ? Optional.empty() : tunnelProcess(podNetns);
    String before = release.containerId(m).orElse("");
    r.put("container", m.container().getName()).put("pod", m.name()).put("node", m.node()).put("role", m.role())
        .put("containerIdBefore", before);
    if (before.isEmpty()) {
      r.put("ok", false).put("detail", "no running container");
      return;
    }
    long t0 = System.nanoTime();
    release.kill(m, before);
    // the runtime restarts the container at once (its first crash); recovered once the member serves again
    // and the pod's requests, started after that, get replies through the gateway
    long servedAt = Sh.poll(() -> {
      Optional<Release.Member> now = release.member(m.uid());
      boolean restarted = now.flatMap(release::containerId).filter(id -> !id.equals(before)).isPresent();
      if (!restarted || !now.map(x -> Workloads.ready(x.pod())).orElse(false) || !up.getAsBoolean()) {
        return -1L;
      }
      return traffic.firstReplyAfter(System.nanoTime() - 200_000_000L, egress);
    }, at -> at > 0, Duration.ofSeconds(180), 250);
    long recoveredMs = servedAt > 0 ? (servedAt - t0) / 1_000_000 : -1;
    Sh.sleep(1_000);
    long t1 = System.nanoTime();
    long gap = traffic.longestGapMs(t0, t1);
    long failed = traffic.failed(t0, t1);
    long started = traffic.started(t0, t1);
    List<String> leaked = traffic.seenBetween(t0, t1).stream().filter(egress.negate()).toList();
    boolean recovered = recoveredMs >= 0;
    // the pod's wireguard-go runs in the tunnel holder, not in the worker's container: the kill must not end it
    boolean survived = tunnel.map(ProcessHandle::isAlive).orElse(false);
    boolean ok = recovered && leaked.isEmpty() && (!m.role().equals("gateway") || gap <= GATEWAY_KILL_MAX_GAP_MS)
        && (podNetns == null || survived);
    r.put("containerIdAfter", release.member(m.uid()).flatMap(release::containerId).orElse("")).put("recoveredMs", recoveredMs)
        .put("maxGapMs", gap).put("failedRequests", failed).put("requests", started)
        .put("leakedVia", String.join(",", leaked)).put("ok", ok);
    if (podNetns != null) {
      r.put("tunnelPid", tunnel.map(ProcessHandle::pid).orElse(-1L)).put("tunnelSurvived", survived);
    }
    out.println("kill: " + m.role() + " container on " + m.node() + " SIGKILLed -> " + (recovered ? "serving again after "
        + recoveredMs + " ms" : "NOT recovered within 180 s") + "; the pod's longest gap " + gap + " ms, " + failed + " of "
        + started + " requests failed" + (leaked.isEmpty() ? "" : ", replies via " + leaked + " (LEAKED)")
        + (podNetns == null ? "" : survived ? "; the pod's wireguard-go lived on in the tunnel holder" : "; the pod's wireguard-go ENDED"));
  }

  /** The wireguard-go process serving the pod's wg0 (found by the device's creation name, its alias). */
  static Optional<ProcessHandle> tunnelProcess(String podNetns) {
    String device = DemoChecks.deviceOf(podNetns);
    if (device.isEmpty()) {
      return Optional.empty();
    }
    return ProcessHandle.allProcesses().filter(h -> h.info().arguments()
            .map(x -> x.length >= 2 && x[x.length - 1].equals(device) && x[x.length - 2].equals("-f")).orElse(false)
            && h.info().command().map(c -> c.endsWith("wireguard-go")).orElse(false))
        .findFirst();
  }

  private boolean backendHealthy(Release.Member gateway) {
    String ip = release.nodeIp(gateway.node());
    Map<Integer, List<String>> healthy = azure.follower().healthyBackends();
    return !healthy.isEmpty() && healthy.values().stream().allMatch(l -> l.contains(ip));
  }

  /**
   * Every controller pod deleted at once, as a node pool upgrade or a bad rollout does: the Deployment makes
   * new ones, which must join the cluster the gateways and workers are in (never form one of their own),
   * and then carry out a change: a new configuration and a pod annotated for it, served with its prefix.
   */
  void controllersReplaced(String node) {
    ObjectNode r = report.putObject("controllersReplaced");
    List<Release.Member> old = release.members().stream().filter(m -> m.role().equals("controller")).toList();
    Set<String> oldUids = new HashSet<>();
    old.forEach(m -> oldUids.add(m.uid()));
    long t0 = System.nanoTime();
    old.forEach(m -> kube.pods().inNamespace(Release.NAMESPACE).withName(m.name()).delete());
    List<Release.Member> fresh = Sh.poll(() -> release.members().stream().filter(m -> m.role().equals("controller"))
            .filter(m -> !oldUids.contains(m.uid()) && m.ip() != null && Workloads.ready(m.pod())).toList(),
        l -> l.size() >= old.size(), Duration.ofSeconds(240), 1000);
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    r.put("replaced", old.size()).put("readyMs", fresh.size() >= old.size() ? readyMs : -1);
    // one cluster: a gateway's view has the new controllers Up, and a new controller's view has the gateway
    Optional<Release.Member> gateway = release.members().stream().filter(m -> m.role().equals("gateway")).findFirst();
    boolean gatewaySeesNew = gateway.isPresent() && fresh.size() >= old.size() && Sh.poll(
        () -> upMembers(gateway.get()).containsAll(fresh.stream().map(Release.Member::ip).toList()), b -> b, Duration.ofSeconds(60), 1000);
    boolean newSeeGateway = gateway.isPresent() && !fresh.isEmpty() && fresh.stream()
        .allMatch(c -> upMembers(c).contains(gateway.get().ip()));
    r.put("oneCluster", gatewaySeesNew && newSeeGateway);
    // the change: a configuration made now, and a pod that needs it
    Demo.apply(kube, new ByteArrayInputStream(E2e.LATE_SGC.replace("name: late", "name: " + REPLACED_SGC)
        .getBytes(StandardCharsets.UTF_8)));
    String key = E2e.NS + "/" + REPLACED_SGC;
    kube.pods().inNamespace(E2e.NS).resource(new PodBuilder().withNewMetadata().withNamespace(E2e.NS).withName(REPLACED_SGC)
        .addToAnnotations(Demo.ANNOTATION, REPLACED_SGC).endMetadata().withNewSpec().withNodeName(node).addNewContainer()
        .withName("app").withImage(NodeRuntime.NO_IMAGE).endContainer().endSpec().build()).create();
    PodRuntime.PodEvent e = Sh.poll(() -> events.get(key), x -> x != null && x.ok(), Duration.ofSeconds(180), 500);
    String prefix = Demo.egressPrefix(kube, E2e.NS, REPLACED_SGC).orElse("");
    String seen = e == null || !e.ok() ? "" : Demo.egressOf(e.netns(), Duration.ofSeconds(10)).orElse("");
    boolean served = !prefix.isEmpty() && !seen.isEmpty() && Demo.inCidr(seen, prefix);
    r.put("sgc", key).put("prefix", prefix).put("egressIp", seen).put("served", served);
    boolean ok = fresh.size() >= old.size() && gatewaySeesNew && newSeeGateway && served;
    r.put("ok", ok);
    out.println("controllers replaced: " + old.size() + " deleted at once, " + (fresh.size() >= old.size()
        ? "new ones ready after " + readyMs + " ms" : "new ones NOT ready") + ", " + (gatewaySeesNew && newSeeGateway
        ? "in the gateways' cluster" : "NOT in the gateways' cluster") + "; a configuration made then: pod " + key + " egresses via "
        + (seen.isEmpty() ? "nothing" : seen) + (served ? " (in " + prefix + ")" : " (NOT in " + prefix + ")"));
  }

  /**
   * {@code helm upgrade} to another tag of the same build ({@code toTag}), with every annotated pod in
   * {@code podKeys} sending requests: controllers, gateways and workers all roll, in the order and at the
   * pace their Deployment and DaemonSets give. Measures per pod (and for the plain pod {@code demo/plain}, a
   * control without a gateway: {@code plainFailedRequests}, {@code plainLongestGapMs}) the longest gap in replies and the failed
   * requests until every member runs the new tag and is Ready. {@code ok}: everything rolled, every pod is
   * answered through its gateway afterwards and nothing leaked; {@code targetMet}: every pod's longest gap under
   * the failover target ({@link Failover#TARGET_MS}; every pod's gateway rolls in an upgrade).
   */
  void upgrade(java.util.function.Function<String, List<String>> renderAndApply, String toTag, int members, List<String> podKeys) {
    ObjectNode r = report.putObject("upgrade").put("toTag", toTag);
    List<PodRuntime.PodEvent> tunnelled = podKeys.stream().map(events::get).filter(e -> e != null && e.ok()).toList();
    List<Traffic> traffic = tunnelled.stream().map(e -> new Traffic(e.netns())).toList();
    // the same measure from a pod without a gateway: failures there are the machine's, not the tunnels'
    PodRuntime.PodEvent controlPod = events.get(Faults.CONTROL_POD);
    Traffic control = controlPod == null || !controlPod.ok() ? null : new Traffic(controlPod.netns());
    try {
      Sh.sleep(2_000);
      List<java.util.function.Predicate<String>> egress = tunnelled.stream().map(e -> viaGateway(e.key())).toList();
      long t0 = System.nanoTime();
      r.put("appliedAt", java.time.Instant.now().toString());
      List<String> applied = renderAndApply.apply(toTag);
      r.put("applied", applied.size());
      List<Release.Member> rolled = Sh.poll(() -> release.members().stream()
              .filter(m -> m.container().getImage().endsWith(":" + toTag) && m.ip() != null && Workloads.ready(m.pod())).toList(),
          l -> l.size() >= members && release.members().size() == members, Duration.ofSeconds(900), 1000);
      long rolledMs = (System.nanoTime() - t0) / 1_000_000;
      boolean allRolled = rolled.size() >= members;
      // then every pod must be answered through its gateway again
      boolean recovered = true;
      for (int i = 0; i < traffic.size(); i++) {
        Traffic t = traffic.get(i);
        java.util.function.Predicate<String> via = egress.get(i);
        long since = System.nanoTime();
        recovered &= Sh.poll(() -> t.firstReplyAfter(since, via), at -> at > 0, Duration.ofSeconds(90), 250) > 0;
      }
      long t1 = System.nanoTime();
      ArrayNode pods = r.putArray("pods");
      long maxGap = 0;
      long failed = 0;
      boolean leaked = false;
      for (int i = 0; i < traffic.size(); i++) {
        Traffic t = traffic.get(i);
        java.util.function.Predicate<String> via = egress.get(i);
        long gap = t.longestGapMs(t0, t1);
        long f = t.failed(t0, t1);
        List<String> leaks = t.seenBetween(t0, t1).stream().filter(via.negate()).toList();
        maxGap = Math.max(maxGap, gap);
        failed += f;
        leaked |= !leaks.isEmpty();
        ObjectNode pod = pods.addObject().put("pod", tunnelled.get(i).key()).put("node", tunnelled.get(i).node()).put("maxGapMs", gap)
            .put("failedRequests", f).put("requests", t.started(t0, t1)).put("leakedVia", String.join(",", leaks));
        // when the requests failed (ms after the upgrade was applied, first and last failed request), to set
        // against the members' logs: which roll (a gateway's, the node's worker's) a gap belongs to
        ArrayNode spans = pod.putArray("failedSpansMs");
        t.failureSpans(t0, t1).forEach(sp -> spans.addArray().add(sp[0]).add(sp[1]));
      }
      long plainFailed = control == null ? -1 : control.failed(t0, t1);
      long plainGap = control == null ? -1 : control.longestGapMs(t0, t1);
      r.put("plainFailedRequests", plainFailed).put("plainRequests", control == null ? 0 : control.started(t0, t1))
          .put("plainLongestGapMs", plainGap);
      // the plain pod's failed spans too, to set against the pods' (the same moments: the machine's, not the tunnels')
      ArrayNode plainSpans = r.putArray("plainFailedSpansMs");
      if (control != null) {
        control.failureSpans(t0, t1).forEach(sp -> plainSpans.addArray().add(sp[0]).add(sp[1]));
      }
      // the target: no pod's gap above the failover target (every pod's gateway rolls in an upgrade)
      boolean targetMet = maxGap < Failover.TARGET_MS;
      boolean ok = allRolled && recovered && !leaked && !tunnelled.isEmpty();
      r.put("rolledMs", allRolled ? rolledMs : -1).put("members", rolled.size()).put("maxGapMs", maxGap)
          .put("failedRequests", failed).put("recovered", recovered).put("targetMet", targetMet).put("ok", ok);
      out.println("upgrade to " + toTag + ": " + (allRolled ? rolled.size() + " members rolled in " + rolledMs + " ms"
          : "only " + rolled.size() + " of " + members + " members rolled") + "; pods' longest gap " + maxGap + " ms, "
          + failed + " requests failed (plain pod: " + plainFailed + " failed, longest gap " + plainGap + " ms)" + (targetMet ? ""
          : " (not under the " + Failover.TARGET_MS + " ms failover target)") + (recovered ? "" : "; NOT every pod answered again")
          + (leaked ? "; LEAKED via the node's address" : ""));
    } finally {
      traffic.forEach(Traffic::close);
      if (control != null) {
        control.close();
      }
    }
  }

  /** The addresses of the members a member sees Up (its management {@code /cluster/members}). */
  private Set<String> upMembers(Release.Member m) {
    Set<String> up = new HashSet<>();
    try {
      JsonNode members = json.readTree(release.management(m, "cluster/members")).path("members");
      for (JsonNode x : members) {
        if ("Up".equals(x.path("status").asText())) {
          String node = x.path("node").asText();
          int at = node.indexOf('@');
          int colon = node.lastIndexOf(':');
          if (at >= 0 && colon > at) {
            up.add(node.substring(at + 1, colon));
          }
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // an unreadable answer counts as seeing nobody
    }
    return up;
  }

  /** Deletes what {@link #controllersReplaced} made (before the teardown deletes the configurations). */
  void cleanUp() {
    kube.pods().inNamespace(E2e.NS).withName(REPLACED_SGC).delete();
  }
}
