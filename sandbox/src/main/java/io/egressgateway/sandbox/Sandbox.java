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
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code ./egress sandbox}: the whole system on this machine, installed as a user installs it. Builds the
 * VNet stand-in and one namespace per simulated node (workers, gateways), starts the controllers' PostgreSQL,
 * the Kubernetes API and the ARM simulator here and makes them reachable in the VNet ({@link VnetServices}),
 * then installs the chart ({@link Release}) with the image built on this machine: its pods run on a
 * {@link NodeRuntime} per node (podman), their networks come from each node's CNI chain ({@link PodRuntime}).
 * Tears everything down on Ctrl-C (or at the end of {@code --once}).
 */
public final class Sandbox implements AutoCloseable {

  /** Command-line settings ({@link SandboxCommand} parses them). */
  public record Settings(int workers, int gateways, boolean once, Path report, List<Path> apply, String imageTag, Path stateDir,
      boolean e2e, int benchPods, int benchBatch, int failoverRuns, List<String> failoverKinds, boolean clean, boolean faults,
      int probeIntervalMs) {
    /** The settings {@code args} give; fails with {@link IllegalArgumentException} naming a bad option. */
    public static Settings parse(List<String> args) {
      return SandboxCommand.parse(args);
    }
  }

  /** The window without pods before the benchmark's, over which the components' idle CPU is measured. */
  static final Duration BENCH_IDLE_WINDOW = Duration.ofSeconds(20);

  /** A simulated node: its name (as in Kubernetes and Azure), namespace and primary IP. */
  public record SimNode(String name, String ns, String ip, String role, String podCidr) {}

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Sandbox.class);
  /** Held strongly: java.util.logging forgets levels of loggers nobody references. */
  private static final java.util.logging.Logger MOCK_SERVER_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
  /** The values the chart is installed with (a resource of this jar). */
  static final String VALUES = "sandbox-values.yaml";
  /** The chart's default, which the sandbox's values keep. */
  static final int CONTROLLER_REPLICAS = 2;

  static final String AZURE_RG = "rg-sandbox";
  static final String GATEWAY_POOL = "gwpool";
  /** A VNet VM that is no Kubernetes node: it hosts a private echo service (private-mode checks). */
  static final String SVC_IP = "10.224.0.3";

  private final Settings settings;
  private final PrintStream out;
  static final String NS_PREFIX = "egs";
  private final NetLab lab;
  private final Leftovers leftovers;
  private boolean claimed;
  private final HostState host;
  private final Podman podman;
  private final List<SimNode> nodes = new ArrayList<>();
  private final Map<String, NodeHost> hosts = new LinkedHashMap<>();
  private final Map<String, NodeRuntime> runtimes = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, PodRuntime.PodEvent> events = new java.util.concurrent.ConcurrentHashMap<>();
  private io.fabric8.kubernetes.client.informers.SharedIndexInformer<io.fabric8.kubernetes.api.model.Pod> kubelets;
  private SandboxImage image;
  private Release release;
  private String clientNs;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final ObjectNode report = new ObjectMapper().createObjectNode();
  /** When {@link #run} began: what the identity check reads of the members' output starts there. */
  private java.time.Instant runStart = java.time.Instant.now();
  private AzureVnet vnet;
  private AzureSubscription azure;
  private Journal journal;
  private KubeApi kube;
  private PodRuntime pods;
  private volatile java.util.function.Consumer<PodRuntime.PodEvent> benchHook;
  /** Each node as it was before {@code helm install} (the uninstall check compares with it). */
  private Map<String, NodeInventory> beforeInstall;
  /** The values file the release was installed with (an upgrade renders with it again). */
  private Path valuesFile;
  /** The image's second tag, made for the upgrade check (dropped at teardown). */
  private String upgradeTag;

  public Sandbox(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
    this.host = new HostState(out);
    this.podman = Podman.forRepository();
    this.lab = new NetLab(NS_PREFIX, settings.stateDir().resolve(Leftovers.PIDS_DIR));
    this.leftovers = new Leftovers(settings.stateDir(), NS_PREFIX, podman, Podman.LABEL, out);
  }

  public static void main(String[] args) {
    System.exit(SandboxCommand.run(args, System.out, System.err));
  }

  /** The sandbox as the command line runs it (as root); the exit code. */
  static int runAsCommand(Settings s) {
    io.egressgateway.core.ProcessLaunch.useVfork();
    // the mock API server logs every request through java.util.logging
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
    if (s.clean()) {
      return cleanOnly(s);
    }
    Sandbox sandbox = new Sandbox(s, System.out);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sandbox.close();
      stopped.countDown();
    }, "sandbox-teardown"));
    int exit;
    boolean started = false;
    try {
      started = sandbox.start();
      boolean ok = started && sandbox.run();
      exit = ok ? 0 : 1;
    } catch (RuntimeException e) {
      System.err.println("egress sandbox: " + e.getMessage());
      exit = 1;
    }
    if (!s.once() && started) {
      List<String> failed = sandbox.failedChecks();
      System.out.println(failed.isEmpty() && exit == 0 ? "sandbox is up; Ctrl-C tears it down"
          : "sandbox is up, but these checks FAILED: " + (failed.isEmpty() ? "start-up (see above)" : String.join(", ", failed))
              + "; it stays up so you can look (kubeconfig and logs under " + s.stateDir() + "); Ctrl-C tears it down");
      try {
        stopped.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      sandbox.close();
    } finally {
      sandbox.writeReport();
    }
    if (!sandbox.report().path("teardownErrors").isEmpty()) {
      exit = 1;
    }
    if (exit == 0 && s.e2e() && !sandbox.report().path("uninstall").path("ok").asBoolean(false)) {
      System.err.println("egress sandbox: the uninstall left things behind (report key uninstall)");
      exit = 1;
    }
    return exit;
  }
  /** {@code --clean}: removes what earlier runs left, touches nothing else; the exit code. */
  private static int cleanOnly(Settings s) {
    Podman podman = Podman.forRepository();
    try {
      List<String> found = new Leftovers(s.stateDir(), NS_PREFIX, podman, Podman.LABEL, System.out).clean();
      if (found.isEmpty()) {
        System.out.println("nothing left behind by an earlier sandbox run");
      }
      return 0;
    } catch (RuntimeException e) {
      System.err.println("egress sandbox --clean: " + e.getMessage());
      return 1;
    }
  }

  /**
   * Takes the machine for this run: refuses while another sandbox runs, removes what an earlier run left
   * (reported under {@code startCleaned}); false when it must not go on.
   */
  public boolean start() {
    List<String> found = leftovers.clean();
    var cleaned = report.putArray("startCleaned");
    found.forEach(cleaned::add);
    leftovers.claim();
    claimed = true;
    return true;
  }

  /** The names of the checks the report says failed (for a sandbox that stays up after a failure). */
  List<String> failedChecks() {
    List<String> failed = new ArrayList<>();
    for (String key : List.of("failover", "annotatedPaths", "e2e", "reconfig", "policy", "grants", "agentRestart", "bench", "kill", "controllersReplaced",
        "audit", "upgrade", "faults", "identity", "identityAtEnd")) {
      var node = report.get(key);
      if (node != null && !(node.isArray() ? allOk(node) : node.path("ok").asBoolean(false))) {
        failed.add(key);
      }
    }
    if (report.has("exceptionsOk") && !report.path("exceptionsOk").asBoolean(false)) {
      failed.add("exceptions");
    }
    return failed;
  }

  /** True when {@code array} has entries and every one is {@code ok}. */
  private static boolean allOk(com.fasterxml.jackson.databind.JsonNode array) {
    if (!array.isArray() || array.isEmpty()) {
      return false;
    }
    for (var e : array) {
      if (!e.path("ok").asBoolean(false)) {
        return false;
      }
    }
    return true;
  }

  /** Brings everything up and runs the checks; true when all passed. */
  public boolean run() {
    long t0 = System.nanoTime();
    runStart = java.time.Instant.now();
    if (!claimed) {
      start();
    }
    host.prepare();
    image = SandboxImage.find(SandboxImage.root(), settings.imageTag()).orElseThrow(() -> new IllegalStateException(
        "the image " + settings.imageTag() + " is not built here: sudo ./egress image --tag " + settings.imageTag()));
    Map<String, String> inspected = podman.image(image.image());
    if (inspected.isEmpty() || !inspected.get("id").equals(image.id())) {
      throw new IllegalStateException("podman has no image " + image.image() + " with id " + image.id() + " (rebuild it: sudo ./egress image)");
    }
    report.putObject("install").put("image", image.image()).put("imageId", image.id()).put("imageBytes", image.bytes());
    vnet = new AzureVnet(lab);
    NodeStandIns standIns = new NodeStandIns(lab);
    for (int i = 1; i <= settings.workers(); i++) {
      String ip = "10.224.0." + (3 + i);
      String cidr = "10.244." + i + ".0/24";
      SimNode worker = new SimNode("worker-" + i, vnet.addVm("worker-" + i, ip), ip, "worker", cidr);
      nodes.add(worker);
      vnet.routePodCidr(cidr, ip);
      standIns.addTo(worker);
    }
    clientNs = vnet.addVm("svc-0", SVC_IP);
    vnet.startEcho(clientNs, SVC_IP, AzureVnet.ECHO_PORT);
    // Azure: a simulated subscription whose gateway scale set's instances are the gateway nodes
    azure = AzureSubscription.start(List.of(VnetServices.ARM_IP));
    azure.seedGatewayPool(settings.gateways());
    for (var gw : azure.gatewayInstances().entrySet()) {
      nodes.add(new SimNode(gw.getKey(), vnet.addVm(gw.getKey(), gw.getValue()), gw.getValue(), "gateway", null));
    }
    if (settings.e2e()) {
      azure.seedByoPrefix();
    }
    azure.follow(vnet, settings.probeIntervalMs() > 0 ? java.time.Duration.ofMillis(settings.probeIntervalMs()) : null);

    // the controllers' external journal: a PostgreSQL server with a database and user for them, as a DBA makes them
    // in the state directory, so a run killed before its teardown leaves a server the next start can find and stop
    journal = Journal.start(CoreSettings.fromConfig(ConfigFactory.parseMap(Map.of("egress.journal.embedded.data-dir",
        settings.stateDir().resolve(Leftovers.JOURNAL_DIR).toString())).withFallback(ConfigFactory.load())).journal());
    String journalPassword = createJournalDatabase();
    kube = KubeApi.start("127.0.0.1", 0);
    Path kubeconfig = kube.writeKubeconfig(settings.stateDir().resolve("kubeconfig"));
    Relays relays = new Relays(lab);
    VnetServices services = new VnetServices(lab, vnet, relays, lab.workDir().resolve("apiserver"));
    services.exposeApi(Integer.parseInt(kube.url().substring(kube.url().lastIndexOf(':') + 1)));
    services.exposeJournal(journal.settings().port());
    services.exposeArm(azure.port());

    Path nodesDir = settings.stateDir().resolve("nodes");
    Map<String, NodeHost> podNetworks = new LinkedHashMap<>();
    for (SimNode n : nodes) {
      registerNode(n);
      NodeStandIns.kubeProxyNat(n.ns());
      NodeHost h = NodeHost.create(n.name(), n.ns(), nodesDir);
      hosts.put(n.name(), h);
      if (n.podCidr() != null) {
        h.installPrimaryNetwork(n.podCidr());
        podNetworks.put(n.name(), h);
      }
    }
    pods = new PodRuntime(kube.client(), lab, podNetworks, e -> {
      events.put(e.key(), e);
      var hook = benchHook;
      if (hook != null) {
        hook.accept(e);
      }
    });
    pods.start();
    NodeRuntime.ApiAccess apiAccess = new NodeRuntime.ApiAccess() {
      @Override
      public Map<String, String> serviceEnv() {
        return VnetServices.serviceEnv();
      }

      @Override
      public String token(String namespace, String serviceAccount) {
        return VnetServices.token(namespace, serviceAccount);
      }

      @Override
      public String caPem() {
        return services.caPem();
      }
    };
    for (SimNode n : nodes) {
      runtimes.put(n.name(), new NodeRuntime(hosts.get(n.name()), n.ip(), kube.client(), podman, pods, apiAccess,
          settings.stateDir().resolve("pods"), settings.stateDir().resolve("logs"), lab.workDir().toString()));
    }
    kubelets = kube.client().pods().inAnyNamespace().inform(new io.fabric8.kubernetes.client.informers.ResourceEventHandler<>() {
      @Override
      public void onAdd(io.fabric8.kubernetes.api.model.Pod p) {
        runtimeOf(p).ifPresent(r -> r.onPod(p));
      }

      @Override
      public void onUpdate(io.fabric8.kubernetes.api.model.Pod old, io.fabric8.kubernetes.api.model.Pod p) {
        runtimeOf(p).ifPresent(r -> r.onPod(p));
      }

      @Override
      public void onDelete(io.fabric8.kubernetes.api.model.Pod p, boolean unknown) {
        if (NodeRuntime.runsContainers(p)) {
          log.info("pod {}/{} deleted", p.getMetadata().getNamespace(), p.getMetadata().getName());
        }
        runtimeOf(p).ifPresent(r -> r.onDeleted(p));
      }
    }, 0);

    // what a user does before `helm install`: the namespace, the journal's password, the cloud config, the cloud's CA
    release = new Release(kube.client(), SandboxImage.root().resolve("charts/kube-egress-gateway"),
        node -> Optional.ofNullable(runtimes.get(node)));
    out.println("CRDs installed: " + kube.installCrds(SandboxImage.root().resolve("charts/kube-egress-gateway/crds")));
    prepareNamespace(journalPassword);
    Path values = writeValues();
    valuesFile = values;
    String rendered = release.render(values, Map.of("image.repository", image.repository(), "image.tag", image.tag()));
    ((ObjectNode) report.get("install")).put("chartVersion", release.chartVersion()).put("release", Release.NAME)
        .put("namespace", Release.NAMESPACE);
    List<String> applied = release.apply(rendered);
    out.println("chart " + release.chartVersion() + " rendered with " + values.getFileName() + " and applied: " + applied.size()
        + " objects (" + String.join(", ", applied) + ")");
    beforeInstall = new LinkedHashMap<>();
    hosts.forEach((name, h) -> beforeInstall.put(name, NodeInventory.of(h)));
    release.startWorkloads();
    int expected = settings.workers() + settings.gateways() + CONTROLLER_REPLICAS;
    boolean ready = release.awaitReady(Duration.ofSeconds(300), expected);
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    report.put("readyMs", readyMs);
    release.report(report.putArray("members"));
    out.println("kubeconfig: " + kubeconfig + "   (kubectl --kubeconfig " + kubeconfig + " get pods -A -o wide)");
    out.println("members " + (ready ? "ready" : "NOT ready (" + release.notReady() + ")") + " after " + readyMs + " ms: "
        + release.addresses());
    if (!ready) {
      return false;
    }
    boolean demo = runDemo();
    return demo && report.path("failover").path("ok").asBoolean(false)
        && report.path("annotatedPaths").path("ok").asBoolean(false)
        && report.path("exceptionsOk").asBoolean(false)
        && (!settings.e2e() || report.path("e2e").path("ok").asBoolean(false))
        && (!settings.e2e() || allOk(report.path("reconfig")))
        && (!settings.e2e() || report.path("policy").path("ok").asBoolean(false))
        && (!settings.e2e() || report.path("grants").path("ok").asBoolean(false))
        && (!settings.e2e() || report.path("agentRestart").path("ok").asBoolean(false))
        && (!settings.e2e() || allOk(report.path("kill")))
        && (!settings.e2e() || report.path("controllersReplaced").path("ok").asBoolean(false))
        && (!settings.e2e() || report.path("audit").path("ok").asBoolean(false))
        && (!settings.e2e() || report.path("upgrade").path("ok").asBoolean(false))
        && (settings.benchPods() == 0 || report.path("bench").path("ok").asBoolean(false))
        && report.path("identity").path("ok").asBoolean(false)
        && (!runsFaults() || report.path("identityAtEnd").path("ok").asBoolean(false))
        && (!runsFaults() || allOk(report.path("faults")));
  }

  /**
   * The fault suite: part of {@code --e2e} (after its scenarios and the upgrade, before the uninstall), and on its
   * own after the demo with {@code --faults}.
   */
  private boolean runsFaults() {
    return settings.faults() || settings.e2e();
  }

  private Optional<NodeRuntime> runtimeOf(io.fabric8.kubernetes.api.model.Pod p) {
    return p.getSpec() == null || p.getSpec().getNodeName() == null ? Optional.empty()
        : Optional.ofNullable(runtimes.get(p.getSpec().getNodeName()));
  }

  /** Creates the controllers' database and user on the journal's server; returns the user's password. */
  private String createJournalDatabase() {
    String password = java.util.UUID.randomUUID().toString().replace("-", "");
    var s = journal.settings();
    try (var c = java.sql.DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password()); var st = c.createStatement()) {
      st.execute("CREATE ROLE egress LOGIN PASSWORD '" + password + "'");
      st.execute("CREATE DATABASE egress OWNER egress");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot create the journal's database: " + e.getMessage(), e);
    }
    return password;
  }

  /** The release namespace with what the values file refers to: the journal password, the cloud config, the CA bundle. */
  private void prepareNamespace(String journalPassword) {
    var c = kube.client();
    c.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName(Release.NAMESPACE)
        .endMetadata().build()).create();
    c.secrets().inNamespace(Release.NAMESPACE).resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
        .withName("egress-journal").endMetadata().addToData("password", base64(journalPassword)).build()).create();
    c.secrets().inNamespace(Release.NAMESPACE).resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
        .withName("azure-cloud-config").endMetadata().addToData("azure-cloud-config.json", base64(AzureSubscription.cloudConfigJson()))
        .build()).create();
    c.configMaps().inNamespace(Release.NAMESPACE).resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata()
        .withName("azure-ca").endMetadata().addToData("ca.crt", azure.certificatePem()).build()).create();
    // the members' remoting certificates, one per role, as cert-manager would keep them (what the chart's
    // cluster.tls.existingSecrets takes): helm-java's template cannot look up the Secrets the chart generates, so
    // every render (the upgrade's too) would make new ones with a new CA
    Pki pki = new Pki(lab.workDir().resolve("remoting"));
    Pki.Pair ca = pki.ca("ca", Release.NAME + " remoting CA");
    for (String role : Release.ROLES) {
      Pki.Pair cert = pki.signed(role, ca, REMOTING_SUBJECT, List.of("subjectAltName=DNS:" + role + ".role.egress-gateway",
          "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth,clientAuth"), true);
      c.secrets().inNamespace(Release.NAMESPACE).resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
          .withName(remotingSecret(role)).endMetadata().withType("kubernetes.io/tls").addToData("tls.crt", base64(cert.certPem()))
          .addToData("tls.key", base64(cert.keyPem())).addToData("ca.crt", base64(ca.certPem())).build()).create();
    }
  }

  /**
   * The subject every remoting certificate shares (Akka's TLS peer check wants a name in common): the one the
   * chart gives those it generates, {@code <fullname> member}.
   */
  static final String REMOTING_SUBJECT = Release.NAME + "-kube-egress-gateway member";

  /** The Secret with the remoting certificate of {@code role} (named in sandbox-values.yaml). */
  static String remotingSecret(String role) {
    return "egress-remote-tls-" + role;
  }

  private static String base64(String s) {
    return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The sandbox's values file (a resource of this jar), where helm can read it. */
  private Path writeValues() {
    try (var in = Sandbox.class.getResourceAsStream("/" + VALUES)) {
      if (in == null) {
        throw new IllegalStateException(VALUES + " missing from the sandbox jar");
      }
      Path f = lab.workDir().resolve(VALUES);
      Files.write(f, in.readAllBytes());
      return f;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Applies the demo (and --apply files), then checks every pod's egress address. */
  private boolean runDemo() {
    java.time.Instant demoStart = java.time.Instant.now();
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
    // the demo's pods: every pod but the release's own
    List<io.fabric8.kubernetes.api.model.Pod> all = kube.client().pods().inAnyNamespace().list().getItems().stream()
        .filter(p -> !p.getMetadata().getNamespace().equals(Release.NAMESPACE)).toList();
    long deadline = System.nanoTime() + Duration.ofSeconds(settings.e2e() ? 150 : 90).toNanos();
    while (System.nanoTime() < deadline && !all.stream().allMatch(p -> events.containsKey(DemoChecks.key(p)))) {
      Sh.sleep(250);
    }
    DemoChecks checks = new DemoChecks(settings, kube.client(), lab, vnet, azure, nodes, clientNs, report, out);
    boolean allOk = checks.pods(all, events);
    checks.annotatedPodPaths(all, events);
    report.put("exceptionsOk", checks.exceptions(all, events));
    if (settings.e2e()) {
      report.set("e2e", E2e.check(kube.client(), azure.arm(), azure.byoPrefixId(), report.get("pods"), events, out));
      // live reconfiguration of the demo's configuration under its running pod
      PodRuntime.PodEvent annotated = events.get(Reconfig.POD);
      report.set("reconfig", Reconfig.run(kube.client(), annotated == null ? null : annotated.netns(), out));
      report.set("policy", Policy.run(kube.client(), events, out));
      report.set("grants", Grants.run(kube.client(), azure.arm(), azure.byoPrefixId(), events, out));
    }
    checks.gatewayStatuses();
    checks.metrics(release);
    if (settings.benchPods() > 0) {
      benchmark();
    }
    if (settings.e2e()) {
      checks.agentRestart(all, events, release, pods);
      Lifecycle lifecycle = new Lifecycle(kube.client(), release, azure, events, out, report);
      lifecycle.kill("demo/annotated");
      lifecycle.controllersReplaced(nodes.stream().filter(n -> n.role().equals("worker")).reduce((a, b) -> b).orElseThrow().name());
      lifecycle.cleanUp();
      report.set("audit", Audit.check(release, report, demoStart, out));
      upgradeTag = image.tag() + "-upgrade";
      podman.tag(image.image(), image.repository() + ":" + upgradeTag);
      lifecycle.upgrade(tag -> release.apply(release.render(valuesFile, Map.of("image.repository", image.repository(),
          "image.tag", tag))), upgradeTag, settings.workers() + settings.gateways() + CONTROLLER_REPLICAS,
          all.stream().filter(Demo::annotated).filter(p -> !E2e.privateMode(kube.client(), p))
              .filter(p -> kube.client().pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).get() != null)
              .map(DemoChecks::key).toList());
    }
    // per-role identity over everything so far: enforced on every member, nothing refused or downed
    report.set("identity", Identity.check(release, settings.stateDir().resolve("logs"), runStart,
        settings.e2e() ? "after the e2e scenarios and the upgrade" : "after the demo", out));
    if (runsFaults()) {
      new Faults(kube.client(), release, azure, events, pods, lab, kube, nodes, settings.workers() + settings.gateways()
          + CONTROLLER_REPLICAS, out).run(report.putArray("faults"));
    }
    checks.failover(all, events, release);
    if (runsFaults()) {
      report.set("identityAtEnd", Identity.check(release, settings.stateDir().resolve("logs"), runStart,
          "after the faults and the failover", out));
    }
    return allOk;
  }

  /**
   * {@code --bench-pods}: the pods' latencies ({@link Bench}), and the CPU they cost by component over the
   * benchmark's window ({@link CpuAccounting}; the CNI plugins run in cpuacct groups of their own meanwhile),
   * then the floor in the same run ({@link Floor}): report keys {@code bench.cpuPerPod} and
   * {@code bench.floorLatency}. Without a cpuacct hierarchy here the latencies only.
   */
  private void benchmark() {
    Bench bench = new Bench(kube.client(), settings.benchPods(), settings.benchBatch(), out);
    benchHook = bench::onPodEvent;
    if (!CpuGroup.available(CpuGroup.ROOT)) {
      out.println("bench: no cpuacct cgroup hierarchy at " + CpuGroup.ROOT + ": latencies only, no CPU per pod");
      report.set("bench", bench.run());
      benchHook = null;
      return;
    }
    List<CpuGroup> groups = new ArrayList<>();
    try {
      CpuGroup ours = CpuGroup.create(CpuGroup.ROOT, NS_PREFIX, "ours");
      groups.add(ours);
      CpuGroup cni = CpuGroup.create(CpuGroup.ROOT, NS_PREFIX, "cni");
      groups.add(cni);
      CpuGroup floor = CpuGroup.create(CpuGroup.ROOT, NS_PREFIX, "floor");
      groups.add(floor);
      pods.accountCpu(new PodRuntime.CpuGroups(ours, cni));
      CpuAccounting.Window[] window = new CpuAccounting.Window[1];
      ObjectNode r;
      List<CpuAccounting.Container> containers = containers();
      long nanosPerTick = CpuAccounting.nanosPerTick();
      CpuAccounting.Window idle;
      // first as long a window without pods: what the components use idle (gossip, probes, metrics)
      try (CpuAccounting cpu = new CpuAccounting(Path.of("/proc"), CpuGroup.ROOT, nanosPerTick, containers,
          Map.of("pluginJvm", ours, "cniPlugins", cni), ProcessHandle.current().pid(), journalPid())) {
        cpu.start();
        Sh.sleep(BENCH_IDLE_WINDOW.toMillis());
        idle = cpu.stop();
      }
      try (CpuAccounting cpu = new CpuAccounting(Path.of("/proc"), CpuGroup.ROOT, nanosPerTick, containers,
          Map.of("pluginJvm", ours, "cniPlugins", cni), ProcessHandle.current().pid(), journalPid())) {
        r = bench.window(cpu::start, () -> window[0] = cpu.stop()).run();
      } finally {
        pods.accountCpu(null);
        benchHook = null;
      }
      report.set("bench", r);
      Floor.Result f;
      try {
        f = Floor.run(floor, lab.workDir(), "/usr/lib/cni", settings.benchPods(), settings.benchBatch());
      } catch (RuntimeException e) {
        f = new Floor.Result(List.of(), 0, 0, "the floor did not run: " + e.getMessage());
      }
      ObjectNode perPod = window[0].perPod(settings.benchPods(), f.cpuNanosPerPod(), idle);
      ObjectNode floorLatency = f.report();
      r.set("cpuPerPod", perPod);
      r.set("floorLatency", floorLatency);
      double oursMs = perPod.path("ours").asDouble();
      long p99 = r.path("readyMs").path("p99").asLong(-1);
      long floorP99 = floorLatency.path("p99Ms").asLong(-1);
      perPod.put("oursTargetMet", oursMs <= 50.0);
      r.put("p99WithinTwiceFloor", floorP99 > 0 && p99 >= 0 && p99 <= 2 * floorP99);
      out.println("bench cpu: ours " + oursMs + " ms/pod (target <= 50: " + (oursMs <= 50.0 ? "met" : "NOT met") + "; "
          + perPod.path("oursNetOfIdle") + " ms/pod less the idle rate), by component "
          + perPod.path("byComponent") + " over " + perPod.path("windowSeconds") + " s; floor " + perPod.path("floor")
          + " ms/pod, floor latency p50 " + floorLatency.path("p50Ms") + " ms, p99 " + floorP99 + " ms (" + floorLatency.path("ok")
          + " of " + settings.benchPods() + " ok) against the bench's p99 " + p99 + " ms (target <= 2x floor: "
          + (r.path("p99WithinTwiceFloor").asBoolean() ? "met" : "NOT met") + ")" + (floorLatency.path("errors").isEmpty() ? ""
          : "; floor errors " + floorLatency.path("errors")));
    } finally {
      groups.forEach(CpuGroup::close);
    }
  }

  /** The run's containers now (every node runtime's pods), for the CPU accounting. */
  private List<CpuAccounting.Container> containers() {
    List<CpuAccounting.Container> all = new ArrayList<>();
    for (NodeRuntime r : runtimes.values()) {
      for (PodWorker w : r.pods()) {
        for (var c : w.pod().getSpec().getContainers()) {
          w.containerId(c.getName()).ifPresent(id -> all.add(new CpuAccounting.Container(id, w.key(), c.getName())));
        }
      }
    }
    return all;
  }

  /** The controllers' PostgreSQL server (its postmaster's PID), 0 when it cannot be told. */
  private long journalPid() {
    try {
      List<String> lines = Files.readAllLines(settings.stateDir().resolve(Leftovers.JOURNAL_DIR).resolve("pgdata/postmaster.pid"));
      return lines.isEmpty() ? 0 : Long.parseLong(lines.get(0).trim());
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /**
   * The node journals' directories (gateway and worker members, on their nodes), after stopping any
   * PostgreSQL server left running on one; returns the directories where one could not be stopped. They go
   * with the nodes' directories.
   */
  private List<String> checkNodeJournals() {
    List<String> stuck = new ArrayList<>();
    for (NodeHost h : hosts.values()) {
      for (String role : List.of("gateway", "worker")) {
        Path dir = h.hostPath("/var/lib/kube-egress-gateway/journal-" + role);
        if (Files.isDirectory(dir) && !Journal.stopLeftoverServer(dir)) {
          stuck.add(dir.toString());
        }
      }
    }
    return stuck;
  }

  private void registerNode(SimNode n) {
    NodeBuilder b = new NodeBuilder().withNewMetadata().withName(n.name())
        .addToLabels("kubernetes.io/os", "linux")
        .addToLabels("kubernetes.io/hostname", n.name())
        .addToLabels("kubernetes.azure.com/agentpool", n.role().equals("gateway") ? GATEWAY_POOL : "nodepool1")
        .endMetadata()
        .withNewStatus().addNewAddress().withType("InternalIP").withAddress(n.ip()).endAddress()
        .addNewAddress().withType("Hostname").withAddress(n.name()).endAddress()
        .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus();
    if (n.role().equals("gateway")) {
      // as an AKS pool made for the gateways: labelled and tainted kubeegressgateway.azure.com/mode=true
      b.editMetadata().addToLabels("kubeegressgateway.azure.com/mode", "true").endMetadata()
          .withNewSpec().addNewTaint().withKey("kubeegressgateway.azure.com/mode").withValue("true")
          .withEffect("NoSchedule").endTaint().endSpec();
    } else {
      b.editMetadata().addToLabels("kubernetes.azure.com/mode", "user").endMetadata().withNewSpec().withPodCIDR(n.podCidr())
          .withPodCIDRs(n.podCidr()).endSpec();
    }
    kube.client().nodes().resource(b.build()).create();
  }

  /**
   * Deletes the demo's pods (their CNI DEL while the workers run), the gateway configurations (the
   * controllers clean up Azure), uninstalls the release (preStop hooks, then the containers stop), then
   * removes everything else, and records what was left (report keys {@code azure}, {@code logs},
   * {@code leftover}). Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    // each step runs even when one before it failed (an API server that stopped answering under load must not
    // leave the containers, namespaces and journals of this run behind); what failed is in teardownErrors
    var errors = report.putArray("teardownErrors");
    if (pods != null) {
      step(errors, "delete the pods", pods::deleteAll);
    }
    if (azure != null && kube != null) {
      step(errors, "release the Azure resources", () -> azure.release(kube.client(), report, out));
    }
    if (release != null) {
      step(errors, "uninstall the release", () -> {
        boolean gone = release.uninstall(Duration.ofSeconds(150));
        report.put("uninstalled", gone);
        if (settings.e2e() && beforeInstall != null) {
          checkUninstalled(gone);
        }
      });
    }
    if (kubelets != null) {
      step(errors, "stop the kubelets", kubelets::close);
    }
    runtimes.values().forEach(r -> step(errors, "stop a node runtime", r::close));
    if (pods != null) {
      step(errors, "stop the pod runtime", pods::close);
    }
    List<String> containers = new ArrayList<>();
    step(errors, "remove the containers", () -> {
      containers.addAll(podman.remaining());
      podman.removeAll();
    });
    if (upgradeTag != null) {
      step(errors, "untag the upgrade image", () -> podman.untag(image.image(), image.repository() + ":" + upgradeTag));
    }
    List<String> stuckJournals = new ArrayList<>();
    step(errors, "check the node journals", () -> stuckJournals.addAll(checkNodeJournals()));
    List<String> mounts = new ArrayList<>();
    hosts.values().forEach(h -> step(errors, "remove a node's directories", () -> mounts.addAll(h.remove())));
    step(errors, "keep the logs", this::keepLogs);
    step(errors, "remove the lab", lab::close);
    // wg drops the UAPI sockets of wireguard-go processes that are gone
    step(errors, "wg show", () -> Sh.quiet(null, "wg", "show", "interfaces"));
    if (kube != null) {
      step(errors, "stop the API server", kube::close);
    }
    if (journal != null) {
      step(errors, "stop the journal", journal::close);
    }
    step(errors, "record leftovers", () -> host.recordLeftovers(lab, report));
    ObjectNode leftover = report.get("leftover") instanceof ObjectNode o ? o : report.putObject("leftover");
    // a node journal's PostgreSQL that outlived its member
    var journals = leftover.putArray("journals");
    stuckJournals.forEach(journals::add);
    // containers that were still there when the release was gone (removed now), and mounts of the nodes' directories
    var left = leftover.putArray("containers");
    containers.forEach(left::add);
    var m = leftover.putArray("mounts");
    mounts.forEach(m::add);
    if (azure != null) {
      step(errors, "stop the ARM simulator", azure::close);
    }
    step(errors, "restore the inotify limit", host::restoreInotifyLimit);
    if (claimed) {
      // the journal's directory, and anything the steps above could not remove, for the next start to find
      step(errors, "remove what is left", () -> {
        List<String> after = leftovers.clean();
        if (!after.isEmpty()) {
          report.putArray("removedAfterTeardown").addAll(after.stream().map(com.fasterxml.jackson.databind.node.TextNode::valueOf).toList());
        }
      });
      leftovers.release();
    }
  }

  /** One teardown step: a failure is printed and recorded in {@code errors}, and the teardown goes on. */
  private void step(com.fasterxml.jackson.databind.node.ArrayNode errors, String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      out.println("teardown: could not " + what + ": " + e.getMessage() + " (going on)");
      errors.add(what + ": " + e.getMessage());
    }
  }

  /**
   * After {@code helm uninstall} (the configurations deleted first, as docs/install.md says): nothing of the
   * product is left on any node (CNI files, namespaces, links, nft tables), in podman or in Azure, and a
   * plain pod on every worker node still gets its network. Report key {@code uninstall}.
   */
  private void checkUninstalled(boolean gone) {
    ObjectNode u = report.putObject("uninstall");
    ObjectNode left = u.putObject("leftover");
    boolean nodesClean = NodeInventory.leftover(beforeInstall, hosts, left);
    var containers = left.putArray("containers");
    List<String> running = podman.running(Podman.LABEL);
    running.forEach(containers::add);
    var az = left.putArray("azure");
    report.path("azure").path("leftover").forEach(az::add);
    // the key namespace and its Secrets: the controllers deleted each key Secret with its configuration, helm the namespace
    var keys = left.putArray("keys");
    List<String> keysLeft = release.keysLeft();
    keysLeft.forEach(keys::add);
    kube.client().namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
        .withName("plain-ns").endMetadata().build()).createOr(e -> e.update());
    var plain = u.putArray("plainPods");
    boolean plainOk = true;
    for (SimNode n : nodes.stream().filter(n -> n.role().equals("worker")).toList()) {
      String name = "after-uninstall-" + n.name();
      kube.client().pods().inNamespace("plain-ns").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata()
          .withNamespace("plain-ns").withName(name).endMetadata().withNewSpec().withNodeName(n.name()).addNewContainer()
          .withName("app").withImage(NodeRuntime.NO_IMAGE).endContainer().endSpec().build()).create();
      PodRuntime.PodEvent e = Sh.poll(() -> events.get("plain-ns/" + name), x -> x != null, Duration.ofSeconds(60), 250);
      String seen = e == null || !e.ok() ? "" : Demo.egressOf(e.netns(), Duration.ofSeconds(10)).orElse("");
      boolean ok = AzureVnet.DEFAULT_OUTBOUND_IP.equals(seen);
      plainOk &= ok;
      plain.addObject().put("pod", "plain-ns/" + name).put("node", n.name()).put("egressIp", seen).put("ok", ok)
          .put("detail", e == null ? "never reached CNI ADD" : e.ok() ? "" : e.detail());
    }
    pods.deleteAll();
    boolean ok = gone && nodesClean && running.isEmpty() && az.isEmpty() && keysLeft.isEmpty() && plainOk;
    u.put("ok", ok);
    out.println("uninstall: " + (ok ? "nothing of the product left on the nodes, in podman or in Azure; plain pods still get networking"
        : "FAILED: " + left + ", plain pods " + plain));
    if (ok) {
      out.println("uninstall: no key Secret and no key namespace left");
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
