package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The checks the sandbox runs once the demo is applied and its pods have been through CNI ADD: each pod's
 * egress address, the paths of an annotated pod that must bypass the gateway, the gateways' GatewayStatus
 * objects, the members' metrics, and gateway failover. Each records its result under its own key of the
 * report and prints a line or a table for the console.
 */
final class DemoChecks {
  private final Sandbox.Settings settings;
  private final KubernetesClient kube;
  private final NetLab lab;
  private final AzureVnet vnet;
  private final AzureSubscription azure;
  private final List<Sandbox.SimNode> nodes;
  private final String clientNs;
  private final ObjectNode report;
  private final PrintStream out;

  DemoChecks(Sandbox.Settings settings, KubernetesClient kube, NetLab lab, AzureVnet vnet, AzureSubscription azure,
      List<Sandbox.SimNode> nodes, String clientNs, ObjectNode report, PrintStream out) {
    this.settings = settings;
    this.kube = kube;
    this.lab = lab;
    this.vnet = vnet;
    this.azure = azure;
    this.nodes = nodes;
    this.clientNs = clientNs;
    this.report = report;
    this.out = out;
  }

  /** The {@code namespace/name} a pod's CNI events are keyed by. */
  static String key(Pod p) {
    return p.getMetadata().getNamespace() + "/" + p.getMetadata().getName();
  }

  /** Every pod's egress address against what it should be, as {@code pods} and a table; true when all match. */
  boolean pods(List<Pod> all, Map<String, PodRuntime.PodEvent> events) {
    ArrayNode podsReport = report.putArray("pods");
    boolean allOk = true;
    out.printf("%-28s %-10s %-18s %-22s %s%n", "POD", "NODE", "EGRESS IP", "EXPECTED", "OK");
    for (var pod : all) {
      PodRuntime.PodEvent e = events.get(key(pod));
      Demo.PodCheck check = check(pod, e);
      allOk &= check.ok();
      podsReport.addObject().put("name", check.name()).put("node", check.node()).put("gateway", check.gateway())
          .put("egressIp", check.egressIp()).put("expected", check.expected()).put("ok", check.ok())
          .put("readyMs", check.readyMs()).put("detail", check.detail());
      out.printf("%-28s %-10s %-18s %-22s %s%s%n", check.name(), check.node(), check.egressIp(), check.expected(),
          check.ok() ? "yes" : "NO", check.detail().isEmpty() ? "" : "  (" + check.detail() + ")");
    }
    return allOk;
  }

  private Demo.PodCheck check(Pod pod, PodRuntime.PodEvent e) {
    String name = key(pod);
    if (e == null) {
      return new Demo.PodCheck(name, "", "", "", "", false, -1, "never reached CNI ADD");
    }
    if (!e.ok()) {
      return new Demo.PodCheck(name, e.node(), "", "", "", false, e.addMillis(), "CNI ADD failed: " + e.detail());
    }
    String seen = Demo.egressOf(e.netns(), Duration.ofSeconds(10)).orElse("");
    if (Demo.annotated(pod) && E2e.privateMode(kube, pod)) {
      return E2e.checkPrivatePod(kube, pod, e, seen, Sandbox.SVC_IP);
    }
    if (Demo.annotated(pod)) {
      String sgc = pod.getMetadata().getAnnotations().get(Demo.ANNOTATION);
      var prefix = Demo.egressPrefix(kube, pod.getMetadata().getNamespace(), sgc);
      boolean endpoint = Demo.podEndpointExists(kube, pod.getMetadata().getNamespace(),
          pod.getMetadata().getName(), Duration.ofSeconds(10));
      boolean ok = prefix.isPresent() && !seen.isEmpty() && Demo.inCidr(seen, prefix.get()) && endpoint;
      return new Demo.PodCheck(name, e.node(), azure.gatewayOf(seen), seen, prefix.orElse("(no prefix in SGC status)"), ok,
          e.addMillis(), seen.isEmpty() ? "no answer from the internet echo" : endpoint ? "" : "no PodEndpoint object");
    }
    boolean ok = AzureVnet.DEFAULT_OUTBOUND_IP.equals(seen);
    return new Demo.PodCheck(name, e.node(), "", seen, AzureVnet.DEFAULT_OUTBOUND_IP, ok, e.addMillis(),
        seen.isEmpty() ? "no answer from the internet echo" : "");
  }

  /**
   * For an annotated pod, the two paths that must not use the gateway: a destination in the config's
   * excludeCidrs leaves through the node (the echo sees the VNet's default outbound address), and a
   * connection from another VM into the pod is answered (replies leave by eth0, not into the tunnel).
   * Checked on the demo's annotated pod: its configuration is the one that excludes the echo's CIDR (the
   * e2e configurations do not, or invert the meaning with azureNetworking).
   */
  void annotatedPodPaths(List<Pod> all, Map<String, PodRuntime.PodEvent> events) {
    ObjectNode paths = report.putObject("annotatedPaths");
    var pod = all.stream().filter(Demo::annotated).filter(p -> p.getMetadata().getNamespace().equals("demo"))
        .filter(p -> events.containsKey(key(p)) && events.get(key(p)).ok())
        .findFirst();
    if (pod.isEmpty()) {
      paths.put("ok", false).put("detail", "no provisioned annotated pod");
      return;
    }
    PodRuntime.PodEvent e = events.get(key(pod.get()));
    paths.put("pod", e.key());
    CommandRunner.Result excluded = Sh.quiet(e.netns(), "curl", "-s", "-m", "3",
        "http://" + AzureVnet.ECHO_EXCLUDED_IP + ":" + AzureVnet.ECHO_PORT + "/");
    String excludedSeen = excluded.stdout().trim();
    paths.put("excludedEgressIp", excludedSeen);
    paths.put("excludedOk", AzureVnet.DEFAULT_OUTBOUND_IP.equals(excludedSeen));

    // ingress: a listener in the pod, a client on another VM across the VNet
    Process listener = lab.spawn("ingress-" + e.key().replace('/', '-'), e.netns(),
        List.of("socat", "TCP-LISTEN:9090,reuseaddr", "SYSTEM:echo ingress-ok"));
    String podIp = e.detail();
    String ctlNs = clientNs;
    String answer = "";
    for (int i = 0; i < 20 && answer.isEmpty(); i++) {
      Sh.sleep(100);
      answer = Sh.quiet(ctlNs, "socat", "-T", "2", "-", "TCP:" + podIp + ":9090,connect-timeout=2").stdout().trim();
    }
    listener.destroy();
    paths.put("ingressAnswer", answer);
    paths.put("ingressOk", "ingress-ok".equals(answer));
    paths.put("ok", paths.path("excludedOk").asBoolean() && paths.path("ingressOk").asBoolean());
    out.println("annotated pod " + e.key() + ": excluded CIDR leaves as " + excludedSeen + ", ingress from "
        + Sandbox.SVC_IP + ": " + (answer.isEmpty() ? "no answer" : answer));
  }

  /**
   * Every provisioned annotated pod reaches its node's instance-metadata and node-local DNS stand-ins
   * ({@link NodeStandIns}) through eth0, not the tunnel: the workers' exception CIDRs at work. One entry per
   * pod and target under {@code exceptions}; true when there is at least one and all are reached.
   */
  boolean exceptions(List<Pod> all, Map<String, PodRuntime.PodEvent> events) {
    ArrayNode entries = report.putArray("exceptions");
    boolean ok = true;
    for (Pod pod : all.stream().filter(Demo::annotated).toList()) {
      PodRuntime.PodEvent e = events.get(key(pod));
      if (e != null && e.ok()) {
        ok &= NodeStandIns.check(e.key(), e.netns(), e.detail(), e.node(), entries);
      }
    }
    ok &= !entries.isEmpty();
    long reached = 0;
    for (var x : entries) {
      reached += x.path("ok").asBoolean() ? 1 : 0;
    }
    out.println("exception CIDRs: " + reached + " of " + entries.size() + " requests from annotated pods to "
        + NodeStandIns.IMDS_IP + " and " + NodeStandIns.DNS_IP + " answered by their node via eth0" + (ok ? "" : " (NOT all)"));
    return ok;
  }

  /** Records which gateways report a serving configuration in their GatewayStatus objects (waits up to 20 s). */
  void gatewayStatuses() {
    var ctx = new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder()
        .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1").withKind("GatewayStatus")
        .withPlural("gatewaystatuses").withNamespaced(true).build();
    ArrayNode serving = report.putArray("gatewayStatuses");
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    List<String> names = List.of();
    while (System.nanoTime() < deadline) {
      names = kube.genericKubernetesResources(ctx).inAnyNamespace().list().getItems().stream()
          .filter(g -> g.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
              && spec.get("readyGatewayConfigurations") instanceof List<?> l && !l.isEmpty())
          .map(g -> g.getMetadata().getName()).sorted().toList();
      if (names.size() >= settings.gateways()) {
        break;
      }
      Sh.sleep(500);
    }
    names.forEach(serving::add);
  }

  /**
   * Which of the product's metrics each kind of member exposes on /metrics (Prometheus text). The datapath
   * series appear with the first sample after a config is served (gateways: egress.gateway.metrics-interval;
   * workers: the failover watchdog's next pass), so each kind is polled for a while.
   */
  void metrics(Release members) {
    ObjectNode m = report.putObject("metrics");
    Map<String, List<String>> wanted = Map.of(
        "controller", List.of("egress_azure_arm_calls_total", "egress_reconciles_total"),
        "worker", List.of("egress_cni_add_seconds_bucket", "egress_cni_add_total", "egress_pod_tunnel_oldest_handshake_seconds",
            "egress_pod_tunnels_resumed", "egress_pod_tunnels{", "egress_pod_config_oldest_handshake_seconds{"),
        "gateway", List.of("egress_gateway_peers", "egress_gateway_serving", "egress_reconciles_total",
            "egress_gateway_device_peers{", "egress_gateway_handshake_age_seconds_bucket{", "egress_gateway_received_bytes_total{",
            "egress_gateway_sent_bytes_total{", "egress_gateway_snat_ports_used{", "egress_gateway_dropped_packets_total{"));
    for (var e : wanted.entrySet()) {
      String text = Sh.poll(() -> members.metrics(e.getKey()), t -> e.getValue().stream().allMatch(t::contains),
          Duration.ofSeconds(40), 2000);
      for (String name : e.getValue()) {
        m.put(e.getKey() + ":" + name.replace("{", ""), text.contains(name)); // "{": a series, not only its HELP line
      }
    }
  }

  /**
   * Restarts the worker members as a rolling update of their DaemonSet does ({@code kubectl rollout
   * restart}: node by node, the old pod goes through its preStop hook and stops, then the new pod starts;
   * the application pods stay), then checks that each worker took back the tunnels it had made (metric
   * {@code egress_pod_tunnels_resumed}) and that every annotated pod egresses as before. The wireguard-go
   * processes of a worker's tunnels end with its container, so those tunnels are made again with new keys
   * (with kernel WireGuard they would survive); the demo pod's PodEndpoint must show its new key. While its
   * node's worker is down the private-mode pod is deleted, so its DEL finds no agent: the plugin keeps it,
   * the new agent runs it, and the pod's peer must leave the gateways. The failover check, run after this
   * one, then measures tunnels taken back rather than made by the running agent.
   */
  void agentRestart(List<Pod> all, Map<String, PodRuntime.PodEvent> events, Release members, PodRuntime pods) {
    ObjectNode r = report.putObject("agentRestart");
    List<String> workers = nodes.stream().filter(n -> n.role().equals("worker")).map(Sandbox.SimNode::name).toList();
    List<Pod> tunnelled = all.stream().filter(Demo::annotated)
        .filter(p -> events.containsKey(key(p)) && events.get(key(p)).ok()).toList();
    PodRuntime.PodEvent demo = tunnelled.stream().filter(p -> key(p).equals("demo/annotated")).findFirst()
        .map(p -> events.get(key(p))).orElse(null);
    String keyBefore = Demo.podEndpointKey(kube, "demo", "annotated");
    String deletedKey = "e2e/private";
    PodRuntime.PodEvent deleted = events.get(deletedKey);
    String peersMetric = "egress_gateway_peers{config=\"" + deletedKey + "\"}";
    // the gateways report their peers every 15 s: wait for the private pod's to show
    ObjectNode del = r.putObject("delWhileDown").put("pod", deletedKey)
        .put("peersBefore", Sh.poll(() -> metricSum(members.metrics("gateway"), peersMetric), n -> n > 0, Duration.ofSeconds(30), 1000));
    ObjectNode down = r.putObject("podsWhileDown");
    String demoDevice = demo == null ? "" : deviceOf(demo.netns());
    long t0 = System.nanoTime();
    boolean ready = members.restartWorkers(Duration.ofSeconds(240), node -> {
      if (node.equals(workers.get(0))) {
        podsWhileAgentDown(node, events, down);
      }
      if (demo != null && demo.node().equals(node)) {
        // wireguard-go ends with the worker's container; were it still there (kernel WireGuard), end it
        String running = deviceOf(demo.netns());
        r.put("deviceEnded", running.isEmpty() ? demoDevice : endTunnelProcess(demo.netns()));
        r.put("deviceEndedWithContainer", running.isEmpty() && !demoDevice.isEmpty());
      }
      if (deleted != null && deleted.node().equals(node)) {
        kube.pods().inNamespace("e2e").withName("private").delete();
        del.put("deletedWhileDown", !Sh.poll(() -> pods.hasSandbox(deletedKey), has -> !has, Duration.ofSeconds(30), 200));
      }
    });
    List<Pod> remaining = tunnelled.stream().filter(p -> !key(p).equals(deletedKey)).toList();
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    long resumed = !ready ? -1 : Sh.poll(() -> metricSum(members.metrics("worker"), "egress_pod_tunnels_resumed"),
        n -> n >= remaining.size(), Duration.ofSeconds(60), 500);
    // the annotated pod created while its node's agent was down is served by the new agent, before or after
    // that agent's pass over the node's tunnels: counted in it or not
    boolean resumedAll = resumed == remaining.size() || resumed == remaining.size() + 1;
    boolean egressOk = true;
    ArrayNode podsReport = r.putArray("pods");
    for (Pod pod : remaining) {
      Demo.PodCheck check = check(pod, events.get(key(pod)));
      egressOk &= check.ok();
      podsReport.addObject().put("name", check.name()).put("egressIp", check.egressIp()).put("ok", check.ok())
          .put("detail", check.detail());
    }
    String keyAfter = Sh.poll(() -> Demo.podEndpointKey(kube, "demo", "annotated"), k -> !k.equals(keyBefore),
        Duration.ofSeconds(15), 250);
    boolean newKey = !r.path("deviceEnded").asText().isEmpty() && !keyBefore.isEmpty() && !keyAfter.isEmpty()
        && !keyAfter.equals(keyBefore);
    r.put("demoNewKey", newKey);
    // the gateways report every 15 s
    long peersAfter = Sh.poll(() -> {
      String scrape = members.metrics("gateway");
      // a scrape that failed says nothing (it would read as 0 peers)
      return scrape.contains("egress_gateway_serving") ? metricSum(scrape, peersMetric) : -1L;
    }, n -> n == 0, Duration.ofSeconds(45), 1000);
    boolean delOk = del.path("deletedWhileDown").asBoolean(false) && del.path("peersBefore").asLong() > 0 && peersAfter == 0;
    del.put("peersAfter", peersAfter).put("ok", delOk);
    boolean downOk = podsWhileAgentDownAfter(events, down);
    boolean ok = ready && resumedAll && egressOk && newKey && delOk && downOk;
    r.put("workers", String.join(",", workers)).put("readyMs", readyMs).put("tunnels", tunnelled.size())
        .put("resumed", resumed).put("egressOk", egressOk).put("ok", ok);
    out.println("agent restart: workers " + workers + (ready ? " ready again after " + readyMs + " ms" : " NOT ready")
        + ", " + resumed + " of " + remaining.size() + " tunnels taken back (demo/annotated's device ended meanwhile: "
        + (newKey ? "made again with a new key" : "NOT made again with a new key") + "), egress " + (egressOk ? "unchanged" : "BROKEN")
        + "; " + deletedKey + " deleted meanwhile: its gateway peers " + del.path("peersBefore").asLong() + " -> " + peersAfter);
  }

  static final String PLAIN_WHILE_DOWN = "plain-ns/plain-while-down";
  static final String GATED_WHILE_DOWN = "e2e/gated-while-down";

  /**
   * While the agent of {@code node} is down: a pod of a namespace without gateway configurations is created on
   * that node and must get its network at once (the plugin decides from the agent's node-local namespaces file);
   * an annotated pod created with it must fail closed (its first ADD fails), and is served once the agent is
   * back ({@link #podsWhileAgentDownAfter}).
   */
  private void podsWhileAgentDown(String node, Map<String, PodRuntime.PodEvent> events, ObjectNode down) {
    down.put("node", node);
    kube.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
        .withName("plain-ns").endMetadata().build()).createOr(e -> e.update());
    for (String key : List.of(PLAIN_WHILE_DOWN, GATED_WHILE_DOWN)) {
      String ns = key.substring(0, key.indexOf('/'));
      String name = key.substring(key.indexOf('/') + 1);
      var meta = new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withNamespace(ns).withName(name);
      if (key.equals(GATED_WHILE_DOWN)) {
        meta.addToAnnotations("kubernetes.azure.com/static-gateway-configuration", "byo");
      }
      kube.pods().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.PodBuilder().withMetadata(meta.build())
          .withNewSpec().withNodeName(node).addNewContainer().withName("app").withImage(NodeRuntime.NO_IMAGE).endContainer().endSpec()
          .build()).create();
    }
    boolean plainOk = Sh.poll(() -> events.get(PLAIN_WHILE_DOWN), e -> e != null, Duration.ofSeconds(30), 200) != null
        && events.get(PLAIN_WHILE_DOWN).ok() && events.get(PLAIN_WHILE_DOWN).firstError().isEmpty();
    String gatedError = Sh.poll(() -> {
      Pod p = kube.pods().inNamespace("e2e").withName("gated-while-down").get();
      return p == null || p.getStatus() == null || p.getStatus().getMessage() == null ? "" : p.getStatus().getMessage();
    }, m -> !m.isEmpty(), Duration.ofSeconds(30), 200);
    down.put("plainAdded", plainOk).put("plainMs", plainOk ? events.get(PLAIN_WHILE_DOWN).addMillis() : -1)
        .put("annotatedFailedClosed", gatedError.contains("may need a gateway")).put("annotatedError", gatedError);
  }

  /** After the agents are back: the annotated pod is served through its gateway; both pods are removed again. */
  private boolean podsWhileAgentDownAfter(Map<String, PodRuntime.PodEvent> events, ObjectNode down) {
    PodRuntime.PodEvent gated = Sh.poll(() -> events.get(GATED_WHILE_DOWN), e -> e != null, Duration.ofSeconds(120), 500);
    Demo.PodCheck check = gated == null || !gated.ok() ? null
        : check(kube.pods().inNamespace("e2e").withName("gated-while-down").get(), gated);
    down.put("annotatedLaterOk", check != null && check.ok())
        .put("annotatedEgressIp", check == null ? "" : check.egressIp());
    kube.pods().inNamespace("plain-ns").withName("plain-while-down").delete();
    kube.pods().inNamespace("e2e").withName("gated-while-down").delete();
    boolean ok = down.path("plainAdded").asBoolean() && down.path("annotatedFailedClosed").asBoolean()
        && down.path("annotatedLaterOk").asBoolean();
    down.put("ok", ok);
    out.println("agent down on " + down.path("node").asText() + ": plain pod " + (down.path("plainAdded").asBoolean()
        ? "added in " + down.path("plainMs").asLong() + " ms" : "NOT added") + ", annotated pod "
        + (down.path("annotatedFailedClosed").asBoolean() ? "failed closed" : "did NOT fail closed (" + down.path("annotatedError").asText() + ")")
        + (down.path("annotatedLaterOk").asBoolean() ? ", then served via " + down.path("annotatedEgressIp").asText() : ", and NOT served later"));
    return ok;
  }

  /** The creation name (alias) of the pod's wg0, empty when it has none. */
  static String deviceOf(String podNs) {
    String link = Sh.quiet(podNs, "ip", "-o", "link", "show", "wg0").stdout();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("alias (\\S+)").matcher(link);
    return m.find() ? m.group(1) : "";
  }

  /**
   * Ends the wireguard-go process that serves the pod's wg0 ({@link Lifecycle#tunnelProcess}); returns the
   * device's creation name, empty if there was none. The sandbox's own members started the process.
   */
  private static String endTunnelProcess(String podNs) {
    String device = deviceOf(podNs);
    if (device.isEmpty()) {
      return "";
    }
    Lifecycle.tunnelProcess(podNs).ifPresent(h -> {
      h.destroy();
      h.onExit().orTimeout(5, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> null).join();
    });
    return device;
  }

  /** The sum of every sample of {@code name} (a metric, or a metric with its labels) in Prometheus text; 0 when none. */
  static long metricSum(String scrape, String name) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Math.round(sum);
  }

  /**
   * Fails the gateway VM an annotated demo pod egresses through, {@code --failover-runs} times (see
   * {@link Failover}); each run but the last brings the VM back and measures the failback.
   */
  void failover(List<Pod> all, Map<String, PodRuntime.PodEvent> events, Release release) {
    ObjectNode f = report.putObject("failover");
    var pod = all.stream().filter(Demo::annotated).filter(p -> p.getMetadata().getNamespace().equals("demo"))
        .filter(p -> events.containsKey(key(p)) && events.get(key(p)).ok()).findFirst();
    if (settings.failoverRuns() == 0) {
      f.putNull("ms").put("ok", true).put("detail", "not measured (--failover-runs 0)");
      return;
    }
    if (pod.isEmpty() || settings.gateways() < 2) {
      f.putNull("ms").put("ok", false).put("detail", "no annotated pod egressing through one of two or more gateways");
      return;
    }
    Failover failover = new Failover(vnet, azure.follower(), release, ip -> {
      String gw = azure.gatewayOf(ip);
      return nodes.stream().filter(n -> n.name().equals(gw)).findFirst();
    });
    List<Failover.Kind> kinds = settings.failoverKinds().stream().map(Failover.Kind::parse).toList();
    failover.measure(events.get(key(pod.get())).netns(), settings.failoverRuns(), kinds, f);
    f.path("byKind").fields().forEachRemaining(kind -> {
      for (var r : kind.getValue().path("runs")) {
        out.println("failover (" + kind.getKey() + "): " + r.path("from").asText() + " lost -> traffic back"
            + (r.path("to").asText().isEmpty() ? "" : " through " + r.path("to").asText()) + " after " + r.path("ms").asLong() + " ms"
            + (kind.getKey().equals("node") ? " (longest gap over " + Failover.NODE_DARK.toSeconds() + " s dark; first reply after "
                + r.path("firstMs").asLong() + " ms)" : "")
            + (r.path("back").asText().isEmpty() ? "" : "; members: " + r.path("back").asText())
            + (r.path("ok").asBoolean() ? "" : " (NOT recovered: " + r.path("detail").asText() + ")")
            + (r.path("failbackGapMs").asLong(-1) >= 0 ? "; back up: longest gap " + r.path("failbackGapMs").asLong() + " ms" : ""));
      }
    });
  }
}
