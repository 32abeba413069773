package io.egressgateway.kube.audit;

import com.typesafe.config.Config;
import io.egressgateway.core.health.Watches;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.kube.crd.GatewayNodeProfile;
import io.egressgateway.kube.crd.PodEndpoint;
import io.egressgateway.kube.crd.StaticGatewayConfigurationStatus;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.SupervisedInformer;
import io.egressgateway.kube.model.EgressHistory;
import io.egressgateway.kube.model.EgressHistory.Egress;
import io.egressgateway.kube.model.EgressHistory.PodUse;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controllers' egress audit (docs/audit.md): keeps in {@link AuditStore} which pod used which configuration
 * when (from PodEndpoints, which workers write for every provisioned pod) and which egress each configuration had
 * on which gateway node when (from SGC status), and answers "who could have used address X at time T" and "which
 * egress did pod P use between T1 and T2".
 *
 * <p>Owns two {@link SupervisedInformer}s (restarted with backoff; {@code audit/...} in readiness and
 * {@code egress_informer_up}) and one writer thread. Informer events become writes queued in order; a write that
 * fails (database away) stays at the head and is retried with backoff ({@code egress_audit_write_failures_total},
 * {@code egress_audit_pending}); the queue is bounded ({@code queue-limit}), and what no longer fits is counted in
 * {@code egress_audit_dropped_total} and repaired by the next full sync. A full sync (every {@code resync}, and after
 * an informer was replaced) compares the tables with the caches: uses and egresses no longer present end then.
 * Rows that ended more than {@code retention} ago are deleted every {@code prune-every}.
 *
 * <p>Times: a pod's use begins at its PodEndpoint's creation (the API server's clock) and ends when a controller
 * sees it deleted; an egress begins and ends when a controller sees the status change. An end seen late makes an
 * interval longer, never shorter: the answers say who <em>could</em> have used an address.
 */
public final class EgressAudit implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EgressAudit.class);
  private static final Duration RETRY_MIN = Duration.ofSeconds(1);
  private static final Duration RETRY_MAX = Duration.ofSeconds(30);

  /** {@code egress.kube-bridge.audit}. */
  public record Settings(boolean enabled, Duration retention, Duration pruneEvery, Duration resync, int queueLimit) {
    public static Settings fromConfig(Config root) {
      Config c = root.getConfig("egress.kube-bridge.audit");
      Settings s = new Settings(c.getBoolean("enabled"), c.getDuration("retention"), c.getDuration("prune-every"),
          c.getDuration("resync"), c.getInt("queue-limit"));
      if (s.retention.isNegative() || s.retention.isZero() || s.pruneEvery.isNegative() || s.pruneEvery.isZero()
          || s.resync.isNegative() || s.resync.isZero() || s.queueLimit < 1) {
        throw new IllegalArgumentException("egress.kube-bridge.audit: retention, prune-every and resync must be positive,"
            + " queue-limit at least 1: " + s);
      }
      return s;
    }
  }

  /** One write of the queue. */
  private interface Write {
    void apply(AuditStore store) throws SQLException;
  }

  private final AuditStore store;
  private final AuditStore reader;
  private final Settings settings;
  private final Clock clock;
  private final KubernetesSerialization serialization;
  private final SupervisedInformer<PodEndpoint> endpoints;
  private final SupervisedInformer<GenericKubernetesResource> sgcs;
  private final Deque<Write> queue = new ArrayDeque<>(); // writer thread only
  private final ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "egress-audit");
    t.setDaemon(true);
    return t;
  });
  private final ScheduledExecutorService informerTimer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "egress-audit-informers");
    t.setDaemon(true);
    return t;
  });
  private final Metrics.Counter failures;
  private final Metrics.Counter dropped;
  private int failuresInRow; // writer thread only
  private boolean draining; // writer thread only
  private volatile boolean closed;

  public EgressAudit(KubernetesClient client, AuditStore store, Settings settings, Watches watches, Metrics metrics, Clock clock) {
    this.store = store;
    this.reader = store.reader();
    this.settings = settings;
    this.clock = clock;
    this.serialization = client.getKubernetesSerialization();
    this.failures = metrics.counter("egress_audit_write_failures_total", "Audit writes that failed and are retried");
    this.dropped = metrics.counter("egress_audit_dropped_total",
        "Audit writes dropped because the queue was full (the next full sync repairs the tables)");
    metrics.gauge("egress_audit_pending", "Audit writes waiting for the database").track(this::pendingNow);
    this.endpoints = supervised("audit/podendpoints", watches,
        () -> client.resources(PodEndpoint.class).inAnyNamespace().runnableInformer(0), this::onEndpoint, this::onEndpointGone);
    this.sgcs = supervised("audit/staticgatewayconfigurations", watches,
        () -> client.genericKubernetesResources(ControllerBridge.SGC_KIND).inAnyNamespace().runnableInformer(0),
        this::onSgc, this::onSgcGone);
  }

  private volatile int pending;

  private double pendingNow() {
    return pending;
  }

  private <T extends HasMetadata> SupervisedInformer<T> supervised(String resource, Watches watches,
      Supplier<SharedIndexInformer<T>> factory, java.util.function.Consumer<T> changed, java.util.function.Consumer<T> gone) {
    return new SupervisedInformer<>(resource, factory, List.of(SupervisedInformer.handler(changed, gone)), watches, informerTimer, RETRY_MIN, RETRY_MAX,
        () -> submit(this::fullSync));
  }

  /** Creates the tables (retried until the database answers), starts the informers, the resync and the pruning. */
  public EgressAudit start() {
    submit(AuditStore::ensureSchema);
    endpoints.start();
    sgcs.start();
    endpoints.firstSync().thenCombine(sgcs.firstSync(), (a, b) -> b).thenRun(() -> submit(this::fullSync));
    writer.scheduleWithFixedDelay(() -> submit(this::fullSync), settings.resync().toMillis(), settings.resync().toMillis(),
        TimeUnit.MILLISECONDS);
    writer.scheduleWithFixedDelay(() -> submit(s -> {
      int n = s.prune(clock.instant().minus(settings.retention()));
      if (n > 0) {
        log.info("egress audit: deleted {} rows that ended more than {} ago", n, settings.retention());
      }
    }), settings.pruneEvery().toMillis(), settings.pruneEvery().toMillis(), TimeUnit.MILLISECONDS);
    log.info("egress audit: recording in {} (retention {})", store.target(), settings.retention());
    return this;
  }

  /** Both informers have synced and the first full sync was queued. */
  public boolean hasSynced() {
    return endpoints.hasSynced() && sgcs.hasSynced();
  }

  /** How many writes wait for the database now. */
  public int pending() {
    return pending;
  }

  // ---- recording ----

  private void onEndpoint(PodEndpoint pe) {
    Optional<PodUse> use = useOf(pe, clock.instant());
    if (use.isPresent()) {
      Instant now = clock.instant();
      submit(s -> s.recordPod(use.get(), now));
    }
  }

  private void onEndpointGone(PodEndpoint pe) {
    Instant now = clock.instant();
    String uid = podUid(pe);
    submit(s -> s.endPod(uid, now));
  }

  private void onSgc(GenericKubernetesResource sgc) {
    Instant now = clock.instant();
    String key = sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName();
    Set<Egress> egresses = egressesOf(sgc);
    submit(s -> s.recordEgress(key, egresses, now));
  }

  private void onSgcGone(GenericKubernetesResource sgc) {
    Instant now = clock.instant();
    String key = sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName();
    submit(s -> s.recordEgress(key, Set.of(), now));
  }

  /** Compares the tables with both caches (complete sets): what is gone ends now, what is missing begins. */
  private void fullSync(AuditStore s) throws SQLException {
    if (!hasSynced()) {
      return;
    }
    Instant now = clock.instant();
    List<PodUse> uses = new ArrayList<>();
    for (PodEndpoint pe : endpoints.store().list()) {
      useOf(pe, now).ifPresent(uses::add);
    }
    Map<String, Set<Egress>> egress = new HashMap<>();
    for (GenericKubernetesResource sgc : sgcs.store().list()) {
      egress.put(sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName(), egressesOf(sgc));
    }
    s.syncPods(uses, now);
    s.recordEgress(egress, now, true);
  }

  static Optional<PodUse> useOf(PodEndpoint pe, Instant now) {
    var spec = pe.getSpec();
    if (spec == null || spec.getStaticGatewayConfiguration() == null || spec.getStaticGatewayConfiguration().isBlank()
        || spec.getPodIpAddress() == null || spec.getPodIpAddress().isBlank()) {
      return Optional.empty();
    }
    String ns = pe.getMetadata().getNamespace();
    String config = spec.getStaticGatewayConfiguration();
    String configKey = config.contains("/") ? config : ns + "/" + config;
    String ip = spec.getPodIpAddress();
    ip = ip.endsWith("/32") ? ip.substring(0, ip.length() - 3) : ip;
    Instant from = now;
    String created = pe.getMetadata().getCreationTimestamp();
    if (created != null) {
      try {
        from = Instant.parse(created);
      } catch (RuntimeException e) {
        log.debug("PodEndpoint {}/{}: creationTimestamp '{}' unreadable, using now", ns, pe.getMetadata().getName(), created);
      }
    }
    return Optional.of(new PodUse(podUid(pe), ns, pe.getMetadata().getName(), ip, configKey, from, null));
  }

  /** The pod's uid (the PodEndpoint's controlling owner), else the PodEndpoint's own. */
  static String podUid(PodEndpoint pe) {
    for (OwnerReference o : pe.getMetadata().getOwnerReferences()) {
      if ("Pod".equals(o.getKind()) && o.getUid() != null) {
        return o.getUid();
      }
    }
    String uid = pe.getMetadata().getUid();
    return uid != null ? uid : pe.getMetadata().getNamespace() + "/" + pe.getMetadata().getName();
  }

  private Set<Egress> egressesOf(GenericKubernetesResource sgc) {
    String key = sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName();
    Object raw = sgc.getAdditionalProperties().get("status");
    if (raw == null) {
      return Set.of();
    }
    StaticGatewayConfigurationStatus status;
    try {
      status = serialization.convertValue(raw, StaticGatewayConfigurationStatus.class);
    } catch (RuntimeException e) {
      log.warn("egress audit: status of {} cannot be read, its egress is not recorded: {}", key, e.getMessage());
      return Set.of();
    }
    List<EgressHistory.NodeProfile> nodes = new ArrayList<>();
    if (status.getGatewayProfiles() != null) {
      for (GatewayNodeProfile p : status.getGatewayProfiles()) {
        nodes.add(new EgressHistory.NodeProfile(p.getNodeName(), p.getSecondaryIP()));
      }
    }
    String uid = sgc.getMetadata().getUid() == null ? "" : sgc.getMetadata().getUid();
    return EgressHistory.egressesOf(key, uid, status.getEgressIpPrefix(), nodes);
  }

  // ---- the writer ----

  private void submit(Write w) {
    if (closed) {
      return;
    }
    writer.execute(() -> {
      if (queue.size() >= settings.queueLimit()) {
        queue.pollFirst(); // the oldest goes; a full sync is queued to repair what it would have written
        dropped.inc();
        if (queue.stream().noneMatch(q -> q == fullSyncMarker)) {
          queue.addLast(fullSyncMarker);
        }
      }
      queue.addLast(w);
      pending = queue.size();
      if (!draining) {
        drain();
      }
    });
  }

  private final Write fullSyncMarker = this::fullSync;

  private void drain() {
    draining = true;
    while (!queue.isEmpty() && !closed) {
      Write w = queue.peekFirst();
      try {
        w.apply(store);
        queue.pollFirst();
        pending = queue.size();
        if (failuresInRow > 0) {
          log.info("egress audit: database writes work again after {} failures", failuresInRow);
        }
        failuresInRow = 0;
      } catch (SQLException | RuntimeException e) {
        store.reset();
        failures.inc();
        long delay = Math.min(RETRY_MAX.toMillis(), RETRY_MIN.toMillis() << Math.min(failuresInRow, 10));
        failuresInRow++;
        if (failuresInRow == 1 || failuresInRow % 10 == 0) {
          log.warn("egress audit: write failed ({} in a row; {} waiting), retrying in {} ms: {}", failuresInRow,
              queue.size(), delay, e.getMessage());
        }
        writer.schedule(this::drain, delay, TimeUnit.MILLISECONDS);
        return; // draining stays true until the retry
      }
    }
    draining = false;
  }

  // ---- queries (any thread) ----

  /** Configurations whose egress could carry {@code address} at {@code at}, and the pods that used them then. */
  public record AddressAnswer(String address, Instant at, List<Egress> egresses, List<PodUse> pods) {}

  public AddressAnswer whoCouldUse(String address, Instant at) throws SQLException {
    synchronized (reader) {
      try {
        List<Egress> egresses = reader.egresses(at, at).stream().filter(e -> e.at(at) && e.couldUse(address)).toList();
        Set<String> configs = new java.util.TreeSet<>();
        egresses.forEach(e -> configs.add(e.configKey()));
        List<PodUse> pods = EgressHistory.podsBehind(egresses, reader.usesOfConfigs(configs, at, at), at);
        return new AddressAnswer(address, at, egresses, pods);
      } catch (SQLException e) {
        reader.reset();
        throw e;
      }
    }
  }

  /** One stretch in which a pod's traffic could have left through an egress. */
  public record Usage(PodUse use, Egress egress, Instant from, Instant to) {}

  /** The egresses pod {@code namespace/pod} could have used between {@code start} and {@code end}, in time order. */
  public List<Usage> egressOfPod(String namespace, String pod, Instant start, Instant end) throws SQLException {
    synchronized (reader) {
      try {
        List<PodUse> uses = reader.usesOfPod(namespace, pod, start, end);
        List<Egress> egresses = reader.egresses(start, end);
        List<Usage> out = new ArrayList<>();
        for (PodUse u : uses) {
          for (Egress e : egresses) {
            if (!e.configKey().equals(u.configKey())) {
              continue;
            }
            Instant from = latest(start, u.from(), e.from());
            Instant to = earliest(end, u.to(), e.to());
            if (!from.isAfter(to)) {
              out.add(new Usage(u, e, from, to));
            }
          }
        }
        out.sort(Comparator.comparing(Usage::from));
        return out;
      } catch (SQLException e) {
        reader.reset();
        throw e;
      }
    }
  }

  private static Instant latest(Instant... ts) {
    Instant m = ts[0];
    for (Instant t : ts) {
      if (t != null && t.isAfter(m)) {
        m = t;
      }
    }
    return m;
  }

  private static Instant earliest(Instant... ts) {
    Instant m = ts[0];
    for (Instant t : ts) {
      if (t != null && t.isBefore(m)) {
        m = t;
      }
    }
    return m;
  }

  /** The settings and informer state, for the route's error messages. */
  public Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("retention", settings.retention().toString());
    m.put("synced", hasSynced());
    m.put("pending", pending);
    return m;
  }

  @Override
  public void close() {
    closed = true;
    endpoints.close();
    sgcs.close();
    informerTimer.shutdownNow();
    writer.shutdownNow();
    try {
      writer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    store.close();
    synchronized (reader) {
      reader.close();
    }
  }
}
