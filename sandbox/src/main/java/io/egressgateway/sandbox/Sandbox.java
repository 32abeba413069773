package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.settings.CoreSettings;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ./egress sandbox}: the whole system on this machine. Builds the VNet stand-in, one namespace per
 * simulated node (controller VM, workers, gateways), starts the journal and the Kubernetes API here and
 * relays them into every node, runs one real {@code egress run} member per node, and tears everything
 * down on Ctrl-C (or at the end of {@code --once}).
 */
public final class Sandbox implements AutoCloseable {

  /** Command-line settings. */
  public record Settings(int workers, int gateways, boolean once, Path report, List<Path> apply, Path distLib, Path stateDir,
      boolean e2e, int benchPods, int benchBatch, int failoverRuns) {
    public static Settings parse(List<String> args) {
      int workers = 2;
      int gateways = 2;
      boolean once = false;
      boolean e2e = false;
      int benchPods = 0;
      int benchBatch = 20;
      Integer failoverRuns = null;
      Path report = null;
      List<Path> apply = new ArrayList<>();
      Path dist = Path.of(System.getProperty("egress.dist", "app/target/dist/lib"));
      for (int i = 0; i < args.size(); i++) {
        String a = args.get(i);
        String v = i + 1 < args.size() ? args.get(i + 1) : null;
        switch (a) {
          case "--workers" -> { workers = count(a, v, 1, 8); i++; }
          case "--gateways" -> { gateways = count(a, v, 1, 4); i++; }
          case "--once" -> once = true;
          case "--report" -> { report = Path.of(need(a, v)); i++; }
          case "--apply" -> { apply.add(Path.of(need(a, v))); i++; }
          case "--e2e" -> e2e = true;
          case "--bench-pods" -> { benchPods = count(a, v, 1, 1000); i++; }
          case "--bench-batch" -> { benchBatch = count(a, v, 1, 100); i++; }
          case "--failover-runs" -> { failoverRuns = count(a, v, 0, 50); i++; }
          default -> throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      }
      int runs = failoverRuns != null ? failoverRuns : benchPods > 0 ? 5 : 1;
      return new Settings(workers, gateways, once, report, List.copyOf(apply), dist, Path.of("/run/egress-sandbox"),
          e2e, benchPods, benchBatch, runs);
    }

    private static String need(String o, String v) {
      if (v == null) {
        throw new IllegalArgumentException(o + " needs a value");
      }
      return v;
    }

    private static int count(String o, String v, int min, int max) {
      int n;
      try {
        n = Integer.parseInt(need(o, v));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(o + " needs a number");
      }
      if (n < min || n > max) {
        throw new IllegalArgumentException(o + " must be between " + min + " and " + max);
      }
      return n;
    }
  }

  /** A simulated node: its name (as in Kubernetes and Azure), namespace and primary IP. */
  public record SimNode(String name, String ns, String ip, String role, String podCidr) {}

  /** Held strongly: java.util.logging forgets levels of loggers nobody references. */
  private static final java.util.logging.Logger MOCK_SERVER_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
  static final int PG_PORT = 15432;
  static final int KUBE_PORT = 16443;

  static final String AZURE_RG = "rg-sandbox";
  static final String GATEWAY_POOL = "gwpool";
  /** A VNet VM that is no Kubernetes node: it hosts a private echo service (private-mode checks). */
  static final String SVC_IP = "10.224.0.3";

  private final Settings settings;
  private final PrintStream out;
  private final NetLab lab = new NetLab("egs");
  private final HostState host;
  private final Members members;
  private final List<SimNode> nodes = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final ObjectNode report = new ObjectMapper().createObjectNode();
  private AzureVnet vnet;
  private AzureSubscription azure;
  private Journal journal;
  private KubeApi kube;
  private PodRuntime pods;
  private volatile java.util.function.Consumer<PodRuntime.PodEvent> benchHook;

  public Sandbox(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
    this.host = new HostState(out);
    this.members = new Members(lab, settings.distLib(), out);
  }

  public static void main(String[] args) {
    io.egressgateway.core.ProcessLaunch.useVfork();
    // the mock API server logs every request through java.util.logging
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
    if (!"root".equals(System.getProperty("user.name"))) {
      System.err.println("egress sandbox: must run as root (it creates network namespaces); try: sudo ./egress sandbox");
      System.exit(1);
    }
    Settings s;
    try {
      s = Settings.parse(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("egress sandbox: " + e.getMessage());
      System.exit(2);
      return;
    }
    Sandbox sandbox = new Sandbox(s, System.out);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sandbox.close();
      stopped.countDown();
    }, "sandbox-teardown"));
    int exit;
    try {
      boolean ok = sandbox.run();
      exit = ok ? 0 : 1;
    } catch (RuntimeException e) {
      System.err.println("egress sandbox: " + e.getMessage());
      exit = 1;
    }
    if (!s.once() && exit == 0) {
      System.out.println("sandbox is up; Ctrl-C tears it down");
      try {
        stopped.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    sandbox.close();
    sandbox.writeReport();
    System.exit(exit);
  }
  /** Brings everything up and runs the checks; true when all passed. */
  public boolean run() {
    long t0 = System.nanoTime();
    host.prepare();
    vnet = new AzureVnet(lab);
    nodes.add(new SimNode("ctl-0", vnet.addVm("ctl-0", "10.224.0.2"), "10.224.0.2", "controller", null));
    NodeStandIns standIns = new NodeStandIns(lab);
    for (int i = 1; i <= settings.workers(); i++) {
      String ip = "10.224.0." + (3 + i);
      String cidr = "10.244." + i + ".0/24";
      SimNode worker = new SimNode("worker-" + i, vnet.addVm("worker-" + i, ip), ip, "worker", cidr);
      nodes.add(worker);
      vnet.routePodCidr(cidr, ip);
      standIns.addTo(worker);
    }
    vnet.startEcho(vnet.addVm("svc-0", SVC_IP), SVC_IP, AzureVnet.ECHO_PORT);
    // Azure: a simulated subscription whose gateway scale set's instances are the gateway nodes
    azure = AzureSubscription.start();
    azure.seedGatewayPool(settings.gateways());
    for (var gw : azure.gatewayInstances().entrySet()) {
      nodes.add(new SimNode(gw.getKey(), vnet.addVm(gw.getKey(), gw.getValue()), gw.getValue(), "gateway", null));
    }
    if (settings.e2e()) {
      azure.seedByoPrefix();
    }
    azure.follow(vnet);

    journal = Journal.start(CoreSettings.fromConfig(ConfigFactory.load()).journal());
    kube = KubeApi.start("127.0.0.1", 0);
    Path crds = Path.of(System.getProperty("egress.crds", "charts/kube-egress-gateway/crds"));
    if (Files.isDirectory(crds)) {
      out.println("CRDs installed: " + kube.installCrds(crds));
    }
    Path kubeconfig = kube.writeKubeconfig(settings.stateDir().resolve("kubeconfig"));
    Path memberKubeconfig = writeMemberKubeconfig();
    Relays relays = new Relays(lab);
    relays.export("journal", journal.settings().port());
    relays.export("kube", Integer.parseInt(kube.url().substring(kube.url().lastIndexOf(':') + 1)));
    int armPort = azure.port();
    relays.export("arm", armPort);
    for (SimNode n : nodes) {
      relays.importInto(n.ns(), "kube", KUBE_PORT);
      if (n.role().equals("controller")) {
        // only controllers reach the shared (external) journal; node members keep theirs on their node
        relays.importInto(n.ns(), "journal", PG_PORT);
        // same port as here: the simulator's long-running operations point at its own base URL
        relays.importInto(n.ns(), "arm", armPort);
      }
      registerNode(n);
    }

    Map<String, String> env = new LinkedHashMap<>();
    env.put("EGRESS_NAMESPACE", "kube-egress-gateway");
    env.put("KUBECONFIG", memberKubeconfig.toString());
    String seed = "akka://egress@" + nodes.get(0).ip() + ":25520";
    for (SimNode n : nodes) {
      Map<String, String> e = new LinkedHashMap<>(env);
      e.put("EGRESS_CNI_SOCKET", settings.stateDir().resolve(n.name()).resolve("cni.sock").toString());
      if (n.role().equals("controller")) {
        e.put("EGRESS_JOURNAL_MODE", "external");
        e.put("EGRESS_DB_HOST", "127.0.0.1");
        e.put("EGRESS_DB_PORT", Integer.toString(PG_PORT));
        e.put("EGRESS_DB_PASSWORD", journal.settings().password());
        e.putAll(azure.controllerEnv(settings.stateDir(), armPort));
      } else {
        // as the chart has it: the bundled PostgreSQL on a directory of the node, kept across member restarts
        e.put("EGRESS_JOURNAL_MODE", "node-local");
        e.put("EGRESS_JOURNAL_DATA_DIR", nodeJournalDir(n).toString());
      }
      if (n.role().equals("worker")) {
        e.put("EGRESS_POD_EXCEPTION_CIDRS", NodeStandIns.EXCEPTION_CIDRS);
      }
      if (n.role().equals("gateway")) {
        // namespace names are host-global: simulated gateways on one machine need their own prefixes
        e.put("EGRESS_GATEWAY_NETNS_PREFIX", host.nextGatewayNetnsPrefix());
      }
      members.start(n, seed, e);
    }
    boolean ready = members.awaitReady(Duration.ofSeconds(180));
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    report.put("readyMs", readyMs);
    members.report(report.putArray("members"));
    out.println("kubeconfig: " + kubeconfig + "   (kubectl --kubeconfig " + kubeconfig + " get nodes)");
    out.println("members " + (ready ? "ready" : "NOT ready") + " after " + readyMs + " ms: " + members.addresses());
    if (!ready) {
      return false;
    }
    boolean demo = runDemo();
    return demo && report.path("failover").path("ok").asBoolean(false)
        && report.path("annotatedPaths").path("ok").asBoolean(false)
        && report.path("exceptionsOk").asBoolean(false)
        && (!settings.e2e() || report.path("e2e").path("ok").asBoolean(false))
        && (!settings.e2e() || report.path("agentRestart").path("ok").asBoolean(false))
        && (settings.benchPods() == 0 || report.path("bench").path("ok").asBoolean(false));
  }

  /** Applies the demo (and --apply files), then checks every pod's egress address. */
  private boolean runDemo() {
    Map<String, PodRuntime.PodEvent> events = new java.util.concurrent.ConcurrentHashMap<>();
    pods = new PodRuntime(kube.client(), lab, nodes.stream().filter(n -> n.role().equals("worker")).toList(),
        settings.stateDir(), e -> {
          events.put(e.key(), e);
          var hook = benchHook;
          if (hook != null) {
            hook.accept(e);
          }
        });
    pods.start();
    List<String> applied = new ArrayList<>(Demo.apply(kube.client(), Demo.builtin()));
    if (settings.e2e()) {
      applied.addAll(Demo.apply(kube.client(), E2e.manifests(azure.byoPrefixId(), SVC_IP)));
    }
    for (Path f : settings.apply()) {
      try (var in = Files.newInputStream(f)) {
        applied.addAll(Demo.apply(kube.client(), in));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot read " + f, e);
      }
    }
    out.println("applied: " + applied);
    if (settings.e2e()) {
      out.println(E2e.createLateConfig(kube.client(), Duration.ofSeconds(60)));
    }
    List<io.fabric8.kubernetes.api.model.Pod> all = kube.client().pods().inAnyNamespace().list().getItems();
    long deadline = System.nanoTime() + Duration.ofSeconds(settings.e2e() ? 150 : 90).toNanos();
    while (System.nanoTime() < deadline && !all.stream().allMatch(p -> events.containsKey(DemoChecks.key(p)))) {
      Sh.sleep(250);
    }
    DemoChecks checks = new DemoChecks(settings, kube.client(), lab, vnet, azure, nodes, report, out);
    boolean allOk = checks.pods(all, events);
    checks.annotatedPodPaths(all, events);
    report.put("exceptionsOk", checks.exceptions(all, events));
    if (settings.e2e()) {
      report.set("e2e", E2e.check(kube.client(), azure.arm(), azure.byoPrefixId(), report.get("pods"), events, out));
    }
    checks.gatewayStatuses();
    checks.metrics(members);
    if (settings.benchPods() > 0) {
      Bench bench = new Bench(kube.client(), settings.benchPods(), settings.benchBatch(), out);
      benchHook = bench::onPodEvent;
      report.set("bench", bench.run());
      benchHook = null;
    }
    if (settings.e2e()) {
      checks.agentRestart(all, events, members, pods);
    }
    checks.failover(all, events);
    return allOk;
  }

  /** Where node {@code n}'s member keeps its node-local journal: one directory per node, gone at teardown. */
  private Path nodeJournalDir(SimNode n) {
    return settings.stateDir().resolve("journal").resolve(n.name());
  }

  /**
   * Removes the node members' journal directories, after stopping any PostgreSQL server a member that did
   * not stop left running on one; returns the directories where one could not be stopped.
   */
  private List<String> removeNodeJournals() {
    Path root = settings.stateDir().resolve("journal");
    List<String> stuck = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return stuck;
    }
    for (SimNode n : nodes) {
      if (!n.role().equals("controller") && !Journal.stopLeftoverServer(nodeJournalDir(n))) {
        stuck.add(nodeJournalDir(n).toString());
      }
    }
    try (var s = Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      out.println("could not remove " + root + ": " + e.getMessage());
    }
    return stuck;
  }

  private Path writeMemberKubeconfig() {
    return KubeApi.writeKubeconfig(settings.stateDir().resolve("member-kubeconfig"), "http://127.0.0.1:" + KUBE_PORT);
  }

  private void registerNode(SimNode n) {
    NodeBuilder b = new NodeBuilder().withNewMetadata().withName(n.name())
        .addToLabels("kubernetes.io/os", "linux")
        .addToLabels("kubernetes.azure.com/agentpool", n.role().equals("gateway") ? GATEWAY_POOL : "nodepool1")
        .endMetadata()
        .withNewStatus().addNewAddress().withType("InternalIP").withAddress(n.ip()).endAddress().endStatus();
    if (n.role().equals("gateway")) {
      b.editMetadata().addToLabels("kubeegressgateway.azure.com/mode", "true").endMetadata()
          .withNewSpec().addNewTaint().withKey("kubeegressgateway.azure.com/mode").withValue("true")
          .withEffect("NoSchedule").endTaint().endSpec();
    } else if (n.podCidr() != null) {
      b.withNewSpec().withPodCIDR(n.podCidr()).endSpec();
    }
    kube.client().nodes().resource(b.build()).create();
  }

  /**
   * Stops members (SIGTERM, as a node drain would), then everything else, then records what was left
   * (report keys {@code azure}, {@code logs}, {@code leftover}). Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (pods != null) {
      pods.deleteAll();
      pods.close();
    }
    if (azure != null && kube != null) {
      azure.release(kube.client(), report, out);
    }
    members.stop();
    List<String> stuckJournals = removeNodeJournals();
    keepLogs();
    lab.close();
    host.removeGatewayNamespaces();
    if (kube != null) {
      kube.close();
    }
    if (journal != null) {
      journal.close();
    }
    host.recordLeftovers(lab, report);
    // a node journal's PostgreSQL that outlived its member (pg_ctl detaches it: no descendant of the member)
    var journals = ((ObjectNode) report.get("leftover")).putArray("journals");
    stuckJournals.forEach(journals::add);
    if (azure != null) {
      azure.close();
    }
    host.restoreInotifyLimit();
  }

  /** Copies the processes' logs out of the lab before it is removed (to /run/egress-sandbox/logs). */
  private void keepLogs() {
    Path dest = settings.stateDir().resolve("logs");
    try (var files = Files.list(lab.workDir())) {
      Files.createDirectories(dest);
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).toList()) {
        Files.copy(f, dest.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      report.put("logs", dest.toString());
    } catch (IOException e) {
      out.println("could not keep logs: " + e.getMessage());
    }
  }

  /** What was checked so far (the JSON written by {@code --report}). */
  public ObjectNode report() {
    return report;
  }

  void writeReport() {
    if (settings.report() == null) {
      return;
    }
    try {
      Files.writeString(settings.report(), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(report));
    } catch (IOException e) {
      System.err.println("egress sandbox: cannot write report: " + e.getMessage());
    }
  }
}
