package io.egressgateway.kube.infra;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.ObservedSgc;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's view of Kubernetes. Owns: informers on StaticGatewayConfigurations (all namespaces),
 * the key Secrets of the release namespace and the gateway Nodes (either upstream label). Persists
 * nothing. Nothing is sent before every cache has synced; after that each change marks the SGCs it
 * concerns, marked SGCs get a full {@link ObservedSgc} snapshot ({@code GatewayConfig.Sync}) within
 * {@code FLUSH}, and every {@code resync} all of them get one again (level-triggered).
 */
public final class ControllerBridge implements AutoCloseable {
  public static final String LABEL_GATEWAY_UPSTREAM = "kubeegressgateway.azure.com/mode";
  public static final String LABEL_GATEWAY_AKS = "kubernetes.azure.com/mode";
  public static final String LABEL_AGENT_POOL = "kubernetes.azure.com/agentpool";
  private static final Duration FLUSH = Duration.ofMillis(100);
  private static final Logger log = LoggerFactory.getLogger(ControllerBridge.class);

  private final SharedIndexInformer<StaticGatewayConfiguration> sgcs;
  private final SharedIndexInformer<Secret> secrets;
  private final List<SharedIndexInformer<Node>> nodes;
  private final Consumer<ObservedSgc> sink;
  private final String namespace;
  private volatile List<GatewayNodeInfo> lastGateways = List.of();
  private final Set<String> dirty = ConcurrentHashMap.newKeySet();
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "kube-bridge-controller");
    t.setDaemon(true);
    return t;
  });

  private ControllerBridge(KubernetesClient client, KubeBridgeSettings settings, Consumer<ObservedSgc> sink) {
    this.sink = sink;
    this.namespace = settings.namespace();
    this.sgcs = client.resources(StaticGatewayConfiguration.class).inAnyNamespace().runnableInformer(0);
    this.secrets = client.secrets().inNamespace(settings.namespace()).runnableInformer(0);
    this.nodes = List.of(
        client.nodes().withLabel(LABEL_GATEWAY_UPSTREAM, "true").runnableInformer(0),
        client.nodes().withLabel(LABEL_GATEWAY_AKS, "gateway").runnableInformer(0));
    sgcs.addEventHandler(handler(o -> markSgc((StaticGatewayConfiguration) o)));
    secrets.addEventHandler(handler(o -> markSecret((Secret) o)));
    nodes.forEach(n -> n.addEventHandler(handler(o -> onNodeChange())));
  }

  /**
   * Starts the informers, waits until all have synced, then starts delivering snapshots to the sharded
   * {@link GatewayConfig} entities.
   */
  public static ControllerBridge start(ActorSystem<?> system, KubernetesClient client, KubeBridgeSettings settings) {
    ClusterSharding sharding = ClusterSharding.get(system);
    ControllerBridge bridge = start(client, settings, o -> sharding.entityRefFor(GatewayConfig.ENTITY_KEY, o.key())
        .tell(new GatewayConfig.Sync(o, system.ignoreRef())));
    if (!settings.queryPlugin().isEmpty()) {
      bridge.sweepOrphans(system, settings.queryPlugin());
    }
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
        .filter(key -> sgcs.getStore().getByKey(key) == null)
        .runForeach(key -> sink.accept(ObservedSgc.absent(key, gatewayNodes())), system)
        .whenComplete((done, e) -> {
          if (e != null) {
            log.warn("could not list journaled configs to find orphans: {}", e.toString());
          }
        });
  }

  public static ControllerBridge start(KubernetesClient client, KubeBridgeSettings settings, Consumer<ObservedSgc> sink) {
    ControllerBridge bridge = new ControllerBridge(client, settings, sink);
    bridge.run(settings.resync());
    return bridge;
  }

  private void run(Duration resync) {
    List<SharedIndexInformer<?>> all = new ArrayList<>(nodes);
    all.add(sgcs);
    all.add(secrets);
    try {
      for (SharedIndexInformer<?> i : all) {
        i.run(); // returns after the initial list is in the cache
        if (!i.hasSynced()) {
          throw new IllegalStateException("informer for " + i.getApiTypeClass().getSimpleName() + " did not sync");
        }
      }
    } catch (RuntimeException e) {
      all.forEach(SharedIndexInformer::close);
      throw new IllegalStateException("informers did not sync: " + e.getMessage(), e);
    }
    log.info("informer caches synced: {} configs, {} gateway nodes", sgcs.getStore().list().size(), gatewayNodes().size());
    lastGateways = gatewayNodes();
    sgcs.getStore().list().forEach(this::markSgc);
    timer.scheduleWithFixedDelay(this::flush, 0, FLUSH.toMillis(), TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::resync, resync.toMillis(), resync.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Marks every known SGC for a fresh snapshot. */
  public void resync() {
    dirty.addAll(known);
  }

  /** The snapshot of {@code key} as the caches show it now. */
  public ObservedSgc observe(String key) {
    List<GatewayNodeInfo> gw = gatewayNodes();
    StaticGatewayConfiguration sgc = sgcs.getStore().getByKey(key);
    if (sgc == null) {
      return ObservedSgc.absent(key, gw);
    }
    Secret secret = secrets.getStore().getByKey(namespace + "/" + ObservedSgc.secretName(sgc.getMetadata().getUid()));
    return SgcMapping.observe(sgc, Fabric8SgcApi.publicKeyOf(secret), gw);
  }

  public List<GatewayNodeInfo> gatewayNodes() {
    Map<String, GatewayNodeInfo> out = new TreeMap<>();
    for (SharedIndexInformer<Node> informer : nodes) {
      for (Node n : informer.getStore().list()) {
        Map<String, String> labels = n.getMetadata().getLabels();
        out.put(n.getMetadata().getName(),
            new GatewayNodeInfo(n.getMetadata().getName(), labels == null ? "" : labels.get(LABEL_AGENT_POOL)));
      }
    }
    return new ArrayList<>(out.values());
  }

  private void flush() {
    try {
      Set<String> batch = new HashSet<>(dirty);
      dirty.removeAll(batch);
      for (String key : batch) {
        ObservedSgc o = observe(key);
        if (!o.present()) {
          known.remove(key);
        }
        sink.accept(o);
      }
    } catch (RuntimeException e) {
      log.warn("snapshot delivery failed: {}", e.toString());
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

  private void markSgc(StaticGatewayConfiguration sgc) {
    String key = SgcMapping.key(sgc);
    known.add(key);
    dirty.add(key);
  }

  private void markSecret(Secret s) {
    Map<String, String> labels = s.getMetadata().getLabels();
    if (labels != null && labels.containsKey(Fabric8SgcApi.LABEL_OWNER_NAME)) {
      dirty.add(labels.get(Fabric8SgcApi.LABEL_OWNER_NAMESPACE) + "/" + labels.get(Fabric8SgcApi.LABEL_OWNER_NAME));
    }
  }

  private static <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<Object> mark) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        mark.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        mark.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        mark.accept(obj);
      }
    };
  }

  @Override
  public void close() {
    timer.shutdownNow();
    sgcs.close();
    secrets.close();
    nodes.forEach(SharedIndexInformer::close);
  }
}
