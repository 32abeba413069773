package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.armsim.ArmSimulator;
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

  private final Settings settings;
  private final PrintStream out;
  private final NetLab lab = new NetLab("egs");
  private final List<SimNode> nodes = new ArrayList<>();
  private final List<MemberProcess> members = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final ObjectNode report = new ObjectMapper().createObjectNode();
  private AzureVnet vnet;
  private Journal journal;
  private KubeApi kube;
  private PodRuntime pods;
  private int gatewayIndex;
  private ArmSimulator arm;
  private Map<String, com.fasterxml.jackson.databind.JsonNode> armInitial;
  private AzureFollower follower;
  static final String AZURE_RG = "rg-sandbox";
  static final String GATEWAY_POOL = "gwpool";
  /** A VNet VM that is no Kubernetes node: it hosts a private echo service (private-mode checks). */
  static final String SVC_IP = "10.224.0.3";
  private String byoPrefixId = "";
  private List<String> rootLinksBefore = List.of();
  private List<String> wgSocketsBefore = List.of();
  private volatile java.util.function.Consumer<PodRuntime.PodEvent> benchHook;
  /** Every wireguard-go device holds an inotify instance; all simulated nodes share this host's limit. */
  private static final Path INOTIFY_LIMIT = Path.of("/proc/sys/fs/inotify/max_user_instances");
  private static final int INOTIFY_NEEDED = 8192;
  private String inotifyBefore;

  public Sandbox(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  public static void main(String[] args) {
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
    rootLinksBefore = rootLinks();
    wgSocketsBefore = wgSockets();
    raiseInotifyLimit();
    vnet = new AzureVnet(lab);
    nodes.add(new SimNode("ctl-0", vnet.addVm("ctl-0", "10.224.0.2"), "10.224.0.2", "controller", null));
    for (int i = 1; i <= settings.workers(); i++) {
      String ip = "10.224.0." + (3 + i);
      String cidr = "10.244." + i + ".0/24";
      nodes.add(new SimNode("worker-" + i, vnet.addVm("worker-" + i, ip), ip, "worker", cidr));
      vnet.routePodCidr(cidr, ip);
    }
    vnet.startEcho(vnet.addVm("svc-0", SVC_IP), SVC_IP, AzureVnet.ECHO_PORT);
    // Azure: a simulated subscription whose gateway scale set's instances are the gateway nodes
    arm = ArmSimulator.start();
    arm.setLroDuration(Duration.ofMillis(200));
    String subnet = arm.seedNetwork(AZURE_RG, "vnet", "gateways", "10.224.1.0/24");
    arm.seedVmss(AZURE_RG, GATEWAY_POOL, GATEWAY_POOL, settings.gateways(), subnet);
    for (var gw : gatewayInstances().entrySet()) {
      nodes.add(new SimNode(gw.getKey(), vnet.addVm(gw.getKey(), gw.getValue()), gw.getValue(), "gateway", null));
    }
    if (settings.e2e()) {
      // a prefix the user made themselves, before the configuration that brings it
      byoPrefixId = arm.seedPublicIpPrefix(AZURE_RG, "byo-prefix", 31);
    }
    armInitial = arm.snapshot();
    follower = new AzureFollower(arm, vnet);
    follower.start();

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
    int armPort = Integer.parseInt(arm.baseUrl().replaceAll(".*:(\\d+)/?$", "$1"));
    relays.export("arm", armPort);
    for (SimNode n : nodes) {
      relays.importInto(n.ns(), "journal", PG_PORT);
      relays.importInto(n.ns(), "kube", KUBE_PORT);
      if (n.role().equals("controller")) {
        // same port as here: the simulator's long-running operations point at its own base URL
        relays.importInto(n.ns(), "arm", armPort);
      }
      registerNode(n);
    }

    Map<String, String> env = new LinkedHashMap<>();
    env.put("EGRESS_JOURNAL_MODE", "external");
    env.put("EGRESS_DB_HOST", "127.0.0.1");
    env.put("EGRESS_DB_PORT", Integer.toString(PG_PORT));
    env.put("EGRESS_NAMESPACE", "kube-egress-gateway");
    env.put("KUBECONFIG", memberKubeconfig.toString());
    // the in-process API cannot evaluate field selectors on spec.nodeName
    env.put("EGRESS_POD_FIELD_SELECTOR", "false");
    String seed = "akka://egress@" + nodes.get(0).ip() + ":25520";
    for (SimNode n : nodes) {
      Map<String, String> e = new LinkedHashMap<>(env);
      e.put("EGRESS_CNI_SOCKET", settings.stateDir().resolve(n.name()).resolve("cni.sock").toString());
      if (n.role().equals("controller")) {
        e.putAll(azureEnv(armPort));
      }
      if (n.role().equals("gateway")) {
        // namespace names are host-global: simulated gateways on one machine need their own prefixes
        e.put("EGRESS_GATEWAY_NETNS_PREFIX", "egw" + gatewayIndex++ + "-");
      }
      members.add(MemberProcess.start(lab, settings.distLib(), n.name(), n.ns(), n.ip(), List.of(n.role()), seed, e));
    }
    boolean ready = awaitReady(Duration.ofSeconds(180));
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    report.put("readyMs", readyMs);
    ArrayNode ms = report.putArray("members");
    for (MemberProcess m : members) {
      ms.addObject().put("node", m.node()).put("ready", m.managementStatus("ready") == 200).put("pid", m.pid());
    }
    out.println("kubeconfig: " + kubeconfig + "   (kubectl --kubeconfig " + kubeconfig + " get nodes)");
    out.println("members " + (ready ? "ready" : "NOT ready") + " after " + readyMs + " ms: "
        + members.stream().map(m -> m.node() + "@" + m.ip()).toList());
    if (!ready) {
      return false;
    }
    boolean demo = runDemo();
    return demo && report.path("failover").path("ok").asBoolean(false)
        && report.path("annotatedPaths").path("ok").asBoolean(false)
        && (!settings.e2e() || report.path("e2e").path("ok").asBoolean(false))
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
      applied.addAll(Demo.apply(kube.client(), E2e.manifests(byoPrefixId, SVC_IP)));
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
    while (System.nanoTime() < deadline && !all.stream().allMatch(p -> events.containsKey(key(p)))) {
      sleep(250);
    }
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
    checkAnnotatedPodPaths(all, events);
    if (settings.e2e()) {
      report.set("e2e", E2e.check(kube.client(), arm, byoPrefixId, podsReport, events, out));
    }
    recordGatewayStatuses();
    recordMetrics();
    if (settings.benchPods() > 0) {
      Bench bench = new Bench(kube.client(), settings.benchPods(), settings.benchBatch(), out);
      benchHook = bench::onPodEvent;
      report.set("bench", bench.run());
      benchHook = null;
    }
    measureFailover(all, events);
    return allOk;
  }

  private Demo.PodCheck check(io.fabric8.kubernetes.api.model.Pod pod, PodRuntime.PodEvent e) {
    String name = key(pod);
    if (e == null) {
      return new Demo.PodCheck(name, "", "", "", "", false, -1, "never reached CNI ADD");
    }
    if (!e.ok()) {
      return new Demo.PodCheck(name, e.node(), "", "", "", false, e.addMillis(), "CNI ADD failed: " + e.detail());
    }
    String seen = Demo.egressOf(e.netns(), Duration.ofSeconds(10)).orElse("");
    if (Demo.annotated(pod) && E2e.privateMode(kube.client(), pod)) {
      return E2e.checkPrivatePod(kube.client(), pod, e, seen, SVC_IP);
    }
    if (Demo.annotated(pod)) {
      String sgc = pod.getMetadata().getAnnotations().get(Demo.ANNOTATION);
      var prefix = Demo.egressPrefix(kube.client(), pod.getMetadata().getNamespace(), sgc);
      boolean endpoint = Demo.podEndpointExists(kube.client(), pod.getMetadata().getNamespace(),
          pod.getMetadata().getName(), Duration.ofSeconds(10));
      boolean ok = prefix.isPresent() && !seen.isEmpty() && Demo.inCidr(seen, prefix.get()) && endpoint;
      return new Demo.PodCheck(name, e.node(), gatewayOf(seen), seen, prefix.orElse("(no prefix in SGC status)"), ok, e.addMillis(),
          seen.isEmpty() ? "no answer from the internet echo" : endpoint ? "" : "no PodEndpoint object");
    }
    boolean ok = AzureVnet.DEFAULT_OUTBOUND_IP.equals(seen);
    return new Demo.PodCheck(name, e.node(), "", seen, AzureVnet.DEFAULT_OUTBOUND_IP, ok, e.addMillis(),
        seen.isEmpty() ? "no answer from the internet echo" : "");
  }

  /**
   * For an annotated pod, the two paths that must not use the gateway: a destination in the config's
   * excludeCidrs leaves through the node (the echo sees the VNet's default outbound address), and a
   * connection from another VM into the pod is answered (replies leave by eth0, not into the tunnel).
   */
  private void checkAnnotatedPodPaths(List<io.fabric8.kubernetes.api.model.Pod> all, Map<String, PodRuntime.PodEvent> events) {
    ObjectNode paths = report.putObject("annotatedPaths");
    var pod = all.stream().filter(Demo::annotated).filter(p -> events.containsKey(key(p)) && events.get(key(p)).ok())
        .findFirst();
    if (pod.isEmpty()) {
      paths.put("ok", false).put("detail", "no provisioned annotated pod");
      return;
    }
    PodRuntime.PodEvent e = events.get(key(pod.get()));
    Sh.Result excluded = Sh.quiet(e.netns(), "curl", "-s", "-m", "3",
        "http://" + AzureVnet.ECHO_EXCLUDED_IP + ":" + AzureVnet.ECHO_PORT + "/");
    String excludedSeen = excluded.out().trim();
    paths.put("excludedEgressIp", excludedSeen);
    paths.put("excludedOk", AzureVnet.DEFAULT_OUTBOUND_IP.equals(excludedSeen));

    // ingress: a listener in the pod, a client on the controller VM across the VNet
    Process listener = lab.spawn("ingress-" + e.key().replace('/', '-'), e.netns(),
        List.of("socat", "TCP-LISTEN:9090,reuseaddr", "SYSTEM:echo ingress-ok"));
    String podIp = e.detail();
    String ctlNs = nodes.get(0).ns();
    String answer = "";
    for (int i = 0; i < 20 && answer.isEmpty(); i++) {
      sleep(100);
      answer = Sh.quiet(ctlNs, "socat", "-T", "2", "-", "TCP:" + podIp + ":9090,connect-timeout=2").out().trim();
    }
    listener.destroy();
    paths.put("ingressAnswer", answer);
    paths.put("ingressOk", "ingress-ok".equals(answer));
    paths.put("ok", paths.path("excludedOk").asBoolean() && paths.path("ingressOk").asBoolean());
    out.println("annotated pod " + e.key() + ": excluded CIDR leaves as " + excludedSeen + ", ingress from "
        + nodes.get(0).name() + ": " + (answer.isEmpty() ? "no answer" : answer));
  }

  /** Which of the product's metrics each kind of member exposes on /metrics (Prometheus text). */
  private void recordMetrics() {
    ObjectNode m = report.putObject("metrics");
    Map<String, List<String>> wanted = Map.of(
        "controller", List.of("egress_azure_arm_calls_total", "egress_reconciles_total"),
        "worker", List.of("egress_cni_add_seconds_bucket", "egress_cni_add_total", "egress_pod_tunnel_oldest_handshake_seconds"),
        "gateway", List.of("egress_gateway_peers", "egress_gateway_serving", "egress_reconciles_total"));
    for (var e : wanted.entrySet()) {
      String text = members.stream()
          .filter(mp -> nodes.stream().anyMatch(n -> n.name().equals(mp.node()) && n.role().equals(e.getKey())))
          .map(mp -> mp.management("metrics")).reduce("", String::concat);
      for (String name : e.getValue()) {
        m.put(e.getKey() + ":" + name, text.contains(name));
      }
    }
  }

  /** Records which gateways report a serving configuration in their GatewayStatus objects (waits up to 20 s). */
  private void recordGatewayStatuses() {
    var ctx = new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder()
        .withGroup("egressgateway.kubernetes.azure.com").withVersion("v1alpha1").withKind("GatewayStatus")
        .withPlural("gatewaystatuses").withNamespaced(true).build();
    ArrayNode serving = report.putArray("gatewayStatuses");
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    List<String> names = List.of();
    while (System.nanoTime() < deadline) {
      names = kube.client().genericKubernetesResources(ctx).inAnyNamespace().list().getItems().stream()
          .filter(g -> g.getAdditionalProperties().get("spec") instanceof Map<?, ?> spec
              && spec.get("readyGatewayConfigurations") instanceof List<?> l && !l.isEmpty())
          .map(g -> g.getMetadata().getName()).sorted().toList();
      if (names.size() >= settings.gateways()) {
        break;
      }
      sleep(500);
    }
    names.forEach(serving::add);
  }

  /**
   * Fails the gateway VM an annotated demo pod egresses through, {@code --failover-runs} times (see
   * {@link Failover}); each run but the last brings the VM back and measures the failback.
   */
  private void measureFailover(List<io.fabric8.kubernetes.api.model.Pod> all, Map<String, PodRuntime.PodEvent> events) {
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
    Failover failover = new Failover(vnet, follower, ip -> {
      String gw = gatewayOf(ip);
      return nodes.stream().filter(n -> n.name().equals(gw)).findFirst();
    });
    failover.measure(events.get(key(pod.get())).netns(), settings.failoverRuns(), f);
    for (var r : f.path("runs")) {
      out.println("failover: " + r.path("from").asText() + " down -> traffic back through " + r.path("to").asText()
          + " after " + r.path("ms").asLong() + " ms" + (r.path("ok").asBoolean() ? "" : " (NOT recovered within 60 s)")
          + (r.path("failbackGapMs").asLong(-1) >= 0 ? "; back up: longest gap " + r.path("failbackGapMs").asLong() + " ms" : ""));
    }
  }

  /** The gateway node whose secondary IP leaves the VNet as {@code publicIp}. */
  private String gatewayOf(String publicIp) {
    if (follower == null) {
      return "";
    }
    return follower.publicIps().entrySet().stream().filter(e -> e.getValue().equals(publicIp))
        .map(e -> follower.nodesBySecondary().getOrDefault(e.getKey(), "")).findFirst().orElse("");
  }

  private static String key(io.fabric8.kubernetes.api.model.Pod p) {
    return p.getMetadata().getNamespace() + "/" + p.getMetadata().getName();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** computer name → primary IP of every gateway scale set instance, as the simulator allocated them. */
  private Map<String, String> gatewayInstances() {
    Map<String, String> computerByVm = new java.util.HashMap<>();
    arm.resources("Microsoft.Compute/virtualMachineScaleSets/virtualMachines").forEach(vm ->
        computerByVm.put(vm.path("id").asText().toLowerCase(), vm.path("properties").path("osProfile").path("computerName").asText()));
    Map<String, String> out = new java.util.TreeMap<>();
    for (var nic : arm.resources("Microsoft.Network/networkInterfaces")) {
      String computer = computerByVm.get(nic.path("properties").path("virtualMachine").path("id").asText().toLowerCase());
      for (var ipc : nic.path("properties").path("ipConfigurations")) {
        if (ipc.path("properties").path("primary").asBoolean(false) && computer != null) {
          out.put(computer, ipc.path("properties").path("privateIPAddress").asText());
        }
      }
    }
    return out;
  }

  /** The controller's Azure settings: an upstream-style azure.json, the simulator's endpoint and certificate. */
  private Map<String, String> azureEnv(int armPort) {
    try {
      Path dir = settings.stateDir().resolve("azure");
      Files.createDirectories(dir);
      Path cloud = dir.resolve("azure.json");
      Files.writeString(cloud, """
          {"cloud":"AzurePublicCloud","tenantId":"%s","subscriptionId":"%s","location":"westeurope",
           "resourceGroup":"%s","vnetName":"vnet","vnetResourceGroup":"%s","subnetName":"gateways",
           "aadClientId":"sandbox-controller","aadClientSecret":"sandbox-secret"}
          """.formatted(ArmSimulator.TENANT, ArmSimulator.SUBSCRIPTION, AZURE_RG, AZURE_RG));
      cloud.toFile().setReadable(false, false);
      cloud.toFile().setReadable(true, true);
      Path cert = dir.resolve("arm.pem");
      Files.writeString(cert, "-----BEGIN CERTIFICATE-----\n"
          + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(arm.tls().certificate().getEncoded())
          + "\n-----END CERTIFICATE-----\n");
      return Map.of("EGRESS_AZURE_CONFIG", cloud.toString(),
          "EGRESS_AZURE_ARM_ENDPOINT", "https://127.0.0.1:" + armPort,
          "EGRESS_AZURE_TRUST_CERT", cert.toString());
    } catch (IOException | java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException("cannot write the controller's Azure settings: " + e.getMessage(), e);
    }
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

  private boolean awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (members.stream().allMatch(m -> m.managementStatus("ready") == 200)) {
        return true;
      }
      if (members.stream().anyMatch(m -> !m.isAlive())) {
        out.println("a member exited: " + members.stream().filter(m -> !m.isAlive()).map(MemberProcess::node).toList()
            + " (logs in " + lab.workDir() + ")");
        return false;
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /** Stops members (SIGTERM, as a node drain would), then everything else. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (pods != null) {
      pods.deleteAll();
      pods.close();
    }
    releaseAzure();
    members.forEach(MemberProcess::stop);
    for (MemberProcess m : members) {
      try {
        m.awaitExit(Duration.ofSeconds(20));
      } catch (RuntimeException e) {
        out.println("member " + m.node() + " did not stop: " + e.getMessage());
      }
    }
    keepLogs();
    lab.close();
    removeGatewayNamespaces();
    if (kube != null) {
      kube.close();
    }
    if (journal != null) {
      journal.close();
    }
    ObjectNode left = report.putObject("leftover");
    ArrayNode ns = left.putArray("namespaces");
    lab.existingNamespaces().forEach(ns::add);
    gatewayNamespaces().forEach(ns::add);
    ArrayNode procs = left.putArray("processes");
    lab.livePids().forEach(procs::add);
    ArrayNode links = left.putArray("links");
    rootLinks().stream().filter(l -> !rootLinksBefore.contains(l)).forEach(links::add);
    wgSockets().stream().filter(w -> !wgSocketsBefore.contains(w)).forEach(w -> links.add("wireguard UAPI socket " + w));
    if (arm != null) {
      arm.close();
    }
    restoreInotifyLimit();
  }

  private void raiseInotifyLimit() {
    try {
      String now = Files.readString(INOTIFY_LIMIT).trim();
      if (Integer.parseInt(now) < INOTIFY_NEEDED) {
        // sysctl, not a Java write: the JDK's partial writes make procfs keep only the first digit
        Sh.must("sysctl", "-qw", "fs.inotify.max_user_instances=" + INOTIFY_NEEDED);
        inotifyBefore = now;
        out.println("fs.inotify.max_user_instances raised from " + now + " to " + INOTIFY_NEEDED
            + " for the run (every simulated node's wireguard-go devices share this host's limit)");
      }
    } catch (IOException | RuntimeException e) {
      out.println("could not raise fs.inotify.max_user_instances: " + e.getMessage());
    }
  }

  private void restoreInotifyLimit() {
    if (inotifyBefore != null) {
      try {
        Sh.must("sysctl", "-qw", "fs.inotify.max_user_instances=" + inotifyBefore);
      } catch (RuntimeException e) {
        out.println("could not restore fs.inotify.max_user_instances to " + inotifyBefore + ": " + e.getMessage());
      }
    }
  }

  /**
   * Deletes every gateway configuration and waits (bounded) until the controller has cleaned up after them,
   * then records what Azure holds beyond the initial inventory.
   */
  private void releaseAzure() {
    if (arm == null || kube == null) {
      return;
    }
    if (follower != null) {
      follower.close();
    }
    ObjectNode azure = report.putObject("azure");
    try {
      kube.client().genericKubernetesResources(Demo.SGC).inAnyNamespace().delete();
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (System.nanoTime() < deadline
          && !kube.client().genericKubernetesResources(Demo.SGC).inAnyNamespace().list().getItems().isEmpty()) {
        sleep(500);
      }
    } catch (RuntimeException e) {
      azure.put("releaseError", e.getMessage());
    }
    azure.put("reads", arm.reads()).put("writes", arm.writes());
    ArrayNode leftover = azure.putArray("leftover");
    Map<String, com.fasterxml.jackson.databind.JsonNode> now = arm.snapshot();
    now.forEach((id, r) -> {
      if (armInitial == null || !armInitial.containsKey(id)) {
        leftover.add(id);
      } else if (!armInitial.get(id).equals(r)) {
        leftover.add(id + " (changed)");
      }
    });
    if (!leftover.isEmpty()) {
      out.println("Azure resources left after teardown: " + leftover);
    }
  }

  /**
   * The gateway agents' per-config namespaces ({@code egw<N>-<uid>}, our prefixes). A real gateway keeps
   * them across agent restarts on purpose; the sandbox's simulated nodes vanish, so they go too.
   */
  private List<String> gatewayNamespaces() {
    List<String> found = new ArrayList<>();
    for (String line : Sh.quiet(null, "ip", "netns", "list").out().split("\n")) {
      String n = line.split(" ")[0].trim();
      for (int i = 0; i < gatewayIndex; i++) {
        if (n.startsWith("egw" + i + "-")) {
          found.add(n);
        }
      }
    }
    return found;
  }

  private void removeGatewayNamespaces() {
    for (String n : gatewayNamespaces()) {
      Sh.quiet(null, "ip", "netns", "del", n);
    }
    // wg drops the UAPI sockets of wireguard-go processes that are gone
    Sh.quiet(null, "wg", "show", "interfaces");
  }

  /** Link names in the namespace the sandbox runs in (it must not leave any behind there). */
  private static List<String> rootLinks() {
    List<String> names = new ArrayList<>();
    for (String line : Sh.quiet(null, "ip", "-o", "link", "show").out().split("\n")) {
      String[] f = line.split(":\\s+", 3);
      if (f.length >= 2) {
        names.add(f[1].split("@")[0].trim());
      }
    }
    return names;
  }

  /** wireguard-go UAPI sockets on this host. */
  private static List<String> wgSockets() {
    try (var files = Files.list(Path.of("/var/run/wireguard"))) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
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
