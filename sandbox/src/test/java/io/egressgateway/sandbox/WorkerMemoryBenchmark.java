package io.egressgateway.sandbox;

import com.typesafe.config.Config;
import io.egressgateway.cni.wire.CniWire;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark (not a test): the resident memory of a worker member as the chart runs it.
 *
 * <p>Starts fabric8's mock Kubernetes API (CRUD, the chart's CRDs) holding {@code pods} annotated pods on node
 * {@code bench-w}, a controller member in this JVM that publishes {@code configs} configurations into the
 * replicated view, and then {@code egress run} with role worker as a real process (the distribution in
 * app/target/dist/lib, node-local journal in a temporary directory, its own CNI socket) with the given JVM
 * options plus Native Memory Tracking. Once the worker is ready and holds the whole view, every pod gets a
 * CNI ADD through the worker's socket; then it settles and the benchmark prints RSS, threads, heap and
 * metaspace, and NMT's summary, then the same after a full GC.
 *
 * <p>What a real node has beyond this: the pods' WireGuard devices (kernel WireGuard, or wireguard-go processes
 * outside the member's JVM) and the tunnel entities' events. Here the ADDs name no namespace that exists, so
 * each is answered with a CNI error after the pod's lookup; the pods' tunnel entities are started by the
 * worker taking its node's tunnels back at start (it asks every annotated pod's entity).
 *
 * <pre>
 * mvn -o -q -pl app,sandbox -am package -DskipTests
 * mvn -o -q -pl sandbox dependency:build-classpath -Dmdep.outputFile=target/test.cp -Dmdep.includeScope=test
 * java -cp "sandbox/target/test-classes:sandbox/target/classes:$(cat sandbox/target/test.cp)" \
 *   io.egressgateway.sandbox.WorkerMemoryBenchmark [--java-options "..."] [--pods 110] [--configs 500] [--settle 60] \\
 *   [--nmt false] [--histogram 40] [--env "MALLOC_ARENA_MAX=2"]
 * </pre>
 *
 * The default JVM options are the chart's {@code worker.javaOptions}; {@code --env} adds variables to the
 * worker's environment (glibc's malloc settings, say) to measure what they change. The options before issue 17
 * were {@code --java-options "-XX:MaxRAM=768m -XX:MaxRAMPercentage=60"}: {@code -XX:MaxRAM} stands for the container's
 * 768Mi limit, which the JVM otherwise reads from its cgroup.
 */
public final class WorkerMemoryBenchmark {
  private static final String NODE = "bench-w";

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    String javaOptions = opts.getOrDefault("java-options", "-XX:+UseSerialGC -Xms16m -Xmx128m"
        + " -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=48m -Xss512k"
        + " -XX:MaxMetaspaceSize=192m");
    int pods = Integer.parseInt(opts.getOrDefault("pods", "110"));
    int configs = Integer.parseInt(opts.getOrDefault("configs", "500"));
    int settle = Integer.parseInt(opts.getOrDefault("settle", "60"));
    Path root = Path.of(opts.getOrDefault("root", "."));
    Path dist = root.resolve("app/target/dist/lib");
    if (!Files.isDirectory(dist)) {
      throw new IllegalStateException(dist + " missing: mvn -o -q -pl app -am package -DskipTests");
    }
    Path tmp = Files.createTempDirectory("egress-memory-");
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    Process worker = null;
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      api.installCrds(root.resolve("charts/kube-egress-gateway/crds"));
      for (int i = 0; i < pods; i++) {
        api.client().pods().inNamespace("default").resource(pod(i, configs)).create();
      }
      Path kubeconfig = api.writeKubeconfig(tmp.resolve("kubeconfig"));

      int ctlRemote = freePort();
      Config ctlConfig = EgressMember.localConfig("bench-ctl", List.of("controller"), freePort(), List.of())
          .withValue("akka.remote.artery.canonical.port", com.typesafe.config.ConfigValueFactory.fromAnyRef(ctlRemote));
      EgressMember controller = EgressMember.start(ctlConfig);
      try {
        controller.join();
        publish(controller, configs);

        int mgmt = freePort();
        Path socket = tmp.resolve("cni/cni.sock");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Djdk.httpclient.allowRestrictedHeaders=content-length");
        command.addAll(List.of("-cp", dist + "/*", "io.egressgateway.app.Main", "run"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(tmp.resolve("worker.log").toFile());
        Map<String, String> env = pb.environment();
        // NMT costs the member about 10 MiB of its own: --nmt false measures without it
        boolean nmt = !"false".equals(opts.get("nmt"));
        env.put("JAVA_TOOL_OPTIONS", javaOptions + (nmt ? " -XX:NativeMemoryTracking=summary" : ""));
        env.put("EGRESS_ROLES", "worker");
        env.put("EGRESS_NODE_NAME", NODE);
        env.put("EGRESS_NAMESPACE", "default");
        env.put("EGRESS_REMOTE_HOST", "127.0.0.1");
        env.put("EGRESS_REMOTE_PORT", Integer.toString(freePort()));
        env.put("EGRESS_MANAGEMENT_HOST", "127.0.0.1");
        env.put("EGRESS_MANAGEMENT_PORT", Integer.toString(mgmt));
        env.put("EGRESS_DISCOVERY", "static");
        env.put("EGRESS_SEED_NODES", "akka://egress@127.0.0.1:" + ctlRemote);
        env.put("EGRESS_REMOTE_TLS", "false");
        env.put("EGRESS_JOURNAL_MODE", "node-local");
        env.put("EGRESS_JOURNAL_DATA_DIR", tmp.resolve("journal").toString());
        env.put("EGRESS_CNI_SOCKET", socket.toString());
        env.put("KUBECONFIG", kubeconfig.toString());
        // --env "NAME=value,NAME=value": more variables for the worker (glibc's MALLOC_ARENA_MAX, say)
        for (String pair : opts.getOrDefault("env", "").split(",")) {
          if (!pair.isBlank()) {
            String[] kv = pair.trim().split("=", 2);
            if (kv.length != 2) {
              throw new IllegalArgumentException("--env wants NAME=value pairs separated by commas: " + pair);
            }
            env.put(kv[0], kv[1]);
          }
        }
        long t0 = System.nanoTime();
        worker = pb.start();
        String base = "http://127.0.0.1:" + mgmt + "/";
        while (status(http, base + "ready") != 200) {
          if (!worker.isAlive() || System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(180)) {
            throw new IllegalStateException("worker not ready:\n" + Files.readString(tmp.resolve("worker.log")));
          }
          Thread.sleep(250);
        }
        System.out.printf("worker ready after %d ms (JAVA_TOOL_OPTIONS=%s, --env %s)%n",
            (System.nanoTime() - t0) / 1_000_000, env.get("JAVA_TOOL_OPTIONS"), opts.getOrDefault("env", ""));
        int ok = 0;
        int answered = 0;
        for (int i = 0; i < pods; i++) {
          String reply = cniAdd(socket, i);
          answered += reply.isEmpty() ? 0 : 1;
          ok += reply.contains("\nresult ") ? 1 : 0;
          if (i == 0) {
            System.out.println("first CNI reply: " + reply);
          }
        }
        System.out.printf("CNI ADD: %d of %d answered (%d results, the rest CNI errors)%n", answered, pods, ok);
        Thread.sleep(TimeUnit.SECONDS.toMillis(settle));
        long pid = worker.pid();
        report("after settling " + settle + " s", pid, tmp.resolve("journal"));
        jcmd(pid, "GC.run");
        Thread.sleep(5_000);
        report("after a full GC", pid, tmp.resolve("journal"));
        if (opts.containsKey("histogram")) {
          jcmd(pid, "GC.class_histogram").lines().limit(Integer.parseInt(opts.get("histogram")) + 3)
              .forEach(l -> System.out.println("  histogram " + l));
        }
        String metrics = body(http, base + "metrics");
        metrics.lines().filter(l -> l.startsWith("egress_config_view") || l.startsWith("jvm_threads_current")
            || l.startsWith("egress_pod") || l.startsWith("jvm_gc_collection_seconds")).limit(24)
            .forEach(l -> System.out.println("  /metrics " + l));
      } finally {
        if (worker != null) {
          worker.destroy();
          if (!worker.waitFor(60, TimeUnit.SECONDS)) {
            worker.destroyForcibly();
          }
        }
        controller.close();
      }
    } finally {
      deleteTree(tmp);
    }
  }

  private static void publish(EgressMember controller, int configs) throws Exception {
    SecureRandom random = new SecureRandom();
    for (int i = 0; i < configs; i++) {
      byte[] key = new byte[32];
      random.nextBytes(key);
      ConfigView view = new ConfigView("default/cfg-" + i, "uid-cfg-" + i, 1, "10.224.1." + (i % 250 + 1), 6000,
          Base64.getEncoder().encodeToString(key), "sgw-cfg-" + i, List.of("198.18." + (i % 250) + ".0/24"),
          ConfigView.DEFAULT_ROUTE_GATEWAY, "203.0.113." + (i % 128 * 2) + "/31",
          Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
              "gw2", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), true);
      // one at a time, retried: the keeper's asks time out after 3 s on a busy machine
      for (int attempt = 1; ; attempt++) {
        try {
          ConfigViews.get(controller.system()).publish(view).toCompletableFuture().get(10, TimeUnit.SECONDS);
          break;
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
          if (attempt == 5) {
            throw e;
          }
        }
      }
    }
    System.out.printf("controller published %d configurations%n", configs);
  }

  private static Pod pod(int i, int configs) {
    return new PodBuilder().withNewMetadata().withName("pod-" + i).withNamespace("default").withUid("uid-pod-" + i)
        .addToAnnotations("kubernetes.azure.com/static-gateway-configuration", "cfg-" + (i % configs)).endMetadata()
        .withNewSpec().withNodeName(NODE).addNewContainer().withName("c").withImage("busybox").endContainer().endSpec()
        .withNewStatus().withPhase("Running").withPodIP("10.244.1." + (i + 2)).endStatus().build();
  }

  /** One ADD as the plugin sends it (cni-plugin's {@link CniWire} frame), for a netns that does not exist. */
  private static String cniAdd(Path socket, int i) {
    String config = """
        {"cniVersion":"1.0.0","name":"bench","type":"kube-egress-cni","prevResult":{"cniVersion":"1.0.0",
         "ips":[{"address":"10.244.1.%d/32","gateway":"169.254.1.1"}]}}
        """.formatted(i + 2);
    byte[] request = new CniWire.Request("ADD", "c" + i, "/var/run/netns/egs-memory-absent-" + i, "eth0",
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-" + i + ";K8S_POD_UID=uid-pod-" + i, "/opt/cni/bin",
        config).encode();
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap(request));
      ch.shutdownOutput();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(8192);
      while (ch.read(buf) >= 0) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      return out.toString(StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static void report(String when, long pid, Path journal) throws Exception {
    Map<String, String> status = new LinkedHashMap<>();
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      String[] kv = line.split(":\\s+", 2);
      if (kv.length == 2 && List.of("VmRSS", "RssAnon", "RssFile", "Threads").contains(kv[0])) {
        status.put(kv[0], kv[1].trim());
      }
    }
    System.out.printf("== worker %s: %s%n", when, status);
    Map<String, Integer> names = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : tasks.toList()) {
        try {
          names.merge(Files.readString(t.resolve("comm")).trim().replaceAll("[-#]?\\d+$", "").replaceAll("-\\d+-", "-N-"), 1, Integer::sum);
        } catch (IOException gone) {
          // the thread ended meanwhile
        }
      }
    }
    System.out.println("  threads by name " + names);
    long pss = 0;
    int n = 0;
    // pg_ctl daemonizes the postmaster: find it by its data directory, then its children
    List<ProcessHandle> postmasters = ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().map(c -> c.contains("postgres") && c.contains(journal.toString())).orElse(false))
        .toList();
    for (ProcessHandle postmaster : postmasters) {
      for (ProcessHandle h : java.util.stream.Stream.concat(java.util.stream.Stream.of(postmaster), postmaster.descendants()).toList()) {
        pss += kb(Path.of("/proc/" + h.pid() + "/smaps_rollup"), "Pss:");
        n++;
      }
    }
    System.out.printf("  node journal (PostgreSQL, %d processes): PSS %d MiB%n", n, pss / 1024);
    String heap = jcmd(pid, "GC.heap_info");
    heap.lines().filter(l -> !l.isBlank() && !l.matches("^\\d+:$")).forEach(l -> System.out.println("  heap " + l.trim()));
    String nmt = jcmd(pid, "VM.native_memory", "summary", "scale=MB");
    Matcher total = Pattern.compile("Total: reserved=(\\d+)MB, committed=(\\d+)MB").matcher(nmt);
    if (total.find()) {
      System.out.printf("  NMT total committed %s MB (reserved %s MB)%n", total.group(2), total.group(1));
    }
    Matcher m = Pattern.compile("-\\s+([A-Za-z ]+?) \\(reserved=(\\d+)MB, committed=(\\d+)MB\\)").matcher(nmt);
    StringBuilder line = new StringBuilder("  NMT committed MB:");
    while (m.find()) {
      if (!m.group(3).equals("0")) {
        line.append(' ').append(m.group(1).trim()).append('=').append(m.group(3));
      }
    }
    System.out.println(line);
    Matcher threads = Pattern.compile("Thread \\(reserved=\\d+MB, committed=\\d+MB\\)\\s+\\(thread #(\\d+)\\)").matcher(nmt);
    if (threads.find()) {
      System.out.println("  NMT threads " + threads.group(1));
    }
    Matcher meta = Pattern.compile("Metadata:\\s+\\(reserved=\\d+MB, committed=(\\d+)MB\\)\\s+\\(used=(\\d+)MB\\)").matcher(nmt);
    if (meta.find()) {
      System.out.printf("  metaspace committed %s MB, used %s MB%n", meta.group(1), meta.group(2));
    }
    if (System.getenv("BENCH_NMT_FULL") != null) {
      System.out.println(nmt);
    }
  }

  private static long kb(Path file, String key) {
    try {
      for (String line : Files.readAllLines(file)) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException gone) {
      // the process ended meanwhile
    }
    return 0;
  }

  private static String jcmd(long pid, String... command) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
        Long.toString(pid)));
    cmd.addAll(List.of(command));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }

  private static int status(HttpClient http, String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String body(HttpClient http, String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
