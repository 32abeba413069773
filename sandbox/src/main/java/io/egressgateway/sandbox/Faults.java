package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The fault suite ({@code --faults}, and part of {@code --e2e}): process-level faults injected into the
 * installed release while the demo's annotated pod sends a request every 50 ms ({@link Traffic}). Each
 * scenario ends converged or fails: every member Ready, every pod the scenario made or kept egressing
 * right (annotated pods from their configuration's prefix, plain pods from the VNet's default outbound
 * address), nothing left over from deleted pods, and Azure's inventory the same set of resources as before
 * the scenario (none lost, none duplicated). Report key {@code faults}: one
 * {@code {name, convergedMs, failedRequests, azureDiff, ok, ...}} per scenario.
 *
 * <p>The scenarios live in {@link WorkerFaults}, {@link OutageFaults}, {@link PartitionFaults} and
 * {@link ArmFaults}; this class holds what they share.
 */
final class Faults {
  /** The namespace and configuration the scenarios' pods use (the demo's). */
  static final String NS = "demo";
  static final String SGC = "egress-demo";
  static final String TRAFFIC_POD = NS + "/annotated";
  /** A pod without a gateway, whose requests leave through its node: what the machine alone costs the measure. */
  static final String CONTROL_POD = NS + "/plain";
  static final Duration CONVERGE = Duration.ofSeconds(180);

  final KubernetesClient kube;
  final Release release;
  final AzureSubscription azure;
  final Map<String, PodRuntime.PodEvent> events;
  final PodRuntime pods;
  final NetLab lab;
  final KubeApi api;
  final List<Sandbox.SimNode> nodes;
  final int members;
  final PrintStream out;
  private final AtomicInteger seq = new AtomicInteger();

  Faults(KubernetesClient kube, Release release, AzureSubscription azure, Map<String, PodRuntime.PodEvent> events, PodRuntime pods,
      NetLab lab, KubeApi api, List<Sandbox.SimNode> nodes, int members, PrintStream out) {
    this.kube = kube;
    this.release = release;
    this.azure = azure;
    this.events = events;
    this.pods = pods;
    this.lab = lab;
    this.api = api;
    this.nodes = nodes;
    this.members = members;
    this.out = out;
  }

  /** One scenario: its name and what it does, writing its own details into the entry it gets. */
  record Scenario(String name, Consumer<Run> body) {}

  /** Runs every scenario in order; writes the {@code faults} array; true when all are ok. */
  boolean run(ArrayNode into) {
    List<Scenario> all = new ArrayList<>();
    WorkerFaults workers = new WorkerFaults(this);
    OutageFaults outages = new OutageFaults(this);
    ArmFaults arm = new ArmFaults(this);
    PartitionFaults partitions = new PartitionFaults(this);
    all.add(new Scenario("worker-agent-sigkill-during-pod-churn", workers::killDuringChurn));
    all.add(new Scenario("journal-unavailable-30s", outages::journal));
    all.add(new Scenario("api-watch-errors", outages::watchErrors));
    all.add(new Scenario("api-server-down-30s", outages::apiDown));
    all.add(new Scenario("gateway-partition-shorter-than-stable-after", partitions::shortPartition));
    all.add(new Scenario("gateway-partition-longer-than-stable-after", partitions::longPartition));
    all.add(new Scenario("controller-sigkill-during-arm-operation", arm::killDuringOperation));
    all.add(new Scenario("controller-sigkill-between-intent-and-result", arm::killBetweenIntentAndResult));
    all.add(new Scenario("arm-operation-failed-and-409", arm::failedAndConflict));
    boolean ok = true;
    for (Scenario s : all) {
      ok &= runOne(s, into.addObject());
    }
    return ok;
  }

  private boolean runOne(Scenario s, ObjectNode r) {
    r.put("name", s.name());
    PodRuntime.PodEvent traffic = events.get(TRAFFIC_POD);
    long started = System.nanoTime();
    // the scenario starts from a converged system, so what it finds wrong at the end is its own doing
    long before = converged(List.of(), Duration.ofSeconds(120));
    Set<String> azureBefore = azureIds();
    Run run = new Run(r, azureBefore);
    PodRuntime.PodEvent control = events.get(CONTROL_POD);
    try (Traffic t = traffic == null || !traffic.ok() ? null : new Traffic(traffic.netns());
        Traffic c = control == null || !control.ok() ? null : new Traffic(control.netns())) {
      Sh.sleep(1_000);
      long t0 = System.nanoTime();
      try {
        s.body().accept(run);
      } catch (RuntimeException e) {
        run.fail("scenario threw " + e);
      }
      long healedAt = run.healedAt == 0 ? t0 : run.healedAt;
      long convergedAt = before < 0 ? -1 : convergedAt(run.pods, CONVERGE);
      r.put("convergedMs", convergedAt < 0 ? -1 : (convergedAt - healedAt) / 1_000_000);
      run.cleanUp();
      List<String> diff = azureDiff(azureBefore, Duration.ofSeconds(120));
      ArrayNode d = r.putArray("azureDiff");
      diff.forEach(d::add);
      long t1 = System.nanoTime();
      r.put("failedRequests", t == null ? -1 : t.failed(t0, t1)).put("requests", t == null ? 0 : t.started(t0, t1))
          .put("longestGapMs", t == null ? -1 : t.longestGapMs(t0, t1));
      // the same measure from a pod without a gateway on a worker: failures there are the machine's, not the tunnel's
      r.put("plainFailedRequests", c == null ? -1 : c.failed(t0, t1)).put("plainRequests", c == null ? 0 : c.started(t0, t1))
          .put("plainLongestGapMs", c == null ? -1 : c.longestGapMs(t0, t1));
      // when the traffic pod's requests failed (ms after the fault began, first and last failed request)
      ArrayNode spans = r.putArray("failedSpansMs");
      if (t != null) {
        t.failureSpans(t0, t1).forEach(sp -> spans.addArray().add(sp[0]).add(sp[1]));
      }
      r.put("healedAtMs", (healedAt - t0) / 1_000_000);
      boolean ok = before >= 0 && convergedAt >= 0 && diff.isEmpty() && run.ok && t != null;
      r.put("ok", ok).put("tookMs", (System.nanoTime() - started) / 1_000_000);
      if (before < 0) {
        run.detail("the system was not converged before the scenario");
      }
      r.put("detail", String.join("; ", run.details));
      out.println("fault " + s.name() + ": " + (ok ? "ok" : "FAILED") + ", converged " + (convergedAt < 0 ? "NEVER"
          : "after " + r.path("convergedMs").asLong() + " ms") + ", " + r.path("failedRequests").asLong() + " of "
          + r.path("requests").asLong() + " requests failed (plain pod: " + r.path("plainFailedRequests").asLong() + " of "
          + r.path("plainRequests").asLong() + "), longest gap " + r.path("longestGapMs").asLong() + " ms, Azure diff " + diff + (run.details.isEmpty() ? "" : " (" + r.path("detail").asText() + ")"));
      return ok;
    }
  }

  /** What a scenario has at hand while it runs: its report entry, the pods it keeps, its clean-up. */
  final class Run {
    final ObjectNode r;
    final Set<String> azureBefore;
    /** Pods (namespace/name) that must egress right at the end. */
    final List<String> pods = new ArrayList<>();
    final List<Runnable> cleanUps = new ArrayList<>();
    final List<String> details = new ArrayList<>();
    boolean ok = true;
    long healedAt;

    Run(ObjectNode r, Set<String> azureBefore) {
      this.r = r;
      this.azureBefore = azureBefore;
    }

    void fail(String why) {
      ok = false;
      details.add(why);
    }

    void detail(String what) {
      details.add(what);
    }

    /** The fault is over (removed, or the killed process restarted by its runtime): convergence is timed from here. */
    void healed() {
      healedAt = System.nanoTime();
    }

    void check(boolean condition, String otherwise) {
      if (!condition) {
        fail(otherwise);
      }
    }

    /** Runs at the end, before Azure's inventory is compared (deletes what the scenario made). */
    void onCleanUp(Runnable r) {
      cleanUps.add(r);
    }

    void cleanUp() {
      for (int i = cleanUps.size() - 1; i >= 0; i--) {
        try {
          cleanUps.get(i).run();
        } catch (RuntimeException e) {
          fail("clean-up failed: " + e.getMessage());
        }
      }
    }
  }

  /** A unique name for something a scenario makes. */
  String name(String what) {
    return "fault-" + what + "-" + seq.incrementAndGet();
  }

  /** Creates a pod in {@link #NS} on {@code node}, annotated for {@code sgc} unless null; returns its key. */
  String createPod(String name, String node, String sgc) {
    var b = new PodBuilder().withNewMetadata().withNamespace(NS).withName(name).endMetadata().withNewSpec().withNodeName(node)
        .addNewContainer().withName("app").withImage(NodeRuntime.NO_IMAGE).endContainer().endSpec();
    if (sgc != null) {
      b.editMetadata().addToAnnotations(Demo.ANNOTATION, sgc).endMetadata();
    }
    kube.pods().inNamespace(NS).resource(b.build()).create();
    return NS + "/" + name;
  }

  void deletePod(String key) {
    kube.pods().inNamespace(key.substring(0, key.indexOf('/'))).withName(key.substring(key.indexOf('/') + 1)).delete();
  }

  /** What is left of a deleted pod: its network namespace (CNI DEL not run), its Pod object, its PodEndpoint. */
  List<String> leftOf(String key) {
    String ns = key.substring(0, key.indexOf('/'));
    String name = key.substring(key.indexOf('/') + 1);
    List<String> left = new ArrayList<>();
    if (pods.hasSandbox(key)) {
      left.add(key + " (network namespace: " + pods.deletionState(key) + ")");
    }
    if (kube.pods().inNamespace(ns).withName(name).get() != null) {
      left.add(key + " (Pod)");
    }
    if (kube.genericKubernetesResources(Demo.POD_ENDPOINT).inNamespace(ns).withName(name).get() != null) {
      left.add(key + " (PodEndpoint)");
    }
    return left;
  }

  /** What is left of any of {@code keys}, waiting (bounded) until nothing is. */
  List<String> leftOf(List<String> keys, Duration timeout) {
    List<String> left = Sh.poll(() -> keys.stream().flatMap(k -> leftOf(k).stream()).toList(), List::isEmpty, timeout, 1000);
    if (left.isEmpty()) {
      return left;
    }
    // how the API answers now (a stalled API delays the runtime's watch events too)
    long t0 = System.nanoTime();
    int listed = kube.pods().inNamespace(NS).list().getItems().size();
    List<String> out = new ArrayList<>(left);
    out.add("the API listed " + listed + " pods of " + NS + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    return out;
  }

  /** Creates a public configuration {@code name} in {@link #NS}. */
  void createSgc(String name) {
    String yaml = E2e.LATE_SGC.replace("name: late", "name: " + name).replace("namespace: e2e", "namespace: " + NS);
    Demo.apply(kube, new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)));
  }

  /** Deletes configuration {@code name} and waits (bounded) until it is gone (its finalizer done). */
  boolean deleteSgc(String name, Duration timeout) {
    kube.genericKubernetesResources(Demo.SGC).inNamespace(NS).withName(name).delete();
    return Sh.poll(() -> kube.genericKubernetesResources(Demo.SGC).inNamespace(NS).withName(name).get() == null, b -> b, timeout, 500);
  }

  /** The worker nodes, by name. */
  List<String> workers() {
    return nodes.stream().filter(n -> n.role().equals("worker")).map(Sandbox.SimNode::name).sorted().toList();
  }

  /** Every member pod of the release Ready, and as many as installed. */
  boolean membersReady() {
    List<Release.Member> ms = release.members();
    return ms.size() == members && ms.stream().allMatch(m -> Workloads.ready(m.pod()));
  }

  /** Whether pod {@code key} egresses right now: annotated from its configuration's prefix, plain from the default outbound address. */
  boolean egressRight(String key) {
    PodRuntime.PodEvent e = events.get(key);
    String ns = key.substring(0, key.indexOf('/'));
    Pod p = kube.pods().inNamespace(ns).withName(key.substring(key.indexOf('/') + 1)).get();
    if (e == null || !e.ok() || p == null) {
      return false;
    }
    String seen = Demo.egressOf(e.netns(), Duration.ofSeconds(3)).orElse("");
    if (seen.isEmpty()) {
      return false;
    }
    if (!Demo.annotated(p)) {
      return AzureVnet.DEFAULT_OUTBOUND_IP.equals(seen);
    }
    String prefix = Demo.egressPrefix(kube, ns, p.getMetadata().getAnnotations().get(Demo.ANNOTATION)).orElse("");
    return !prefix.isEmpty() && Demo.inCidr(seen, prefix);
  }

  /** When (nanoTime) every member is Ready and the demo's pods and {@code extra} egress right; -1 at the timeout. */
  long convergedAt(List<String> extra, Duration timeout) {
    List<String> keys = new ArrayList<>(List.of(NS + "/annotated", NS + "/plain"));
    keys.addAll(extra);
    return Sh.poll(() -> membersReady() && keys.stream().allMatch(this::egressRight) ? System.nanoTime() : -1L, t -> t > 0,
        timeout, 500);
  }

  private long converged(List<String> extra, Duration timeout) {
    return convergedAt(extra, timeout);
  }

  /** The ids of every resource in the simulated subscription. */
  Set<String> azureIds() {
    return new TreeSet<>(azure.arm().snapshot().keySet());
  }

  /** Waits (bounded) until Azure holds the same resources as {@code before}; what differs then ({@code +id} new, {@code -id} lost). */
  List<String> azureDiff(Set<String> before, Duration timeout) {
    Set<String> now = Sh.poll(this::azureIds, s -> s.equals(before), timeout, 1000);
    List<String> diff = new ArrayList<>();
    now.stream().filter(id -> !before.contains(id)).forEach(id -> diff.add("+" + id));
    before.stream().filter(id -> !now.contains(id)).forEach(id -> diff.add("-" + id));
    return diff;
  }

  /** The condition messages of configuration {@code name} (type: reason: message), empty when it has none. */
  List<String> conditions(String name) {
    var sgc = kube.genericKubernetesResources(Demo.SGC).inNamespace(NS).withName(name).get();
    List<String> out = new ArrayList<>();
    if (sgc != null && sgc.getAdditionalProperties().get("status") instanceof Map<?, ?> status
        && status.get("conditions") instanceof List<?> list) {
      for (Object c : list) {
        if (c instanceof Map<?, ?> m) {
          out.add(m.get("type") + "=" + m.get("status") + " " + m.get("reason") + ": " + m.get("message"));
        }
      }
    }
    return out;
  }

  /** An nft table in namespace {@code ns} that answers TCP to {@code port} with a reset (a stopped service), until removed. */
  static AutoCloseable rejectTcp(String ns, int port) {
    String table = "egs_fault_" + port;
    Sh.mustWithInput(ns, "table inet " + table + " {\n chain input {\n  type filter hook input priority -10;\n"
        + "  tcp dport " + port + " reject with tcp reset\n }\n}\n", "nft", "-f", "-");
    return () -> Sh.quiet(ns, "nft", "delete", "table", "inet", table);
  }
}
