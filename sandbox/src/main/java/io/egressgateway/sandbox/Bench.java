package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;

/**
 * {@code --bench-pods N}: N annotated pods on the demo configuration, created {@code batch} at a time (the
 * next batch once the previous one is done). For each pod: CNI ADD start to the first reply of the
 * internet echo through the gateway (the request starts the moment ADD returns), whether that first
 * request stalled (no reply within 1 s: a WireGuard handshake stall costs 5 s) or leaked (the echo saw an
 * address outside the configuration's prefix, i.e. the packet left through the node).
 */
final class Bench {
  static final String NS = "demo";
  static final String CONFIG = "egress-demo";
  static final long STALL_MS = 1000;

  /** One pod's measurement. */
  record Sample(String pod, String node, boolean added, long addMs, long firstRequestMs, long readyMs, String seen,
      boolean stalled, boolean leaked, String error) {}

  private final KubernetesClient client;
  private final int pods;
  private final int batch;
  private final PrintStream out;
  private final Map<String, Sample> samples = new ConcurrentHashMap<>();
  private volatile String prefix = "";
  private Runnable windowOpens = () -> {};
  private Runnable windowCloses = () -> {};

  Bench(KubernetesClient client, int pods, int batch, PrintStream out) {
    this.client = client;
    this.pods = pods;
    this.batch = batch;
    this.out = out;
  }

  /**
   * Runs {@code opens} as the first pod is created and {@code closes} once the last pod answered (or the
   * run gave up): the window the CPU accounting counts over.
   */
  Bench window(Runnable opens, Runnable closes) {
    this.windowOpens = opens;
    this.windowCloses = closes;
    return this;
  }

  static String podName(int i) {
    return String.format("bench-%03d", i);
  }

  /** Called by the pod runtime right after a pod's CNI ADD finished (on the runtime's thread). */
  void onPodEvent(PodRuntime.PodEvent e) {
    if (!e.key().startsWith(NS + "/bench-")) {
      return;
    }
    String pod = e.key().substring(NS.length() + 1);
    if (!e.ok()) {
      samples.put(pod, new Sample(pod, e.node(), false, e.addMillis(), -1, -1, "", false, false, e.detail()));
      return;
    }
    long start = System.nanoTime();
    CommandRunner.Result r = Sh.quiet(e.netns(), "curl", "-s", "-m", "5", "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/");
    long end = System.nanoTime();
    String seen = r.ok() ? r.stdout().trim() : "";
    long firstMs = (end - start) / 1_000_000;
    long readyMs = (end - e.startNanos()) / 1_000_000;
    boolean stalled = seen.isEmpty() || firstMs > STALL_MS;
    boolean leaked = !seen.isEmpty() && !prefix.isEmpty() && !Demo.inCidr(seen, prefix);
    samples.put(pod, new Sample(pod, e.node(), true, e.addMillis(), firstMs, readyMs, seen, stalled, leaked,
        seen.isEmpty() ? "no reply within 5 s" : ""));
  }

  ObjectNode run() {
    prefix = Demo.egressPrefix(client, NS, CONFIG).orElse("");
    ObjectNode r = new ObjectMapper().createObjectNode();
    r.put("pods", pods).put("batch", batch).put("prefix", prefix);
    windowOpens.run();
    long t0 = System.nanoTime();
    int created = 0;
    boolean complete = true;
    while (created < pods) {
      int n = Math.min(batch, pods - created);
      for (int i = 0; i < n; i++) {
        client.pods().resource(pod(podName(created + i + 1))).create();
      }
      created += n;
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (samples.size() < created && System.nanoTime() < deadline) {
        Sh.sleep(50);
      }
      if (samples.size() < created) {
        complete = false;
        break;
      }
      out.println("bench: " + created + "/" + pods + " pods ready");
    }
    r.put("wallMs", (System.nanoTime() - t0) / 1_000_000);
    windowCloses.run();
    List<Sample> all = new ArrayList<>(samples.values());
    List<Sample> added = all.stream().filter(Sample::added).toList();
    long stalled = added.stream().filter(Sample::stalled).count();
    long leaked = added.stream().filter(Sample::leaked).count();
    long failed = all.size() - added.size() + (pods - all.size());
    r.set("readyMs", stats(added, Sample::readyMs));
    r.set("cniAddMs", stats(added, Sample::addMs));
    r.set("firstRequestMs", stats(added, Sample::firstRequestMs));
    r.put("stalled", stalled).put("leaked", leaked).put("failed", failed);
    var examples = r.putArray("problems");
    all.stream().filter(s -> !s.added() || s.stalled() || s.leaked()).limit(10).forEach(s -> examples.addObject()
        .put("pod", s.pod()).put("node", s.node()).put("seen", s.seen()).put("firstRequestMs", s.firstRequestMs())
        .put("error", s.error()));
    boolean targets = r.path("readyMs").path("p99").asLong(Long.MAX_VALUE) < 250 && stalled == 0 && leaked == 0;
    r.put("targetMet", complete && failed == 0 && targets);
    r.put("ok", complete && failed == 0 && leaked == 0);
    out.println("bench: " + added.size() + " pods; CNI ADD start -> first echo reply p50 " + r.path("readyMs").path("p50")
        + " ms, p99 " + r.path("readyMs").path("p99") + " ms, max " + r.path("readyMs").path("max") + " ms; stalled "
        + stalled + ", leaked " + leaked + ", failed " + failed);
    return r;
  }

  private static Pod pod(String name) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace(NS)
        .addToAnnotations(Demo.ANNOTATION, CONFIG).addToLabels("app", "bench").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("sandbox/none").endContainer().endSpec().build();
  }

  private static ObjectNode stats(List<Sample> samples, ToLongFunction<Sample> f) {
    List<Long> v = new ArrayList<>(samples.stream().map(f::applyAsLong).toList());
    v.sort(Long::compare);
    ObjectNode o = new ObjectMapper().createObjectNode();
    o.put("n", v.size());
    if (v.isEmpty()) {
      return o;
    }
    o.put("min", v.get(0)).put("p50", pct(v, 50)).put("p90", pct(v, 90)).put("p99", pct(v, 99)).put("max", v.get(v.size() - 1));
    return o;
  }

  /** Nearest-rank percentile. */
  static long pct(List<Long> sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }
}
