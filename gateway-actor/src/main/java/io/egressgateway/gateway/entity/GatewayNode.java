package io.egressgateway.gateway.entity;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import akka.persistence.typed.javadsl.SignalHandler;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.gateway.GatewayNodeProtocol.AddPeer;
import io.egressgateway.core.gateway.GatewayNodeProtocol.Command;
import io.egressgateway.core.gateway.GatewayNodeProtocol.RemovePeer;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.DatapathAction;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.gateway.model.Reconciliation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway datapath of one gateway node (entity id = node name, pinned to that node, role
 * {@code gateway}).
 *
 * <p>Owns: for every config of the replicated view that lists this node, the config's namespace, WireGuard
 * device, veth, routes and SNAT (through the {@link GatewayDatapath} port). Persists: the pod peers of each
 * config (public key and allowed IP), never keys. Observes: the config view (not journaled) and the kernel
 * state (each reconcile). Every trigger (view change, lost device, periodic resync, recovery) leads to the
 * same full diff, coalesced, one datapath operation at a time; single peers are added in O(1) and
 * {@link AddPeer} is answered only once the peer is programmed, so a pod never sends into a gateway that
 * does not know it yet.
 */
public final class GatewayNode
    extends EventSourcedBehaviorWithEnforcedReplies<Command, GatewayNode.Event, GatewayNode.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = GatewayNodeProtocol.ENTITY_KEY;

  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);
  private static final Pattern HOST_CIDR = Pattern.compile("(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}/32");
  private static final String COALESCE = "coalesce";
  private static final String RESYNC = "resync";
  private static final String HOLD = "hold";
  /** At most this many peers wait for their configs at once; more are refused at once (memory bound). */
  static final int MAX_HELD = 10_000;

  // ---------------------------------------------------------------- protocol
  // AddPeer and RemovePeer, which workers send, are in GatewayNodeProtocol (cluster-core); the rest is ours.

  /** Run a full reconcile now (also sent by the periodic timer). */
  public record Resync() implements Command {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /**
   * Does nothing; its delivery starts the entity (sharding starts entities on their first message) and keeps
   * it from being passivated, so it keeps watching its datapath.
   */
  public record WakeUp() implements Command {}

  /** The replicated config view changed. */
  public record ViewChanged(Map<String, ConfigView> views) implements Command {}

  /** A WireGuard device died without being deleted (wireguard-go process exit). */
  public record DeviceLost(String device) implements Command {}

  private record CoalesceElapsed() implements Command {}

  /** Persists the peers that arrived since the last flush, in one journal write. */
  private record FlushPeers() implements Command {}

  /** The oldest held peer has waited {@code peer-hold}: refuse what waited that long, look again later. */
  private record HoldElapsed() implements Command {}

  private record Reconciled(Map<String, ConfigDatapath> desired, Reconciliation result, String failure) implements Command {}

  private record PeersApplied(List<DatapathAction> ops, Map<String, String> errors) implements Command {}

  /** What {@link GetStatus} answers. */
  public record Status(String node, Map<String, ConfigStatus> configs) implements CborSerializable {}

  /** One config on this node: serving (datapath verified by the last reconcile), peers held, last error. */
  public record ConfigStatus(boolean serving, int peers, String error) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  public record PeerAdded(String configUid, String publicKey, String allowedIp) implements Event {}

  public record PeerRemoved(String configUid, String publicKey) implements Event {}

  /** The config no longer lists this node: its peers are forgotten. */
  public record ConfigReleased(String configUid) implements Event {}

  /** Pod peers per config uid: public key to allowed IP. */
  public record State(Map<String, Map<String, String>> peers) implements CborSerializable {
    public static final State EMPTY = new State(Map.of());

    public State {
      Map<String, Map<String, String>> copy = new HashMap<>();
      peers.forEach((uid, m) -> copy.put(uid, Map.copyOf(m)));
      peers = Map.copyOf(copy);
    }

    public Map<String, String> peersOf(String uid) {
      return peers.getOrDefault(uid, Map.of());
    }

    public boolean has(String uid, String key, String ip) {
      return ip.equals(peersOf(uid).get(key));
    }

    /**
     * Adds or moves a peer. A pod IP belongs to one sandbox at a time, and WireGuard routes an allowed IP to
     * one peer only: an older key holding {@code ip} (a sandbox whose removal never reached this gateway) is
     * dropped, so a later full load of the device cannot hand the address back to it.
     */
    State withPeer(String uid, String key, String ip) {
      Map<String, String> m = new HashMap<>(peersOf(uid));
      m.values().removeIf(ip::equals);
      m.put(key, ip);
      Map<String, Map<String, String>> all = new HashMap<>(peers);
      all.put(uid, m);
      return new State(all);
    }

    State withoutPeer(String uid, String key) {
      Map<String, String> m = new HashMap<>(peersOf(uid));
      m.remove(key);
      Map<String, Map<String, String>> all = new HashMap<>(peers);
      if (m.isEmpty()) {
        all.remove(uid);
      } else {
        all.put(uid, m);
      }
      return new State(all);
    }

    State without(String uid) {
      Map<String, Map<String, String>> all = new HashMap<>(peers);
      all.remove(uid);
      return new State(all);
    }
  }

  /** What a GatewayNode needs from its member. */
  public record Deps(GatewaySettings settings, GatewayDatapath datapath, GatewayKeys keys, ConfigSource views,
      Consumer<Consumer<String>> deviceLostHook, HealthBoard board) {}

  // ---------------------------------------------------------------- face

  public static ActorRef<ShardingEnvelope<Command>> init(ActorSystem<?> system, Deps deps) {
    return NodePinned.init(system, ENTITY_KEY, Roles.GATEWAY, ctx -> create(ctx.getEntityId(), deps));
  }

  public static Behavior<Command> create(String node, Deps deps) {
    return Behaviors.<Command>supervise(
            Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new GatewayNode(ctx, timers, node, deps))))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
  }

  // ---------------------------------------------------------------- runtime (observations, never journaled)

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final String node;
  private final Deps deps;
  private final Executor blocking;
  private final long startedAt = System.nanoTime();
  private final Consumer<Map<String, ConfigView>> viewListener;
  private Map<String, ConfigView> views = Map.of();
  private boolean busy;
  private boolean reconcileWanted;
  private final List<DatapathAction> pendingPeerOps = new ArrayList<>();
  /** New peers waiting to be persisted together (while one write runs, the next ones queue up here). */
  private final List<AddPeer> incoming = new ArrayList<>();
  private boolean flushQueued;
  /**
   * Peers for configs this node does not serve yet, in arrival order: the worker that sent them already sees
   * the config in its copy of the view, this node's copy (or the config's Azure addresses) will follow.
   */
  private final List<Held> held = new ArrayList<>();
  private final Map<String, List<ActorRef<StatusReply<Done>>>> waiters = new HashMap<>();
  private final Set<String> appliedPeers = new HashSet<>();
  private Set<String> serving = Set.of();
  private Map<String, String> errors = Map.of();

  private GatewayNode(ActorContext<Command> ctx, TimerScheduler<Command> timers, String node, Deps deps) {
    super(PersistenceId.of(ENTITY_KEY.name(), node));
    this.ctx = ctx;
    this.timers = timers;
    this.node = node;
    this.deps = deps;
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(GatewaySettings.DISPATCHER));
    ActorRef<Command> self = ctx.getSelf();
    this.viewListener = v -> self.tell(new ViewChanged(v));
    deps.deviceLostHook().accept(name -> self.tell(new DeviceLost(name)));
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  /**
   * A snapshot every {@code snapshot-every} events, and the events before it are deleted: a gateway sees a
   * peer event for every pod ADD and DEL of its pool, so without deletion its journal would only grow.
   */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(deps.settings().snapshotEvery(), 1).withDeleteEventsOnSnapshot();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .onSignal(akka.actor.typed.PostStop.instance(), state -> deps.views().unsubscribe(viewListener))
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(AddPeer.class, this::onAddPeer)
        .onCommand(FlushPeers.class, this::onFlushPeers)
        .onCommand(HoldElapsed.class, this::onHoldElapsed)
        .onCommand(RemovePeer.class, this::onRemovePeer)
        .onCommand(Resync.class, (s, c) -> onTrigger("resync"))
        .onCommand(ViewChanged.class, this::onViewChanged)
        .onCommand(DeviceLost.class, (s, c) -> onTrigger("device " + c.device() + " lost"))
        .onCommand(CoalesceElapsed.class, (s, c) -> onCoalesceElapsed(s))
        .onCommand(Reconciled.class, this::onReconciled)
        .onCommand(PeersApplied.class, this::onPeersApplied)
        .onCommand(GetStatus.class, this::onGetStatus)
        .onCommand(WakeUp.class, (s, c) -> Effect().noReply())
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(PeerAdded.class, (s, e) -> s.withPeer(e.configUid(), e.publicKey(), e.allowedIp()))
        .onEvent(PeerRemoved.class, (s, e) -> s.withoutPeer(e.configUid(), e.publicKey()))
        .onEvent(ConfigReleased.class, (s, e) -> s.without(e.configUid()))
        .build();
  }

  // ---------------------------------------------------------------- handlers

  private void onRecovered(State state) {
    log.info("[{}] recovered {} peers in {} configs; reconciling", node,
        state.peers().values().stream().mapToInt(Map::size).sum(), state.peers().size());
    deps.views().subscribe(viewListener);
    timers.startTimerWithFixedDelay(RESYNC, new Resync(), deps.settings().resyncInterval());
    requestReconcile();
  }

  private ReplyEffect<Event, State> onAddPeer(State state, AddPeer c) {
    String problem = invalidPeer(c.configUid(), c.publicKey(), c.allowedIp());
    if (problem != null) {
      log.warn("[{}] rejected peer {}: {}", node, c.publicKey(), problem);
      return Effect().reply(c.replyTo(), StatusReply.error(problem));
    }
    dropSuperseded(c);
    if (!desired(state).containsKey(c.configUid())) {
      if (held.size() >= MAX_HELD) {
        String busy = "config " + c.configUid() + " is not served by gateway node " + node + " yet, and "
            + MAX_HELD + " peers already wait for their configs here";
        log.warn("[{}] rejected peer {}: {}", node, c.publicKey(), busy);
        return Effect().reply(c.replyTo(), StatusReply.error(busy));
      }
      hold(c);
      return Effect().noReply();
    }
    admit(state, c);
    return Effect().noReply();
  }

  /**
   * A valid peer of a config this node serves: answered at once if programmed; else programmed (and first
   * journaled, with whatever else arrives meanwhile: a burst of pods costs one journal write, not one each).
   */
  private void admit(State state, AddPeer c) {
    if (state.has(c.configUid(), c.publicKey(), c.allowedIp())) {
      if (appliedPeers.contains(peerId(c.configUid(), c.publicKey()))) {
        c.replyTo().tell(StatusReply.ack());
      } else {
        awaitPeer(c, state);
      }
      return;
    }
    incoming.add(c);
    if (!flushQueued) {
      flushQueued = true;
      ctx.getSelf().tell(new FlushPeers());
    }
  }

  /**
   * Holds a peer whose config this node does not serve yet. The worker's copy of the replicated view can be
   * ahead of this node's (the config was just created, or this node just joined its pool), and a refusal
   * would leave this gateway without the pod for good while the load balancer may send the pod's flow here.
   */
  private void hold(AddPeer c) {
    held.add(new Held(c, System.nanoTime()));
    log.info("[{}] holding peer {} until config {} is served here (up to {})", node, c.publicKey(), c.configUid(),
        deps.settings().peerHold());
    if (!timers.isTimerActive(HOLD)) {
      timers.startSingleTimer(HOLD, new HoldElapsed(), deps.settings().peerHold());
    }
  }

  /**
   * A newer request for the same pod IP of a config replaces a held one: the held key belongs to a sandbox
   * that is gone, and admitting it later would take the IP away from the newer peer.
   */
  private void dropSuperseded(AddPeer c) {
    held.removeIf(h -> {
      AddPeer old = h.request();
      return refuseIf(old.configUid().equals(c.configUid()) && old.allowedIp().equals(c.allowedIp())
          && !old.publicKey().equals(c.publicKey()), old, () -> "peer " + old.publicKey() + " was superseded by "
          + c.publicKey() + " for " + c.allowedIp() + " before config " + c.configUid() + " was served here");
    });
  }

  /** Admits the held peers whose config is now served here, in arrival order (all in one journal write). */
  private void admitHeld(State state) {
    if (held.isEmpty()) {
      return;
    }
    Set<String> served = desired(state).keySet();
    List<Held> ready = held.stream().filter(h -> served.contains(h.request().configUid())).toList();
    if (ready.isEmpty()) {
      return;
    }
    held.removeAll(ready);
    log.info("[{}] config(s) {} now served here: programming {} held peer(s)", node,
        ready.stream().map(h -> h.request().configUid()).distinct().toList(), ready.size());
    ready.forEach(h -> admit(state, h.request()));
  }

  private ReplyEffect<Event, State> onHoldElapsed(State state, HoldElapsed e) {
    long now = System.nanoTime();
    long limit = deps.settings().peerHold().toNanos();
    held.removeIf(h -> {
      boolean expired = now - h.since() >= limit;
      if (expired) {
        String problem = "config " + h.request().configUid() + " is not served by gateway node " + node
            + " (waited " + deps.settings().peerHold().toMillis() + " ms for it)";
        log.warn("[{}] rejected peer {}: {}", node, h.request().publicKey(), problem);
        h.request().replyTo().tell(StatusReply.error(problem));
      }
      return expired;
    });
    if (!held.isEmpty()) {
      long next = Math.max(1, limit - (now - held.get(0).since()));
      timers.startSingleTimer(HOLD, new HoldElapsed(), Duration.ofNanos(next));
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onFlushPeers(State state, FlushPeers f) {
    flushQueued = false;
    List<AddPeer> batch = List.copyOf(incoming);
    incoming.clear();
    List<Event> events = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (AddPeer c : batch) {
      if (!state.has(c.configUid(), c.publicKey(), c.allowedIp()) && seen.add(peerId(c.configUid(), c.publicKey()) + " " + c.allowedIp())) {
        events.add(new PeerAdded(c.configUid(), c.publicKey(), c.allowedIp()));
      }
    }
    if (events.isEmpty()) {
      return Effect().none().thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
    }
    return Effect().persist(events).thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
  }

  private ReplyEffect<Event, State> onRemovePeer(State state, RemovePeer c) {
    // an addition of the same peer still waiting for its journal write or for the device must not land
    // after this removal, and its asker gets an answer
    String overtaken = "peer " + c.publicKey() + " was removed before it was programmed";
    java.util.function.Predicate<AddPeer> same = a -> a.configUid().equals(c.configUid()) && a.publicKey().equals(c.publicKey());
    held.removeIf(h -> refuseIf(same.test(h.request()), h.request(), () -> overtaken));
    incoming.removeIf(a -> refuseIf(same.test(a), a, () -> overtaken));
    List<ActorRef<StatusReply<Done>>> waiting = waiters.remove(peerId(c.configUid(), c.publicKey()));
    if (waiting != null) {
      waiting.forEach(r -> r.tell(StatusReply.error(overtaken)));
    }
    if (!state.peersOf(c.configUid()).containsKey(c.publicKey())) {
      return Effect().reply(c.replyTo(), StatusReply.ack());
    }
    return Effect().persist(new PeerRemoved(c.configUid(), c.publicKey()))
        .thenRun(s -> queuePeerOp(new DatapathAction.RemovePeer(c.configUid(), c.publicKey()), s))
        .thenReply(c.replyTo(), s -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onViewChanged(State state, ViewChanged c) {
    views = c.views();
    admitHeld(state);
    return onTrigger("view changed");
  }

  private ReplyEffect<Event, State> onTrigger(String why) {
    log.debug("[{}] reconcile requested: {}", node, why);
    requestReconcile();
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onCoalesceElapsed(State state) {
    reconcileWanted = true;
    kick(state);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onReconciled(State state, Reconciled r) {
    busy = false;
    if (r.failure() != null) {
      log.warn("[{}] reconcile failed: {}", node, r.failure());
      countReconcile("error");
      errors = Map.of("*", r.failure());
      scheduleRetry();
      kick(state);
      return Effect().noReply();
    }
    Reconciliation result = r.result();
    serving = result.serving();
    errors = result.errors();
    countReconcile(errors.isEmpty() ? "ok" : "error");
    deps.board().publish(r.desired(), serving);
    if (!result.actions().isEmpty()) {
      log.info("[{}] reconciled: {} action(s), {} bulk load(s), serving {}", node, result.actions().size(),
          result.bulkLoads(), serving);
    }
    errors.forEach((uid, e) -> log.warn("[{}] config {}: {}", node, uid, e));
    for (String uid : serving) {
      r.desired().get(uid).peers().keySet().forEach(key -> peerApplied(uid, key));
    }
    if (!errors.isEmpty()) {
      scheduleRetry();
    }
    List<Event> releases = new ArrayList<>();
    if (collecting()) {
      state.peers().keySet().stream().filter(uid -> !r.desired().containsKey(uid)).sorted()
          .forEach(uid -> releases.add(new ConfigReleased(uid)));
    }
    if (releases.isEmpty()) {
      kick(state);
      return Effect().noReply();
    }
    log.info("[{}] releasing peers of configs no longer on this node: {}", node, releases);
    return Effect().persist(releases).thenRun(this::afterRelease).thenNoReply();
  }

  private ReplyEffect<Event, State> onPeersApplied(State state, PeersApplied r) {
    busy = false;
    for (DatapathAction op : r.ops()) {
      String k = peerId(op.uid(), Reconciliation.peerKey(op));
      String error = r.errors().get(op.uid() + " " + Reconciliation.peerKey(op));
      if (error != null) {
        log.warn("[{}] {}; a full reconcile follows", node, error);
        reconcileWanted = true;
      } else if (op instanceof DatapathAction.AddPeer add && state.has(add.uid(), add.publicKey(), add.allowedIp())) {
        log.info("[{}] peer {} {} added to config {}", node, add.publicKey(), add.allowedIp(), add.uid());
        peerApplied(add.uid(), add.publicKey());
      } else if (op instanceof DatapathAction.RemovePeer) {
        log.info("[{}] peer {} removed from config {}", node, Reconciliation.peerKey(op), op.uid());
        appliedPeers.remove(k);
      }
    }
    kick(state);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onGetStatus(State state, GetStatus c) {
    Map<String, ConfigStatus> out = new HashMap<>();
    desired(state).keySet().forEach(uid -> out.put(uid,
        new ConfigStatus(serving.contains(uid), state.peersOf(uid).size(), errors.getOrDefault(uid, ""))));
    return Effect().reply(c.replyTo(), new Status(node, out));
  }

  // ---------------------------------------------------------------- datapath work, one at a time

  private void awaitPeer(AddPeer c, State state) {
    waiters.computeIfAbsent(peerId(c.configUid(), c.publicKey()), k -> new ArrayList<>()).add(c.replyTo());
    appliedPeers.remove(peerId(c.configUid(), c.publicKey()));
    queuePeerOp(new DatapathAction.AddPeer(c.configUid(), c.publicKey(), c.allowedIp()), state);
  }

  private void queuePeerOp(DatapathAction op, State state) {
    pendingPeerOps.add(op);
    kick(state);
  }

  private void afterRelease(State state) {
    kick(state);
  }

  private void requestReconcile() {
    if (!timers.isTimerActive(COALESCE)) {
      timers.startSingleTimer(COALESCE, new CoalesceElapsed(), deps.settings().coalesce());
    }
  }

  private void scheduleRetry() {
    if (!timers.isTimerActive(COALESCE)) {
      timers.startSingleTimer(COALESCE, new CoalesceElapsed(), deps.settings().retryInterval());
    }
  }

  /** Starts the next datapath job if none runs: queued single-peer operations first, then a full reconcile. */
  private void kick(State state) {
    if (busy) {
      return;
    }
    // a config not serving yet (its device is still to be made) gets its peers with the reconcile that makes it
    if (pendingPeerOps.removeIf(op -> !serving.contains(op.uid()))) {
      reconcileWanted = true;
    }
    if (!pendingPeerOps.isEmpty()) {
      List<DatapathAction> ops = List.copyOf(pendingPeerOps);
      pendingPeerOps.clear();
      busy = true;
      GatewayDatapath dp = deps.datapath();
      ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> Reconciliation.applyPeers(dp, ops), blocking),
          (errs, ex) -> new PeersApplied(ops, ex != null ? failAll(ops, ex) : errs));
    } else if (reconcileWanted) {
      reconcileWanted = false;
      busy = true;
      Map<String, ConfigDatapath> want = desired(state);
      boolean collect = collecting();
      GatewaySettings s = deps.settings();
      ctx.pipeToSelf(CompletableFuture.supplyAsync(
              () -> Reconciliation.run(deps.datapath(), deps.keys(), want, s.bulkThreshold(), collect), blocking),
          (res, ex) -> new Reconciled(want, res, ex == null ? null : String.valueOf(ex.getMessage())));
    }
  }

  private Map<String, ConfigDatapath> desired(State state) {
    Map<String, ConfigDatapath> out = new HashMap<>();
    for (ConfigView v : views.values()) {
      v.gatewayOn(node).ifPresent(a -> {
        if (v.port() <= 0 || !a.complete()) {
          log.debug("[{}] config {} not yet complete for this node (port {}, addresses {})", node, v.key(), v.port(), a);
          return;
        }
        out.put(v.uid(), new ConfigDatapath(v.uid(), v.port(), a.primaryIp(), a.secondaryIp(), v.ilbIp(), v.gatewayPublicKey(),
            v.keySecretName(), state.peersOf(v.uid())));
      });
    }
    return out;
  }

  private boolean collecting() {
    return Duration.ofNanos(System.nanoTime() - startedAt).compareTo(deps.settings().viewGrace()) >= 0;
  }

  private void peerApplied(String uid, String key) {
    String k = peerId(uid, key);
    appliedPeers.add(k);
    List<ActorRef<StatusReply<Done>>> w = waiters.remove(k);
    if (w != null) {
      w.forEach(r -> r.tell(StatusReply.ack()));
    }
  }

  private static Map<String, String> failAll(List<DatapathAction> ops, Throwable ex) {
    Map<String, String> out = new HashMap<>();
    ops.forEach(op -> out.put(op.uid() + " " + Reconciliation.peerKey(op), String.valueOf(ex.getMessage())));
    return out;
  }

  /**
   * Answers a waiting {@code request} with an error when {@code refuse}, for dropping it from its list with
   * {@code removeIf}; returns {@code refuse}.
   */
  private static boolean refuseIf(boolean refuse, AddPeer request, java.util.function.Supplier<String> why) {
    if (refuse) {
      request.replyTo().tell(StatusReply.error(why.get()));
    }
    return refuse;
  }

  /** A peer waiting for its config to be served here, and since when ({@link System#nanoTime}). */
  private record Held(AddPeer request, long since) {}

  private static String peerId(String uid, String key) {
    return uid + " " + key;
  }

  private static String invalidPeer(String uid, String key, String ip) {
    if (uid == null || !uid.matches("[a-z0-9-]{1,63}")) {
      return "not a config uid: '" + uid + "'";
    }
    if (!WgKeys.isValid(key)) {
      return "not a WireGuard public key (base64 of 32 bytes): '" + key + "'";
    }
    if (ip == null || !HOST_CIDR.matcher(ip).matches()) {
      return "allowed IP must be one IPv4 address as a.b.c.d/32, not '" + ip + "'";
    }
    return null;
  }

  /** Reconcile passes, for the management port's /metrics (labels: entity type and outcome only). */
  private void countReconcile(String result) {
    io.egressgateway.core.metrics.Metrics.get(ctx.getSystem())
        .counter("egress_reconciles_total", "reconcile passes by entity type and outcome", "entity", "result")
        .inc(ENTITY_KEY.name(), result);
  }
}
