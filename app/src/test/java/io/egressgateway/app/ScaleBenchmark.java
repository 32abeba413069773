package io.egressgateway.app;

import akka.actor.Address;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Leave;
import akka.pattern.StatusReply;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.security.Security;
import io.egressgateway.core.security.TestCertificates;
import io.egressgateway.core.settings.CoreSettings;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.GatewayAgent;
import io.egressgateway.gateway.entity.ConfigSource;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import io.egressgateway.pod.entity.PodAgent;
import io.egressgateway.pod.entity.PodTunnel;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.infra.PodSettings;
import io.egressgateway.pod.infra.ShardedGatewayPeers;
import io.egressgateway.pod.model.PodInfo;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Benchmark (not a test): scale by simulation. One controller member, two gateway members and N worker members,
 * all in this JVM, each a full member (its own actor system, remoting over loopback, the replicated view, node-pinned
 * sharding, journal on PostgreSQL), with the real {@code GatewayNode} and {@code PodTunnel} entities over in-memory
 * datapaths. It measures:
 *
 * <ol>
 *   <li>how long a change of the replicated configuration view takes to reach every member (p50, p99, max), idle and
 *       with all pods in;</li>
 *   <li>peer programming: P pods added through their {@code PodTunnel} entities (the CNI ADD without the plugin and
 *       socket), the rate at which the gateways' datapaths gain peers, and each ADD's latency;</li>
 *   <li>journal writes per second, per database and per entity type, during the burst and at rest;</li>
 *   <li>gossip convergence: a worker member joins (until every member sees it Up) and leaves (until every member has
 *       removed it).</li>
 * </ol>
 *
 * <p>Journals: the controller and each gateway have a bundled PostgreSQL of their own, as in the chart (the controller
 * an external one, the gateways a node-local one); workers share one bundled PostgreSQL per {@code --per-journal}
 * members (in the chart each worker has its own; here that would be a hundred databases on two cores).
 *
 * <pre>
 * mvn -o -q -pl app -am test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test
 * java -Xmx6g -cp "app/target/test-classes:app/target/classes:$(cat /tmp/cp.txt)" io.egressgateway.app.ScaleBenchmark \
 *   --workers 20 --pods 5000
 * </pre>
 */
public final class ScaleBenchmark {
  private static final String GW1 = "gw-1";
  private static final String GW2 = "gw-2";
  private static final String PROBE = "bench/probe";

  private final Options o;
  private final List<Journal> journals = new ArrayList<>();
  private final Map<Journal, String> journalNames = new LinkedHashMap<>();
  private final List<EgressMember> members = new ArrayList<>();
  private final List<AutoCloseable> agents = new ArrayList<>();
  private final Map<String, String> gatewayPrivateKeys = new LinkedHashMap<>();
  private final InMemoryGatewayKeys gatewayKeys = new InMemoryGatewayKeys();
  private final FakeGatewayDatapath kernel1 = new FakeGatewayDatapath();
  private final FakeGatewayDatapath kernel2 = new FakeGatewayDatapath();
  private final Path sockets;
  private EgressMember controller;
  private final List<Worker> workers = new ArrayList<>();
  private Journal controllerJournal;
  private final List<Journal> workerJournals = new ArrayList<>();

  private record Worker(String node, int index, EgressMember member, InMemoryPodDirectory pods, InMemoryPodDatapath kernel) {}

  record Options(int workers, int pods, int configs, int viewChanges, int perJournal, int inFlight, boolean secure,
      int joins, int restSeconds) {
    static Options parse(String[] args) {
      Map<String, String> m = new HashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--")) {
          throw new IllegalArgumentException("unexpected argument " + args[i]);
        }
        String k = args[i].substring(2);
        if (k.equals("secure") || k.equals("insecure")) {
          m.put("secure", Boolean.toString(k.equals("secure")));
        } else {
          m.put(k, args[++i]);
        }
      }
      return new Options(
          Integer.parseInt(m.getOrDefault("workers", "20")),
          Integer.parseInt(m.getOrDefault("pods", "5000")),
          Integer.parseInt(m.getOrDefault("configs", "5")),
          Integer.parseInt(m.getOrDefault("view-changes", "20")),
          Integer.parseInt(m.getOrDefault("per-journal", "15")),
          Integer.parseInt(m.getOrDefault("in-flight", "50")),
          Boolean.parseBoolean(m.getOrDefault("secure", "true")),
          Integer.parseInt(m.getOrDefault("joins", "3")),
          Integer.parseInt(m.getOrDefault("rest-seconds", "30")));
    }
  }

  private ScaleBenchmark(Options o) throws Exception {
    this.o = o;
    this.sockets = Files.createTempDirectory("egs-scale-");
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    ScaleBenchmark b = new ScaleBenchmark(o);
    int exit = 0;
    try {
      b.run();
    } catch (Throwable t) {
      t.printStackTrace();
      exit = 1;
    } finally {
      b.close();
    }
    System.exit(exit);
  }

  private void run() throws Exception {
    System.out.printf("scale benchmark: 1 controller, 2 gateways, %d workers, %d pods over %d configs, %d in flight, "
            + "security %s, %d cores, max heap %d MiB%n", o.workers(), o.pods(), o.configs(), o.inFlight(),
        o.secure() ? "enforced (signed commands and view, TLS remoting)" : "off", Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20);
    long t0 = System.nanoTime();
    startCluster();
    long formed = System.nanoTime();
    System.out.printf("cluster of %d members formed in %.1f s; heap used after GC %d MiB, %d threads%n", members.size(),
        (formed - t0) / 1e9, usedHeapAfterGc(), ManagementFactory.getThreadMXBean().getThreadCount());

    publishConfigs();
    System.out.printf("%d configs (+ the probe config) on every member, programmed on both gateways%n", o.configs());

    viewChanges("idle");
    if (o.pods() > 0) {
      addPods();
      rest();
      viewChanges("with " + o.pods() + " pods");
    }
    gossip();
    System.out.printf("heap used after GC at the end %d MiB, %d threads%n", usedHeapAfterGc(),
        ManagementFactory.getThreadMXBean().getThreadCount());
  }

  // --- the cluster ---

  private Journal journal(String name) {
    if (journals.isEmpty()) {
      // stopped (SIGTERM, a timeout) before close(): the databases' processes do not outlive this one
      Runtime.getRuntime().addShutdownHook(new Thread(() -> journals.forEach(Journal::close), "scale-journals"));
    }
    Journal j = Journal.start(CoreSettings.fromConfig(ConfigFactory.load()).journal());
    journals.add(j);
    journalNames.put(j, name);
    return j;
  }

  private Config overrides(String identity, int poolSize) {
    Config c = ConfigFactory.parseString(
        // many members share two cores here: a late heartbeat is load, not a lost node, and reachability that
        // flaps under that load must not make the split-brain resolver down everyone (it did at 100 workers)
        "akka.cluster.failure-detector.acceptable-heartbeat-pause = 30s\n"
            + "akka.cluster.split-brain-resolver.down-all-when-unstable = off\n"
            + "akka.persistence.r2dbc.connection-factory.max-size = " + poolSize + "\n");
    return o.secure() ? c.withFallback(TestCertificates.memberConfig(identity)) : c;
  }

  private EgressMember member(String node, String role, String identity, Journal journal, int poolSize, EgressMember seed) {
    List<String> seeds = seed == null ? List.of() : List.of(Cluster.get(seed.system()).selfMember().address().toString());
    Config config = overrides(identity, poolSize)
        .withFallback(EgressMember.localConfig(node, List.of(role), TestMembers.freePort(), seeds));
    EgressMember m = EgressMember.startOn(config, journal);
    members.add(m);
    return m;
  }

  private void startCluster() throws Exception {
    controllerJournal = journal("controller");
    controller = member("ctl", Roles.CONTROLLER, "controller", controllerJournal, 8, null);
    controller.join();
    TestMembers.awaitUp(controller, 1);
    for (int c = 0; c < o.configs() + 1; c++) {
      String priv = WgKeys.generate().privateKey();
      gatewayPrivateKeys.put(configKey(c), priv);
      gatewayKeys.put("sgw-" + c, priv);
    }
    for (String gw : List.of(GW1, GW2)) {
      EgressMember m = member(gw, Roles.GATEWAY, "gateway", journal(gw), 8, controller);
      m.join();
      GatewaySettings s = GatewaySettings.from(
          ConfigFactory.parseString("egress.gateway.probe.enabled = off").withFallback(m.system().settings().config()));
      agents.add(GatewayAgent.start(m.system(), gw, s, gatewayKeys, ConfigSource.replicated(m.system()),
          gw.equals(GW1) ? kernel1 : kernel2, hook -> { })::close);
    }
    for (int w = 0; w < o.workers(); w++) {
      if (w % o.perJournal() == 0) {
        workerJournals.add(journal("workers-" + workerJournals.size()));
      }
      Worker worker = startWorker(w, workerJournals.get(workerJournals.size() - 1));
      worker.member().join();
      workers.add(worker);
    }
    TestMembers.await(Duration.ofMinutes(5), () -> everyoneSees(members.size()), "all members Up everywhere");
  }

  private Worker startWorker(int w, Journal journal) {
    String node = "w-" + w;
    EgressMember m = member(node, Roles.WORKER, "worker", journal, 2, controller);
    if (o.secure()) {
      // what the gateways' node informer gives them in a cluster
      for (EgressMember gw : members.subList(1, 3)) {
        Security.get(gw.system()).podCidrs().put(node, List.of(podCidr(w)));
      }
    }
    InMemoryPodDirectory pods = new InMemoryPodDirectory();
    InMemoryPodDatapath kernel = new InMemoryPodDatapath();
    PodSettings base = PodSettings.from(m.system().settings().config());
    PodSettings s = new PodSettings(sockets.resolve(node + ".sock"), "", base.gatewayWait(), base.gatewayGrace(),
        base.answerTimeout(), base.serverThreads(), base.wireguardBackend(), base.commandTimeout(), base.exceptionCidrs(),
        base.peerSyncInterval());
    PodAgent agent = PodAgent.start(m.system(), s, pods, kernel, new ShardedGatewayPeers(m.system(), s.gatewayWait()));
    agent.takeOverTunnels();
    return new Worker(node, w, m, pods, kernel);
  }

  private boolean everyoneSees(int count) {
    for (EgressMember m : members) {
      if (TestMembers.upCount(m) != count) {
        return false;
      }
    }
    return true;
  }

  private static String configKey(int c) {
    return "bench/sgc-" + c;
  }

  private static String podCidr(int w) {
    return "10." + (100 + w / 256) + "." + (w % 256) + ".0/24";
  }

  private static String podIp(int w, int i) {
    return "10." + (100 + w / 256) + "." + (w % 256) + "." + (i + 2);
  }

  private ConfigView view(int c, String key, long generation, List<String> exclude) {
    return new ConfigView(key, "uid-" + c, generation, "10.224.0.100", 6000 + c,
        WgKeys.publicKeyOf(gatewayPrivateKeys.get(configKey(c))), "sgw-" + c, exclude, ConfigView.DEFAULT_ROUTE_GATEWAY,
        "", Map.of(GW1, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.1" + c),
            GW2, new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.2" + c)), true);
  }

  private void publishConfigs() throws Exception {
    ConfigViews views = ConfigViews.get(controller.system());
    for (int c = 0; c < o.configs(); c++) {
      views.publish(view(c, configKey(c), 1, List.of())).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    views.publish(view(o.configs(), PROBE, 1, List.of())).toCompletableFuture().get(10, TimeUnit.SECONDS);
    TestMembers.await(Duration.ofMinutes(2), () -> members.stream()
        .allMatch(m -> ConfigViews.get(m.system()).current().size() == o.configs() + 1), "every config on every member");
    TestMembers.await(Duration.ofMinutes(2), () -> {
      for (int c = 0; c <= o.configs(); c++) {
        if (!kernel1.has("uid-" + c) || !kernel2.has("uid-" + c)) {
          return false;
        }
      }
      return true;
    }, "every config programmed on both gateways");
  }

  // --- 1. view changes ---

  private long probeGeneration = 1;

  /** Publishes the probe config's next generation {@code viewChanges} times; prints when each member had it. */
  private void viewChanges(String when) throws Exception {
    int n = members.size();
    Map<Long, long[]> arrivals = new ConcurrentHashMap<>();
    List<java.util.function.Consumer<Map<String, ConfigView>>> listeners = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int index = i;
      java.util.function.Consumer<Map<String, ConfigView>> l = views -> {
        ConfigView v = views.get(PROBE);
        if (v != null) {
          long[] a = arrivals.get(v.generation());
          if (a != null && a[index] == 0) {
            a[index] = System.nanoTime();
          }
        }
      };
      listeners.add(l);
      ConfigViews.get(members.get(i).system()).subscribe(l);
    }
    List<Long> perMember = new ArrayList<>();
    List<Long> toAll = new ArrayList<>();
    ConfigViews views = ConfigViews.get(controller.system());
    for (int k = 0; k < o.viewChanges(); k++) {
      long g = ++probeGeneration;
      long[] a = new long[n];
      arrivals.put(g, a);
      long sent = System.nanoTime();
      views.publish(view(o.configs(), PROBE, g, List.of("192.0.2." + (g % 250) + "/32")))
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      TestMembers.await(Duration.ofMinutes(2), () -> {
        for (long t : a) {
          if (t == 0) {
            return false;
          }
        }
        return true;
      }, "view generation " + g + " on every member");
      long last = 0;
      for (int i = 0; i < n; i++) {
        if (members.get(i) != controller) {
          perMember.add(a[i] - sent);
          last = Math.max(last, a[i] - sent);
        }
      }
      toAll.add(last);
      Thread.sleep(1000);
    }
    for (int i = 0; i < n; i++) {
      ConfigViews.get(members.get(i).system()).unsubscribe(listeners.get(i));
    }
    System.out.printf("view change (%s), %d changes, %d receiving members: per member arrival %s; every member %s%n",
        when, o.viewChanges(), n - 1, summary(perMember), summary(toAll));
  }

  // --- 2. pods and peer programming ---

  private void addPods() throws Exception {
    Map<String, long[]> before = journalRows();
    int perConfigBefore = totalPeers(kernel1);
    Semaphore window = new Semaphore(o.inFlight());
    List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    AtomicLong lastPeer1 = new AtomicLong();
    AtomicLong lastPeer2 = new AtomicLong();
    List<int[]> samples = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    Thread sampler = new Thread(() -> {
      while (!Thread.currentThread().isInterrupted()) {
        int p1 = totalPeers(kernel1);
        int p2 = totalPeers(kernel2);
        long now = System.nanoTime();
        samples.add(new int[] {(int) ((now - start) / 1_000_000), p1, p2});
        if (p1 - perConfigBefore >= o.pods()) {
          lastPeer1.compareAndSet(0, now);
        }
        if (p2 - perConfigBefore >= o.pods()) {
          lastPeer2.compareAndSet(0, now);
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "scale-sampler");
    sampler.start();
    String firstError = null;
    Map<Integer, Integer> perWorker = new HashMap<>();
    for (int j = 0; j < o.pods(); j++) {
      Worker w = workers.get(j % workers.size());
      int i = perWorker.merge(w.index(), 1, Integer::sum) - 1;
      int c = i % o.configs();
      String name = "p-" + w.index() + "-" + i;
      String uid = "uid-" + name;
      String netns = "/var/run/netns/" + name;
      w.pods().put(new PodInfo("bench", name, uid, Map.of(PodInfo.GATEWAY_ANNOTATION, "sgc-" + c)));
      w.kernel().addNamespace(netns);
      PodTunnel.Pod pod = new PodTunnel.Pod("c0ffee" + j, netns, podIp(w.index(), i), "169.254.1.1", configKey(c), List.of());
      window.acquire();
      long sent = System.nanoTime();
      ClusterSharding.get(w.member().system())
          .entityRefFor(PodTunnel.ENTITY_KEY, NodePinned.entityId(w.node(), uid))
          .<StatusReply<PodTunnel.Added>>ask(r -> new PodTunnel.Add(pod, r), Duration.ofSeconds(60))
          .whenComplete((reply, err) -> {
            if (err == null && reply.isSuccess()) {
              latencies.add(System.nanoTime() - sent);
            } else {
              if (failed.incrementAndGet() <= 3) {
                System.out.println("ADD of " + name + " failed: " + (err != null ? err : reply.getError().getMessage()));
              }
            }
            done.incrementAndGet();
            window.release();
          });
    }
    window.acquire(o.inFlight());
    long acked = System.nanoTime();
    window.release(o.inFlight());
    TestMembers.await(Duration.ofMinutes(2), () -> lastPeer1.get() != 0 && lastPeer2.get() != 0 || failed.get() > 0,
        "every peer on both gateways");
    sampler.interrupt();
    sampler.join();
    Map<String, long[]> after = journalRows();
    double seconds = (acked - start) / 1e9;
    System.out.printf("pods: %d ADDs (%d failed) in %.1f s = %.0f pods/s; ADD latency %s%n", o.pods(), failed.get(), seconds,
        o.pods() / seconds, summary(latencies));
    for (int g = 1; g <= 2; g++) {
      long last = g == 1 ? lastPeer1.get() : lastPeer2.get();
      int col = g;
      int peak = 0;
      synchronized (samples) {
        for (int s = 0; s < samples.size(); s++) {
          for (int e = s + 1; e < samples.size(); e++) {
            if (samples.get(e)[0] - samples.get(s)[0] >= 1000) {
              peak = Math.max(peak, samples.get(e)[col] - samples.get(s)[col]);
              break;
            }
          }
        }
      }
      System.out.printf("gateway gw-%d: %d peers in %.1f s = %.0f peers/s (best 1-s window %d peers/s); datapath calls: "
              + "%d single, %d batches, %d bulk%n", g, o.pods(), (last - start) / 1e9, o.pods() / ((last - start) / 1e9), peak,
          (g == 1 ? kernel1 : kernel2).singlePeerOps.get(), (g == 1 ? kernel1 : kernel2).peerBatches.get(),
          (g == 1 ? kernel1 : kernel2).bulkLoads.get());
    }
    printJournal("during the ADDs", before, after, (lastPeerMax(lastPeer1, lastPeer2) - start) / 1e9);
  }

  private static long lastPeerMax(AtomicLong a, AtomicLong b) {
    return Math.max(a.get(), b.get());
  }

  private static int totalPeers(FakeGatewayDatapath kernel) {
    int n = 0;
    for (var e : kernel.observe().values()) {
      n += e.peers().size();
    }
    return n;
  }

  /** The cluster at rest with every pod in: what the journals take without any change. */
  private void rest() throws Exception {
    Map<String, long[]> before = journalRows();
    long t = System.nanoTime();
    Thread.sleep(o.restSeconds() * 1000L);
    printJournal("at rest", before, journalRows(), (System.nanoTime() - t) / 1e9);
  }

  // --- 3. journal ---

  /**
   * Per database: rows inserted into the event journal and snapshots written (inserted or updated) so far, from
   * PostgreSQL's table counters (a gateway deletes the events a snapshot covers, so counting rows would miss them).
   * Each database holds one kind of entity: the controller's, a gateway's {@code GatewayNode}, workers' {@code PodTunnel}s.
   */
  private Map<String, long[]> journalRows() throws SQLException {
    Map<String, long[]> rows = new TreeMap<>();
    for (Journal j : journals) {
      var s = j.settings();
      try (Connection c = DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password()); Statement st = c.createStatement()) {
        try {
          st.execute("SELECT pg_stat_force_next_flush()"); // PostgreSQL 15+: the counters below are current
        } catch (SQLException older) {
          // older servers report table counters within about half a second
        }
        long[] r = rows.computeIfAbsent(journalNames.get(j), k -> new long[2]);
        try (ResultSet q = st.executeQuery("SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
            + "WHERE relname IN ('event_journal', 'snapshot')")) {
          while (q.next()) {
            if (q.getString(1).equals("event_journal")) {
              r[0] += q.getLong(2);
            } else {
              r[1] += q.getLong(2) + q.getLong(3);
            }
          }
        }
      }
    }
    return rows;
  }

  private void printJournal(String when, Map<String, long[]> before, Map<String, long[]> after, double seconds) {
    long events = 0;
    long snapshots = 0;
    StringBuilder detail = new StringBuilder();
    for (var e : after.entrySet()) {
      long[] b = before.getOrDefault(e.getKey(), new long[2]);
      long ev = e.getValue()[0] - b[0];
      long sn = e.getValue()[1] - b[1];
      events += ev;
      snapshots += sn;
      if (ev + sn > 0) {
        detail.append(String.format("%n    %-12s %7d events %6d snapshots", e.getKey(), ev, sn));
      }
    }
    System.out.printf("journal %s: %d events + %d snapshot writes in %.1f s = %.0f writes/s%s%n", when, events, snapshots,
        seconds, (events + snapshots) / seconds, detail);
  }

  // --- 4. gossip ---

  private void gossip() throws Exception {
    List<Long> up = new ArrayList<>();
    List<Long> removed = new ArrayList<>();
    Journal j = workerJournals.get(workerJournals.size() - 1);
    for (int k = 0; k < o.joins(); k++) {
      List<EgressMember> others = List.copyOf(members);
      Worker w = startWorker(o.workers() + k, j);
      long t0 = System.nanoTime();
      w.member().join();
      Address a = Cluster.get(w.member().system()).selfMember().address();
      List<EgressMember> all = new ArrayList<>(others);
      all.add(w.member());
      TestMembers.await(Duration.ofMinutes(2), () -> all.stream().allMatch(m -> status(m, a) == MemberStatus.up()),
          "the new member Up everywhere");
      up.add(System.nanoTime() - t0);
      Thread.sleep(2000);
      long t1 = System.nanoTime();
      Cluster.get(w.member().system()).manager().tell(Leave.create(a));
      TestMembers.await(Duration.ofMinutes(2), () -> others.stream().allMatch(m -> status(m, a) == null),
          "the member removed everywhere");
      removed.add(System.nanoTime() - t1);
      members.remove(w.member());
      w.member().close();
      Thread.sleep(2000);
    }
    System.out.printf("gossip, %d members: join (Join to Up on every member) %s; leave (Leave to removed on every member) %s%n",
        members.size() + 1, summary(up), summary(removed));
  }

  private static MemberStatus status(EgressMember observer, Address a) {
    for (Member m : Cluster.get(observer.system()).state().getMembers()) {
      if (m.address().equals(a)) {
        return m.status();
      }
    }
    return null;
  }

  // --- helpers ---

  private static String summary(List<Long> nanos) {
    List<Long> s = new ArrayList<>(nanos);
    if (s.isEmpty()) {
      return "(none)";
    }
    Collections.sort(s);
    Supplier<String> n = () -> "n=" + s.size();
    return String.format("p50 %d ms, p90 %d ms, p99 %d ms, max %d ms (%s)", pct(s, 50), pct(s, 90), pct(s, 99),
        s.get(s.size() - 1) / 1_000_000, n.get());
  }

  private static long pct(List<Long> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1_000_000;
  }

  private static long usedHeapAfterGc() {
    System.gc();
    Runtime r = Runtime.getRuntime();
    return (r.totalMemory() - r.freeMemory()) >> 20;
  }

  private void close() {
    for (AutoCloseable a : agents) {
      try {
        a.close();
      } catch (Exception e) {
        System.out.println("closing an agent: " + e);
      }
    }
    // all at once: one by one, each member's coordinated shutdown waits on the others leaving
    members.forEach(m -> m.system().terminate());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (EgressMember m : members) {
      try {
        m.whenTerminated().toCompletableFuture().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        System.out.println("a member did not stop in time: " + e);
        break;
      }
    }
    journals.forEach(Journal::close);
    try (var files = Files.list(sockets)) {
      files.forEach(p -> p.toFile().delete());
      Files.deleteIfExists(sockets);
    } catch (Exception e) {
      System.out.println("removing " + sockets + ": " + e);
    }
  }
}
