package io.egressgateway.kube.infra;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.egressgateway.core.health.Watches;
import io.egressgateway.core.model.Failures;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.PrefixClaims;
import io.egressgateway.kube.model.PrefixGrants;
import io.egressgateway.kube.model.SpecValidation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's view of Kubernetes. Owns: informers on StaticGatewayConfigurations (all namespaces),
 * the key Secrets of the key namespace (only those with our owner label) and the gateway Nodes (either upstream label), each a
 * {@link SupervisedInformer} (restarted with backoff after any stop; readiness and metrics follow it). Persists
 * nothing. Nothing is sent before every cache has synced; after that each change marks the SGCs it
 * concerns, marked SGCs get a full {@link ObservedSgc} snapshot ({@code GatewayConfig.Sync}) within
 * {@code FLUSH}, and every {@code resync} all of them get one again (level-triggered); so do all of them
 * after an informer was replaced. A snapshot its entity does not confirm within {@code DELIVERY_TIMEOUT} (a
 * journal that is down, a shard on the move) is marked again {@code REDELIVERY} later
 * ({@code egress_snapshots_undelivered_total}), so a configuration made during a journal outage is served
 * soon after the journal is back, not at the next resync.
 *
 * <p>SGCs are watched as generic objects and mapped one by one ({@link SgcMapping#observe(GenericKubernetesResource,
 * KubernetesSerialization, Optional, List)}): an object that cannot be mapped onto the CRD's types becomes a
 * rejected snapshot of its own and never stops the watch of the others.
 *
 * <p>While prefix grants are enforced it also watches {@code EgressPrefixGrant}s and Namespaces (for the grants'
 * namespace selectors; both cluster-scoped, supervised like the others): every SGC naming a bring-your-own prefix carries the outcome of {@link PrefixGrants#check} in its
 * snapshot, and a change of the grants marks those SGCs (of a namespace's labels: those in that namespace). A claim on a prefix its namespace was not granted does not
 * count in {@link PrefixClaims}: a namespace cannot keep another one from a prefix it may not use itself.
 *
 * <p>While policies are enabled it watches {@code EgressGatewayPolicy}s and Namespaces too, and publishes the
 * policies, their namespace selectors resolved, to the nodes through the replicated policy view ({@link PolicySource}):
 * every change of a policy, a namespace or the set of SGCs leads to a full pass within {@code FLUSH}, and so does
 * every resync. Why here and not on the nodes: a watch of policies and namespaces from each of a thousand nodes
 * would cost the API server a thousand watches more, for a view of a few entries that the controllers already have.
 */
public final class ControllerBridge implements AutoCloseable {
  public static final String LABEL_GATEWAY_UPSTREAM = "kubeegressgateway.azure.com/mode";
  public static final String LABEL_GATEWAY_AKS = "kubernetes.azure.com/mode";
  public static final String LABEL_AGENT_POOL = "kubernetes.azure.com/agentpool";
  /** The SGC kind as a generic resource: watched untyped, mapped object by object. */
  public static final ResourceDefinitionContext SGC_KIND = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind("StaticGatewayConfiguration").withPlural("staticgatewayconfigurations").withNamespaced(true).build();
  private static final Duration FLUSH = Duration.ofMillis(100);
  /** How long an entity has to confirm a snapshot (it replies on receipt, after its recovery). */
  static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(15);
  /** How long after an unconfirmed snapshot its key is marked again. */
  static final Duration REDELIVERY = Duration.ofSeconds(2);
  static final Duration RESTART_MIN = Duration.ofSeconds(1);
  static final Duration RESTART_MAX = Duration.ofSeconds(30);
  private static final Logger log = LoggerFactory.getLogger(ControllerBridge.class);

  private final SupervisedInformer<GenericKubernetesResource> sgcs;
  private final SupervisedInformer<Secret> secrets;
  private final SupervisedInformer<GenericKubernetesResource> grants; // null unless grants are enforced
  private final SupervisedInformer<Namespace> namespaces; // for namespace selectors; null unless grants or policies
  private final SupervisedInformer<GenericKubernetesResource> policies; // null unless policies are enabled
  private volatile PolicySource policySource; // set by start(); null until then and in tests without a view
  private volatile boolean policiesDirty = true;
  private final PrefixGrantSource grantSource;
  private final List<SupervisedInformer<Node>> nodes;
  private final List<SupervisedInformer<?>> all;
  private final KubernetesSerialization serialization;
  private final Function<ObservedSgc, CompletionStage<?>> sink;
  private final Runnable undelivered;
  /** Unconfirmed snapshots get at most one log line per period; each is counted by {@link #undelivered}. */
  private final io.egressgateway.core.metrics.LogThrottle unconfirmedLog =
      new io.egressgateway.core.metrics.LogThrottle(java.time.Duration.ofSeconds(30));
  private final String keyNamespace;
  private volatile List<GatewayNodeInfo> lastGateways = List.of();
  private Decisions lastDecisions = Decisions.NONE; // flush thread only
  private volatile Map<String, String[]> prefixIds = Map.of();
  private final Set<String> dirty = ConcurrentHashMap.newKeySet();
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Void> synced = new CompletableFuture<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "kube-bridge-controller");
    t.setDaemon(true);
    return t;
  });

  private ControllerBridge(KubernetesClient client, KubeBridgeSettings settings, Watches watches,
      Function<ObservedSgc, CompletionStage<?>> sink, Runnable undelivered) {
    this.sink = sink;
    this.undelivered = undelivered;
    this.keyNamespace = settings.keyNamespace();
    this.serialization = client.getKubernetesSerialization();
    this.sgcs = supervised("staticgatewayconfigurations", watches,
        () -> client.genericKubernetesResources(SGC_KIND).inAnyNamespace().runnableInformer(0),
        o -> markSgc((GenericKubernetesResource) o));
    this.secrets = supervised("secrets", watches,
        // only the key Secrets we made (owner label), in the namespace that holds nothing else: the controllers cache
        // no other Secret
        () -> client.secrets().inNamespace(settings.keyNamespace()).withLabel(Fabric8SgcApi.LABEL_OWNER_NAME).runnableInformer(0),
        o -> markSecret((Secret) o));
    this.nodes = List.of(
        supervised("nodes/" + LABEL_GATEWAY_UPSTREAM, watches,
            () -> client.nodes().withLabel(LABEL_GATEWAY_UPSTREAM, "true").runnableInformer(0), o -> onNodeChange()),
        supervised("nodes/" + LABEL_GATEWAY_AKS, watches,
            () -> client.nodes().withLabel(LABEL_GATEWAY_AKS, "gateway").runnableInformer(0), o -> onNodeChange()));
    this.grantSource = new PrefixGrantSource(client, "kube-egress-gateway-controller");
    this.grants = !settings.prefixGrantsEnforced() ? null : supervised(PrefixGrantSource.KIND.getPlural(), watches,
        () -> client.genericKubernetesResources(PrefixGrantSource.KIND).runnableInformer(0), o -> onGrantChange());
    this.namespaces = !settings.prefixGrantsEnforced() && !settings.policiesEnabled() ? null : supervised("namespaces", watches,
        () -> client.namespaces().runnableInformer(0), o -> onNamespaceChange((Namespace) o));
    this.policies = !settings.policiesEnabled() ? null : supervised(PolicySource.KIND.getPlural(), watches,
        () -> client.genericKubernetesResources(PolicySource.KIND).runnableInformer(0), o -> policiesDirty = true);
    List<SupervisedInformer<?>> list = new ArrayList<>(nodes);
    list.add(sgcs);
    list.add(secrets);
    if (grants != null) {
      list.add(grants);
    }
    if (namespaces != null) {
      list.add(namespaces);
    }
    if (policies != null) {
      list.add(policies);
    }
    this.all = List.copyOf(list);
  }

  private <T extends HasMetadata> SupervisedInformer<T> supervised(String resource, Watches watches,
      java.util.function.Supplier<SharedIndexInformer<T>> factory, Consumer<Object> mark) {
    // after a replacement informer synced: objects deleted during the gap raised no event, so look at all again
    return new SupervisedInformer<>(resource, factory, List.of(SupervisedInformer.handler(mark, mark)), watches, timer, RESTART_MIN, RESTART_MAX,
        this::afterRestart);
  }

  /**
   * Starts the informers and returns at once; once all have synced, starts delivering snapshots to the sharded
   * {@link GatewayConfig} entities. An API server that cannot be reached is retried with backoff meanwhile
   * (readiness red, {@code egress_informer_up} 0).
   */
  public static ControllerBridge start(ActorSystem<?> system, KubernetesClient client, KubeBridgeSettings settings) {
    ClusterSharding sharding = ClusterSharding.get(system);
    // asked, not told: a snapshot that no entity confirmed (its recovery failed or waits for the journal, its shard
    // moved) is marked again and sent anew, rather than waiting for the next resync
    var undelivered = io.egressgateway.core.metrics.Metrics.get(system).counter("egress_snapshots_undelivered_total",
        "configuration snapshots the controller's entity did not confirm in time; each is sent again");
    ControllerBridge bridge = new ControllerBridge(client, settings, Watches.get(system),
        o -> sharding.entityRefFor(GatewayConfig.ENTITY_KEY, o.key())
            .<Done>ask(r -> new GatewayConfig.Sync(o, r), DELIVERY_TIMEOUT),
        undelivered::inc);
    if (bridge.policies != null) {
      io.egressgateway.core.view.PolicyViews view = io.egressgateway.core.view.PolicyViews.get(system);
      bridge.policySource = new PolicySource(client, new PolicySource.Sink() {
        @Override
        public Map<String, io.egressgateway.core.model.GatewayPolicy> current() {
          return view.current();
        }

        @Override
        public java.util.concurrent.CompletionStage<Boolean> publish(io.egressgateway.core.model.GatewayPolicy policy) {
          return view.publish(policy);
        }

        @Override
        public java.util.concurrent.CompletionStage<Boolean> remove(String name) {
          return view.remove(name);
        }
      });
    }
    bridge.run(settings.resync());
    // pods that follow a new generation (or come and go) change the status: a fresh snapshot recounts them
    io.egressgateway.core.view.PodGenerations.get(system).subscribe(bridge::podsChanged);
    if (!settings.queryPlugin().isEmpty()) {
      bridge.synced.thenRun(() -> bridge.sweepOrphans(system, settings.queryPlugin()));
    }
    return bridge;
  }

  /**
   * Starts the informers and, once all have synced, delivers every snapshot to {@code sink}, which confirms one by
   * completing the stage it returns; a snapshot it fails (or lets time out) is counted by {@code undelivered} and
   * marked again. {@link #start(ActorSystem, KubernetesClient, KubeBridgeSettings)} wires the sharded entities as
   * the sink; this is for any other consumer of the snapshots (no policies, no orphan sweep).
   */
  public static ControllerBridge startWith(KubernetesClient client, KubeBridgeSettings settings, Watches watches,
      Function<ObservedSgc, CompletionStage<?>> sink, Runnable undelivered) {
    ControllerBridge bridge = new ControllerBridge(client, settings, watches, sink, undelivered);
    bridge.run(settings.resync());
    return bridge;
  }

  /**
   * Entities whose SGC vanished while no controller ran (its finalizer removed by hand) would never hear
   * of it again: they exist only in the journal. Once, at start, every journaled GatewayConfig without an
   * SGC in the synced cache gets an "absent" snapshot, so it releases what it still holds.
   */
  private void sweepOrphans(ActorSystem<?> system, String queryPlugin) {
    String prefix = GatewayConfig.ENTITY_KEY.name() + "|";
    PersistenceQuery.get(Adapter.toClassic(system))
        .getReadJournalFor(CurrentPersistenceIdsQuery.class, queryPlugin)
        .currentPersistenceIds()
        .filter(id -> id.startsWith(prefix))
        .map(id -> id.substring(prefix.length()))
        .filter(key -> sgcs.store().getByKey(key) == null)
        .runForeach(key -> deliver(ObservedSgc.absent(key, gatewayNodes())), system)
        .whenComplete((done, e) -> {
          if (e != null) {
            log.warn("could not list journaled configs to find orphans: {}", e.toString());
          }
        });
  }

  private void run(Duration resync) {
    all.forEach(SupervisedInformer::start);
    CompletableFuture.allOf(all.stream().map(i -> i.firstSync().toCompletableFuture()).toArray(CompletableFuture[]::new))
        .thenRunAsync(() -> {
          log.info("informer caches synced: {} configs, {} gateway nodes", sgcs.store().list().size(), gatewayNodes().size());
          lastGateways = gatewayNodes();
          sgcs.store().list().forEach(this::markSgc);
          timer.scheduleWithFixedDelay(this::flush, 0, FLUSH.toMillis(), TimeUnit.MILLISECONDS);
          timer.scheduleWithFixedDelay(this::resync, resync.toMillis(), resync.toMillis(), TimeUnit.MILLISECONDS);
          synced.complete(null);
        }, timer);
  }

  /** Completes once every informer has synced for the first time and snapshots flow. */
  public CompletableFuture<Void> synced() {
    return synced;
  }

  /** Marks the known SGCs among {@code keys} for a fresh snapshot (their pods' generations changed). */
  public void podsChanged(Set<String> keys) {
    keys.stream().filter(known::contains).forEach(dirty::add);
  }

  /** Marks every known SGC for a fresh snapshot. */
  public void resync() {
    dirty.addAll(known);
    policiesDirty = true;
  }

  private void afterRestart() {
    onNodeChange();
    sgcs.store().list().forEach(this::markSgc);
    resync();
  }

  /** The snapshot of {@code key} as the caches show it now. */
  public ObservedSgc observe(String key) {
    return observe(key, decide());
  }

  private ObservedSgc observe(String key, Decisions decisions) {
    List<GatewayNodeInfo> gw = gatewayNodes();
    GenericKubernetesResource sgc = sgcs.store().getByKey(key);
    if (sgc == null) {
      return ObservedSgc.absent(key, gw);
    }
    Secret secret = secrets.store().getByKey(keyNamespace + "/" + ObservedSgc.secretName(sgc.getMetadata().getUid()));
    Optional<String> publicKey = Fabric8SgcApi.ownedBy(secret, sgc.getMetadata().getNamespace(), sgc.getMetadata().getName())
        ? Fabric8SgcApi.publicKeyOf(secret) : Optional.empty();
    ObservedSgc o = SgcMapping.observe(sgc, serialization, publicKey, gw);
    String conflict = decisions.conflicts().get(key);
    PrefixGrants.Check grant = decisions.grants().get(key);
    if (conflict == null && grant == null) {
      return o;
    }
    var spec = conflict == null ? o.spec() : o.spec().conflicting(conflict);
    return new ObservedSgc(o.key(), o.present(), o.uid(), o.generation(), o.deleting(),
        o.hasFinalizer(), grant == null ? spec : spec.granted(grant), o.status(), o.secretPublicKey(), o.gatewayNodes());
  }

  /**
   * What the caches say about the bring-your-own prefixes: each SGC's grant check (enforced grants only) and the
   * SGCs that may not use their prefix because an older one (whose namespace may use it) already does.
   */
  private record Decisions(Map<String, String> conflicts, Map<String, PrefixGrants.Check> grants) {
    static final Decisions NONE = new Decisions(Map.of(), Map.of());

    /** The keys whose decision differs between this and {@code other}. */
    Set<String> changedFrom(Decisions other) {
      Set<String> keys = new HashSet<>(conflicts.keySet());
      keys.addAll(other.conflicts.keySet());
      keys.addAll(grants.keySet());
      keys.addAll(other.grants.keySet());
      keys.removeIf(k -> java.util.Objects.equals(conflicts.get(k), other.conflicts.get(k))
          && java.util.Objects.equals(grants.get(k), other.grants.get(k)));
      return keys;
    }
  }

  private Decisions decide() {
    PrefixGrants granted = grants == null ? null : grantSource.current(grants.store().list());
    Map<String, PrefixGrants.Check> checks = new HashMap<>();
    List<PrefixClaims.Claim> claims = new ArrayList<>();
    Map<String, String[]> seen = new HashMap<>();
    for (GenericKubernetesResource g : sgcs.store().list()) {
      String key = g.getMetadata().getNamespace() + "/" + g.getMetadata().getName();
      String version = String.valueOf(g.getMetadata().getResourceVersion());
      // {resourceVersion, prefix id, "valid" or ""}: a spec is mapped and checked once per version
      String[] cached = prefixIds.get(key);
      if (cached == null || !cached[0].equals(version)) {
        var spec = SgcMapping.observe(g, serialization, Optional.empty(), List.of()).spec();
        cached = new String[] {version, spec.publicIpPrefixId(), SpecValidation.validate(spec).isEmpty() ? "valid" : ""};
      }
      seen.put(key, cached);
      if (cached[1].isEmpty()) {
        continue;
      }
      if (granted != null) {
        PrefixGrants.Check check = granted.check(g.getMetadata().getNamespace(), labelsOf(g.getMetadata().getNamespace()), cached[1]);
        checks.put(key, check);
        if (!check.granted()) {
          continue;
        }
      }
      if (cached[2].isEmpty()) {
        continue; // invalid for another reason: it could not use the prefix, so it takes it from nobody
      }
      List<String> finalizers = g.getMetadata().getFinalizers();
      claims.add(new PrefixClaims.Claim(key, cached[1], g.getMetadata().getCreationTimestamp(),
          g.getMetadata().getDeletionTimestamp() != null,
          finalizers != null && finalizers.contains(StaticGatewayConfiguration.FINALIZER)));
    }
    prefixIds = seen;
    return new Decisions(PrefixClaims.conflicts(claims), checks);
  }

  public List<GatewayNodeInfo> gatewayNodes() {
    Map<String, GatewayNodeInfo> out = new TreeMap<>();
    for (SupervisedInformer<Node> informer : nodes) {
      for (Node n : informer.store().list()) {
        Map<String, String> labels = n.getMetadata().getLabels();
        out.put(n.getMetadata().getName(),
            new GatewayNodeInfo(n.getMetadata().getName(), labels == null ? "" : labels.get(LABEL_AGENT_POOL)));
      }
    }
    return new ArrayList<>(out.values());
  }

  private void flush() {
    flushPolicies();
    try {
      Set<String> batch = new HashSet<>(dirty);
      dirty.removeAll(batch);
      if (batch.isEmpty()) {
        return;
      }
      // a claim or grant that changed can release or take another SGC's prefix: those get a snapshot too
      Decisions decisions = decide();
      batch.addAll(decisions.changedFrom(lastDecisions));
      lastDecisions = decisions;
      for (String key : batch) {
        ObservedSgc o = observe(key, decisions);
        if (!o.present()) {
          known.remove(key);
        }
        deliver(o);
      }
    } catch (RuntimeException e) {
      log.warn("snapshot delivery failed: {}", e.toString());
    }
  }

  /** Sends {@code o} to its entity; when the entity does not confirm it in time, marks its key again. */
  private void deliver(ObservedSgc o) {
    CompletionStage<?> confirmed;
    try {
      confirmed = sink.apply(o);
    } catch (RuntimeException e) {
      confirmed = CompletableFuture.failedFuture(e);
    }
    confirmed.whenComplete((done, e) -> {
      if (e != null) {
        undelivered.run();
        // a journal outage leaves every configuration's snapshot unconfirmed, again and again: one line per period
        unconfirmedLog.admit("unconfirmed", System.nanoTime()).ifPresent(unlogged -> log.warn(
            "snapshot of {} not confirmed by its entity ({}); sending it again in {} ms{}", o.key(), Failures.root(e).toString(),
            REDELIVERY.toMillis(), unlogged == 0 ? "" : " (" + unlogged + " more not confirmed since the last such line)"));
        timer.schedule(() -> dirty.add(o.key()), REDELIVERY.toMillis(), TimeUnit.MILLISECONDS);
      }
    });
  }

  /** A full pass over the policies when anything they depend on changed; marked again when a write failed. */
  private void flushPolicies() {
    PolicySource source = policySource;
    if (source == null || !policiesDirty) {
      return;
    }
    policiesDirty = false;
    try {
      Map<String, Map<String, String>> labels = new HashMap<>();
      for (Namespace ns : namespaces.store().list()) {
        Map<String, String> l = ns.getMetadata().getLabels();
        labels.put(ns.getMetadata().getName(), l == null ? Map.of() : l);
      }
      Set<String> configs = new HashSet<>();
      for (GenericKubernetesResource g : sgcs.store().list()) {
        if (g.getMetadata().getDeletionTimestamp() == null) {
          configs.add(g.getMetadata().getNamespace() + "/" + g.getMetadata().getName());
        }
      }
      if (!source.pass(policies.store().list(), labels, configs)) {
        policiesDirty = true;
      }
    } catch (RuntimeException e) {
      policiesDirty = true;
      log.warn("policy pass failed (retried): {}", e.toString());
    }
  }

  /** Node updates are frequent (status, heartbeats); only a change of the gateway set concerns configs. */
  private void onNodeChange() {
    List<GatewayNodeInfo> now = gatewayNodes();
    if (!now.equals(lastGateways)) {
      lastGateways = now;
      dirty.addAll(known);
    }
  }

  private Map<String, String> labelsOf(String namespace) {
    Namespace ns = namespaces.store().getByKey(namespace);
    Map<String, String> labels = ns == null ? null : ns.getMetadata().getLabels();
    return labels == null ? Map.of() : labels;
  }

  /** A namespace's labels may decide its grants: its SGCs that name a prefix are looked at again. */
  private void onNamespaceChange(Namespace ns) {
    policiesDirty = true;
    String prefix = ns.getMetadata().getName() + "/";
    prefixIds.forEach((key, cached) -> {
      if (key.startsWith(prefix) && !cached[1].isEmpty()) {
        dirty.add(key);
      }
    });
  }

  /** A grant concerns only the SGCs that name a bring-your-own prefix (new ones are marked by their own event). */
  private void onGrantChange() {
    prefixIds.forEach((key, cached) -> {
      if (!cached[1].isEmpty()) {
        dirty.add(key);
      }
    });
  }

  private void markSgc(HasMetadata sgc) {
    policiesDirty = true;
    String key = sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName();
    known.add(key);
    dirty.add(key);
  }

  private void markSecret(Secret s) {
    Map<String, String> labels = s.getMetadata().getLabels();
    if (labels != null && labels.containsKey(Fabric8SgcApi.LABEL_OWNER_NAME)) {
      dirty.add(labels.get(Fabric8SgcApi.LABEL_OWNER_NAMESPACE) + "/" + labels.get(Fabric8SgcApi.LABEL_OWNER_NAME));
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    all.forEach(SupervisedInformer::close);
  }
}
