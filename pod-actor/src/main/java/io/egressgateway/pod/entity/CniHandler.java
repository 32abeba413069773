package io.egressgateway.pod.entity;

import akka.pattern.StatusReply;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.pod.infra.CniCodec;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.infra.PodDirectory;
import io.egressgateway.pod.model.CniCall;
import io.egressgateway.pod.model.CniReply;
import io.egressgateway.pod.model.PodInfo;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent's answer to each CNI call (the CNI server's handler). A pod that needs no gateway costs one local
 * directory lookup and gets its {@code prevResult} back untouched; one that does (annotated, or selected by a
 * cluster-wide policy: {@link PodInfo#choose}) is handed to its {@link PodTunnel}. DEL always succeeds. Every pod
 * it adds is remembered ({@link PodAttachments}) so that {@link PolicyFollower} can move its tunnel later.
 *
 * <p>Owns: nothing. Persists: nothing. Observes: the pod directory, the policy view, and for CHECK the pod's wg0.
 */
public final class CniHandler implements Function<CniCall, CompletionStage<CniReply>> {
  private static final Logger log = LoggerFactory.getLogger(CniHandler.class);

  private final String node;
  private final PodDirectory directory;
  private final PodTunnels tunnels;
  private final PodDatapath datapath;
  private final Duration askTimeout;
  private final Executor blocking;
  /** This node's tunnel devices (creation name) to their entity, for repairs; rebuilt by {@link #resumeTunnels} after a restart. */
  private final java.util.Map<String, String> devices = new java.util.concurrent.ConcurrentHashMap<>();
  /**
   * Tunnel entities this agent sent an ADD to before {@link #resumeTunnels} finished: not counted as taken back.
   * Kept only until then.
   */
  private final java.util.Set<String> addedHere = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean takingBack = true;
  private volatile java.util.function.Supplier<java.util.Collection<io.egressgateway.core.model.GatewayPolicy>> policies =
      java.util.List::of;
  final PodAttachments attachments = new PodAttachments();
  private volatile java.util.function.Predicate<String> policiesPending = namespace -> false;
  private final PolicyFollower follower;

  /** {@code askTimeout} must exceed the entities' gateway wait; {@code blocking} runs CHECK's datapath read. */
  /**
   * Told what the CNI path did, after the fact and never on its critical path: for PodEndpoint objects,
   * metrics and the like. Implementations must not block.
   */
  public interface Observer {
    default void provisioned(PodInfo pod, String podIp, String configKey, String podPublicKey) {}
    default void removed(String namespace, String name) {}
    default void addFinished(boolean annotated, boolean ok, Duration took) {}
  }

  private volatile Observer observer = new Observer() {};

  public void observedBy(Observer o) {
    this.observer = o;
  }

  public CniHandler(String node, PodDirectory directory, PodTunnels tunnels, PodDatapath datapath,
      Duration askTimeout, Executor blocking) {
    this.node = node;
    this.directory = directory;
    this.tunnels = tunnels;
    this.datapath = datapath;
    this.askTimeout = askTimeout;
    this.blocking = blocking;
    datapath.onTunnelLost(this::onTunnelLost);
    this.follower = new PolicyFollower(this, tunnels, datapath, askTimeout, blocking);
  }

  /** The cluster-wide policies (the replicated policy view) pods are chosen by after their annotation. */
  public void selectedBy(java.util.function.Supplier<java.util.Collection<io.egressgateway.core.model.GatewayPolicy>> source) {
    this.policies = source;
  }

  /**
   * Namespaces where policies selected pods when this agent last ran and whose policies have not reached this agent
   * yet: a pod there without the annotation is told to try again rather than added without a gateway.
   */
  public void policiesPendingFor(java.util.function.Predicate<String> namespaces) {
    this.policiesPending = namespaces;
  }

  /** The configuration a pod egresses through now: its annotation's, else the winning policy's, else none. */
  Optional<String> configOf(PodInfo pod) {
    return pod.choose(policies.get()).map(io.egressgateway.core.model.GatewayPolicy.Choice::configKey);
  }

  /**
   * Moves the tunnel of every pod of this node whose configuration changed since its ADD (labels, namespace labels
   * or policies changed): see {@link PolicyFollower}. Completes with how many pods were moved.
   */
  public CompletionStage<Integer> followPolicies() {
    return follower.pass(directory.all());
  }

  String node() {
    return node;
  }

  /** The follower made or moved a pod's tunnel. */
  void tunnelMade(PodInfo pod, String podIp, String configKey, PodTunnel.Added added) {
    String id = NodePinned.entityId(node, pod.uid());
    devices.put(added.deviceName(), id);
    notifyProvisioned(pod, podIp, configKey, added.publicKey(), id);
  }

  /** The follower removed a pod's tunnel (the pod runs on, without a gateway). */
  void tunnelRemoved(PodInfo pod) {
    devices.values().remove(NodePinned.entityId(node, pod.uid()));
    observer.removed(pod.namespace(), pod.name());
  }

  /** A pod device died: its entity re-creates it (same key, same gateways). */
  void onTunnelLost(String deviceName) {
    String id = devices.get(deviceName);
    if (id != null) {
      log.warn("tunnel device {} of {} died; asking the entity to re-create it", deviceName, id);
      tunnels.tell(id, new PodTunnel.Reattach(deviceName));
    }
  }

  /**
   * Every tunnel of this node whose key may be on the gateways (being made, or made), for the lists the
   * gateways heal themselves from ({@link PeerSync}). Asks each tunnel entity this agent knows (made or
   * taken back) or whose pod the node's cache lists; fails if any of them does not answer, since a partial
   * list would make the gateways drop live pods' peers.
   */
  public CompletionStage<java.util.List<PeerSync.Live>> liveTunnels() {
    java.util.List<CompletableFuture<PodTunnel.State>> states = tunnelIds().stream()
        .map(id -> tunnels.<PodTunnel.State>ask(id, PodTunnel.Get::new, askTimeout).toCompletableFuture())
        .toList();
    return CompletableFuture.allOf(states.toArray(CompletableFuture[]::new)).thenApply(v -> states.stream()
        .map(f -> PodTunnel.tunnelOf(f.join()))
        .filter(java.util.Objects::nonNull)
        .map(t -> new PeerSync.Live(t.configUid(), t.publicKey(), t.podIp()))
        .toList());
  }

  /**
   * Tells the tunnels of this node that the view of configuration {@code key} changed, so that they follow it
   * ({@link PodTunnel.Follow}): those of the pods annotated with it, and those this agent made or took back
   * (a tunnel of another configuration ignores it).
   */
  public void followView(String key) {
    java.util.Set<String> ids = new java.util.TreeSet<>(devices.values());
    directory.all().stream().filter(p -> p.gatewayConfigKey().filter(key::equals).isPresent())
        .forEach(p -> ids.add(NodePinned.entityId(node, p.uid())));
    ids.forEach(id -> tunnels.tell(id, new PodTunnel.Follow(key)));
  }

  /** The entity ids of this node's tunnels: those this agent made or took back, and those of the annotated pods in the cache. */
  private java.util.Set<String> tunnelIds() {
    java.util.Set<String> ids = new java.util.TreeSet<>(devices.values());
    directory.all().stream().filter(p -> configOf(p).isPresent() || attachments.tunnelled(p.uid()))
        .forEach(p -> ids.add(NodePinned.entityId(node, p.uid())));
    return ids;
  }

  /**
   * After the agent starts: asks the tunnel entity of every annotated pod of this node to take its tunnel
   * back ({@link PodTunnel.Resume}), so that tunnels made before the restart are repaired and watched again.
   * Completes with how many tunnels are served again; a pod without a tunnel, or whose namespace is gone,
   * is not counted.
   */
  public CompletionStage<Integer> resumeTunnels() {
    Duration wait = PodTunnel.RESUME_RETRY.multipliedBy(PodTunnel.RESUME_ATTEMPTS).plus(askTimeout);
    java.util.concurrent.atomic.AtomicInteger resumed = new java.util.concurrent.atomic.AtomicInteger();
    CompletableFuture<?>[] asks = directory.all().stream()
        .filter(p -> configOf(p).isPresent())
        .map(p -> {
          String id = NodePinned.entityId(node, p.uid());
          CompletionStage<StatusReply<PodTunnel.TakenBack>> asked = tunnels.ask(id, r -> new PodTunnel.Resume(0, r), wait);
          return asked.handle((reply, err) -> {
            if (err == null && reply.isSuccess() && addedHere.contains(id)) {
              // made by this agent's own ADD meanwhile (calls are taken while tunnels are being taken back)
              log.debug("pod {}/{}: its tunnel was made by this agent, not taken back", p.namespace(), p.name());
            } else if (err == null && reply.isSuccess()) {
              PodTunnel.TakenBack t = reply.getValue();
              devices.put(t.deviceName(), id);
              resumed.incrementAndGet();
              if (t.newKey()) {
                notifyProvisioned(p, t.podIp(), t.configKey(), t.publicKey(), id);
              }
            } else {
              log.debug("pod {}/{}: no tunnel resumed ({})", p.namespace(), p.name(),
                  err != null ? err.getMessage() : reply.getError().getMessage());
            }
            return null;
          }).toCompletableFuture();
        })
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(asks).thenApply(v -> {
      takingBack = false;
      addedHere.clear();
      log.info("{} tunnel(s) of annotated pods on node {} resumed after start", resumed.get(), node);
      return resumed.get();
    });
  }

  @Override
  public CompletionStage<CniReply> apply(CniCall call) {
    return switch (call.command()) {
      case "ADD" -> add(call);
      case "DEL" -> del(call);
      case "CHECK" -> check(call);
      case "STATUS" -> done(directory.ready() ? CniReply.ok("")
          : CniReply.error(CniReply.NOT_AVAILABLE, "the node agent's pod cache has not synced yet", "node " + node));
      case "GC" -> gc(call);
      default -> done(CniReply.error(CniReply.INVALID_ENV, "unsupported CNI command '" + call.command() + "'", ""));
    };
  }

  private CompletionStage<CniReply> add(CniCall call) {
    long start = System.nanoTime();
    boolean[] annotated = new boolean[1]; // set by the one directory lookup of this ADD
    return addUnobserved(call, annotated).whenComplete((reply, err) ->
        observer.addFinished(annotated[0], err == null && reply instanceof CniReply.Result,
            Duration.ofNanos(System.nanoTime() - start)));
  }

  private CompletionStage<CniReply> addUnobserved(CniCall call, boolean[] annotated) {
    if (call.prevResult().isEmpty()) {
      return done(CniReply.error(CniReply.INVALID_CONFIG, "kube-egress-cni must be chained: no prevResult", ""));
    }
    if (call.podNamespace().isEmpty() || call.podName().isEmpty()) {
      return done(CniReply.error(CniReply.INVALID_ENV, "CNI_ARGS lacks K8S_POD_NAMESPACE or K8S_POD_NAME", ""));
    }
    Optional<String> netnsProblem = datapath.netnsProblem(call.netns());
    if (netnsProblem.isPresent()) {
      log.warn("ADD of container {} refused: {}", call.containerId(), netnsProblem.get());
      return done(CniReply.error(CniReply.INVALID_ENV, "CNI_NETNS is not a pod network namespace", netnsProblem.get()));
    }
    Optional<PodInfo> pod = directory.find(call.podNamespace(), call.podName());
    if (pod.isEmpty()) {
      return done(CniReply.error(CniReply.TRY_AGAIN_LATER, "pod " + call.podNamespace() + "/" + call.podName()
          + " is not known on node " + node + " yet", "the node's pod cache has not seen it"));
    }
    Optional<String> configKey = configOf(pod.get());
    annotated[0] = configKey.isPresent();
    if (configKey.isEmpty() && policiesPending.test(call.podNamespace())) {
      return done(CniReply.error(CniReply.TRY_AGAIN_LATER, "the cluster's policies have not reached node " + node + " yet",
          "policies selected pods of namespace " + call.podNamespace() + " when the agent last ran"));
    }
    if (configKey.isEmpty()) {
      attachments.added(pod.get().uid(), call, "");
      return done(CniReply.ok(call.prevResult()));
    }
    if (call.podIp().isEmpty()) {
      return done(CniReply.error(CniReply.INVALID_CONFIG, "prevResult has no IPv4 address for the pod", ""));
    }
    PodTunnel.Pod p = new PodTunnel.Pod(call.containerId(), call.netns(), call.podIp(), call.eth0Gateway(),
        configKey.get(), call.excludedCidrs());
    String id = NodePinned.entityId(node, pod.get().uid());
    if (takingBack) {
      addedHere.add(id);
    }
    CompletionStage<StatusReply<PodTunnel.Added>> asked = tunnels.ask(id, r -> new PodTunnel.Add(p, r), askTimeout);
    return asked.handle((reply, err) -> {
      if (err != null) {
        return CniReply.error(CniReply.TRY_AGAIN_LATER, "the pod's tunnel did not answer in time", String.valueOf(err.getMessage()));
      }
      if (reply.isError()) {
        return CniReply.error(CniReply.TUNNEL_FAILURE, "egress gateway tunnel for pod " + call.podNamespace() + "/"
            + call.podName() + " failed", reply.getError().getMessage());
      }
      devices.put(reply.getValue().deviceName(), id);
      attachments.added(pod.get().uid(), call, configKey.get());
      notifyProvisioned(pod.get(), call.podIp(), configKey.get(), reply.getValue().publicKey(), id);
      return CniReply.ok(CniCodec.withTunnelInterface(call.prevResult(), call.netns()));
    });
  }

  private void notifyProvisioned(PodInfo pod, String podIp, String configKey, String publicKey, String id) {
    try {
      observer.provisioned(pod, podIp, configKey, publicKey);
    } catch (RuntimeException e) {
      log.warn("observer of pod {} failed: {}", id, e.toString());
    }
  }

  private CompletionStage<CniReply> del(CniCall call) {
    String uid = call.podUid();
    if (uid.isEmpty() && !call.podNamespace().isEmpty()) {
      uid = directory.find(call.podNamespace(), call.podName()).map(PodInfo::uid).orElse("");
    }
    if (uid.isEmpty()) {
      log.debug("DEL for container {}: pod unknown, nothing to remove", call.containerId());
      return done(CniReply.ok(""));
    }
    String id = NodePinned.entityId(node, uid);
    attachments.deleted(uid, call.containerId());
    // a DEL of an earlier sandbox of the pod (a runtime's failed attempt, run late because the agent was down)
    // leaves the tunnel and the PodEndpoint of the pod's current sandbox alone: the entity ignores it, and so
    // does the observer
    CompletionStage<StatusReply<akka.Done>> asked = tunnels.ask(id, PodTunnel.Get::new, askTimeout).thenCompose(state -> {
      String current = containerOf(state);
      if (call.containerId().isEmpty() || current.isEmpty() || current.equals(call.containerId())) {
        devices.values().remove(id);
        if (!call.podNamespace().isEmpty()) {
          observer.removed(call.podNamespace(), call.podName());
        }
      } else {
        log.info("DEL for container {} of pod {}/{}: its tunnel belongs to container {}; left in place", call.containerId(),
            call.podNamespace(), call.podName(), current);
      }
      return tunnels.ask(id, r -> new PodTunnel.Remove(call.containerId(), r), askTimeout);
    });
    return asked.handle((reply, err) -> {
      if (err != null || reply.isError()) {
        String why = err != null ? err.getMessage() : reply.getError().getMessage();
        log.warn("DEL for container {} of pod {}: {}", call.containerId(), id, why);
        // the plugin lets the runtime's DEL succeed all the same; a DEL kept for this agent stays kept and is
        // run again (CniServer's sweep) rather than lost with the pod's tunnel and PodEndpoint left behind
        return CniReply.error(CniReply.TRY_AGAIN_LATER, "the pod's tunnel was not removed", String.valueOf(why));
      }
      return CniReply.ok("");
    });
  }

  /** The container whose tunnel the entity holds, empty when none. */
  private static String containerOf(PodTunnel.State s) {
    return s instanceof PodTunnel.Established e ? e.tunnel().containerId()
        : s instanceof PodTunnel.Requested r ? r.tunnel().containerId() : "";
  }

  /**
   * GC (CNI 1.1): the runtime lists the attachments it still has; the tunnel of any other container of this node
   * is removed, with its gateway peers, as its DEL would have. Looks at the tunnels this agent knows (made or
   * taken back) and those of the annotated pods in the node's cache. Always succeeds; what could not be asked
   * is logged and left for the next GC.
   */
  private CompletionStage<CniReply> gc(CniCall call) {
    java.util.Set<String> valid = java.util.Set.copyOf(call.validContainerIds());
    java.util.Set<String> ids = tunnelIds();
    java.util.concurrent.atomic.AtomicInteger removed = new java.util.concurrent.atomic.AtomicInteger();
    CompletableFuture<?>[] asks = ids.stream().map(id -> {
      CompletionStage<PodTunnel.State> state = tunnels.ask(id, PodTunnel.Get::new, askTimeout);
      return state.thenCompose(s -> {
        PodTunnel.Tunnel t = PodTunnel.tunnelOf(s);
        String container = t == null ? "" : t.containerId();
        if (container.isEmpty() || valid.contains(container)) {
          return CompletableFuture.completedFuture(null);
        }
        log.info("GC: container {} of {} is no longer attached; removing its tunnel", container, id);
        devices.values().remove(id);
        removed.incrementAndGet();
        CompletionStage<StatusReply<akka.Done>> asked = tunnels.ask(id, r -> new PodTunnel.Remove(container, r), askTimeout);
        return asked.thenApply(x -> null);
      }).exceptionally(err -> {
        log.warn("GC: could not look at tunnel {}: {}", id, err.getMessage());
        return null;
      }).toCompletableFuture();
    }).toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(asks).thenApply(v -> {
      log.info("GC on node {}: {} valid attachment(s), {} tunnel(s) looked at, {} removed", node, valid.size(),
          ids.size(), removed.get());
      return CniReply.ok("");
    });
  }

  private CompletionStage<CniReply> check(CniCall call) {
    Optional<String> netnsProblem = datapath.netnsProblem(call.netns());
    if (netnsProblem.isPresent()) {
      return done(CniReply.error(CniReply.INVALID_ENV, "CNI_NETNS is not a pod network namespace", netnsProblem.get()));
    }
    Optional<PodInfo> pod = directory.find(call.podNamespace(), call.podName());
    if (pod.isEmpty() || configOf(pod.get()).isEmpty()) {
      return done(CniReply.ok(""));
    }
    String id = NodePinned.entityId(node, pod.get().uid());
    CompletionStage<PodTunnel.State> state = tunnels.ask(id, PodTunnel.Get::new, askTimeout);
    return state.thenApplyAsync(s -> {
      if (!(s instanceof PodTunnel.Established e) || !e.tunnel().containerId().equals(call.containerId())) {
        return CniReply.error(CniReply.TUNNEL_FAILURE, "pod " + call.podNamespace() + "/" + call.podName()
            + " has no established egress tunnel", "state: " + s.getClass().getSimpleName());
      }
      Optional<String> device = datapath.tunnelDevice(call.netns());
      if (device.isEmpty() || !device.get().equals(e.tunnel().deviceName())) {
        return CniReply.error(CniReply.TUNNEL_FAILURE, "the pod's wg0 is missing or not ours",
            "expected device " + e.tunnel().deviceName() + ", found " + device.orElse("none"));
      }
      return CniReply.ok("");
    }, blocking);
  }

  private static CompletionStage<CniReply> done(CniReply reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
