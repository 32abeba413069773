package io.egressgateway.gateway.entity;

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
import io.egressgateway.core.gateway.GatewayNodeProtocol.PeersOfNode;
import io.egressgateway.core.gateway.GatewayNodeProtocol.RemovePeer;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.DatapathAction;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.gateway.model.PeerBook;
import io.egressgateway.gateway.model.PeerOwner;
import io.egressgateway.gateway.model.PeerSyncPlanner;
import io.egressgateway.gateway.model.Reconciliation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway datapath of one gateway node (entity id = node name, pinned to that node, role
 * {@code gateway}).
 *
 * <p>Owns: for every config of the replicated view that lists this node, the config's namespace, WireGuard
 * device, veth, routes and SNAT (through the {@link GatewayDatapath} port). Persists: the pod peers of each
 * config (public key, allowed IP and, where known, the worker node whose tunnel it is), never keys.
 * Observes: the config view and the worker nodes' lists of their live tunnels ({@link PeersOfNode}, kept in
 * {@link PeerDigests}), neither journaled, and the kernel state (each reconcile). Every trigger (view change,
 * lost device, periodic resync, recovery) leads to the same full diff, coalesced, one datapath operation at
 * a time; single peers are added in O(1) and {@link AddPeer} is answered only once the peer is programmed,
 * so a pod never sends into a gateway that does not know it yet. The workers' lists bring the journaled
 * peers back to the workers' live tunnels (an addition or removal this gateway missed); the periodic resync
 * brings the kernel back to the journal. Both count what they repaired.
 */
public final class GatewayNode
    extends EventSourcedBehaviorWithEnforcedReplies<Command, GatewayNode.Event, GatewayNode.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = GatewayNodeProtocol.ENTITY_KEY;

  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);
  private static final String COALESCE = "coalesce";
  private static final String RESYNC = "resync";
  private static final String HOLD = "hold";

  // ---------------------------------------------------------------- protocol
  // AddPeer, RemovePeer and PeersOfNode, which workers send, are in GatewayNodeProtocol (cluster-core).

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

  /** A full reconcile ({@link DatapathJobs}) finished: its outcome, or why it failed as a whole. */
  record Reconciled(Map<String, ConfigDatapath> desired, Reconciliation result, String failure) implements Command {}

  /** Queued single-peer operations ({@link DatapathJobs}) were applied; errors by {@code "uid key"}. */
  record PeersApplied(List<DatapathAction> ops, Map<String, String> errors) implements Command {}

  /** What {@link GetStatus} answers. */
  public record Status(String node, Map<String, ConfigStatus> configs) implements CborSerializable {}

  /** One config on this node: serving (datapath verified by the last reconcile), peers held, last error. */
  public record ConfigStatus(boolean serving, int peers, String error) implements CborSerializable {}

  public sealed interface Event extends CborSerializable {}

  /**
   * A pod peer held, on behalf of worker node {@code node} at {@code seq} of its peer sequence ({@link
   * PeerOwner}); {@code node} is empty when not known (a worker of the previous release, or an event written
   * before owners were).
   */
  public record PeerAdded(String configUid, String publicKey, String allowedIp, String node, long seq) implements Event {
    public PeerAdded {
      node = node == null ? "" : node;
    }

    public PeerAdded(String configUid, String publicKey, String allowedIp) {
      this(configUid, publicKey, allowedIp, "", 0);
    }

    PeerOwner owner() {
      return node.isEmpty() ? null : new PeerOwner(node, seq);
    }
  }

  /** A held peer turned out to be worker node {@code node}'s: its list at {@code seq} has it. */
  public record PeerClaimed(String configUid, String publicKey, String node, long seq) implements Event {}

  public record PeerRemoved(String configUid, String publicKey) implements Event {}

  /** The config no longer lists this node: its peers are forgotten. */
  public record ConfigReleased(String configUid) implements Event {}

  /**
   * The pod peers held, as a {@link PeerBook} (which holds the rules). {@code owners} is absent from
   * snapshots taken before it was: read as none.
   */
  public record State(Map<String, Map<String, String>> peers, Map<String, Map<String, PeerOwner>> owners)
      implements CborSerializable {
    public static final State EMPTY = new State(Map.of(), Map.of());

    public State {
      PeerBook b = new PeerBook(peers, owners);
      peers = b.peers();
      owners = b.owners();
    }

    private static State of(PeerBook b) {
      return new State(b.peers(), b.owners());
    }

    PeerBook book() {
      return new PeerBook(peers, owners);
    }

    public Map<String, String> peersOf(String uid) {
      return peers.getOrDefault(uid, Map.of());
    }

    public boolean has(String uid, String key, String ip) {
      return ip.equals(peersOf(uid).get(key));
    }

    State withPeer(String uid, String key, String ip, PeerOwner owner) {
      return of(book().withPeer(uid, key, ip, owner));
    }

    State withOwner(String uid, String key, PeerOwner owner) {
      return of(book().withOwner(uid, key, owner));
    }

    State withoutPeer(String uid, String key) {
      return of(book().withoutPeer(uid, key));
    }

    State without(String uid) {
      return of(book().without(uid));
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
  private final long startedAt = System.nanoTime();
  private final Consumer<Map<String, ConfigView>> viewListener;
  private Map<String, ConfigView> views = Map.of();
  private final DatapathJobs jobs;
  /** New peers waiting to be persisted together (while one write runs, the next ones queue up here). */
  private final List<AddPeer> incoming = new ArrayList<>();
  private boolean flushQueued;
  private final HeldPeers held;
  private final PeerDigests digests;
  private final PeerWaiters waiters = new PeerWaiters();
  private Set<String> serving = Set.of();
  private Map<String, String> errors = Map.of();

  private GatewayNode(ActorContext<Command> ctx, TimerScheduler<Command> timers, String node, Deps deps) {
    super(PersistenceId.of(ENTITY_KEY.name(), node));
    this.ctx = ctx;
    this.timers = timers;
    this.node = node;
    this.deps = deps;
    this.jobs = new DatapathJobs(ctx, deps, ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(GatewaySettings.DISPATCHER)));
    this.held = new HeldPeers(node, deps.settings().peerHold());
    this.digests = new PeerDigests(deps.settings().peerDigestExpiry(), deps.settings().peerHold(), System::nanoTime);
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
        .onCommand(PeersOfNode.class, this::onPeersOfNode)
        .onCommand(Resync.class, (s, c) -> onResync(s))
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
        .onEvent(PeerAdded.class, (s, e) -> s.withPeer(e.configUid(), e.publicKey(), e.allowedIp(), e.owner()))
        .onEvent(PeerClaimed.class, (s, e) -> s.withOwner(e.configUid(), e.publicKey(), new PeerOwner(e.node(), e.seq())))
        .onEvent(PeerRemoved.class, (s, e) -> s.withoutPeer(e.configUid(), e.publicKey()))
        .onEvent(ConfigReleased.class, (s, e) -> s.without(e.configUid()))
        .build();
  }

  // ---------------------------------------------------------------- handlers

  /**
   * Until this incarnation's first reconcile has put the journaled peers on the devices, the health probe
   * answers 503: the board may still hold what an earlier incarnation (a supervised restart) published.
   */
  private void onRecovered(State state) {
    log.info("[{}] recovered {} peers in {} configs; reconciling", node,
        state.peers().values().stream().mapToInt(Map::size).sum(), state.peers().size());
    deps.board().publish(Map.of(), Set.of());
    deps.views().subscribe(viewListener);
    timers.startTimerWithFixedDelay(RESYNC, new Resync(), deps.settings().resyncInterval());
    requestReconcile();
  }

  private ReplyEffect<Event, State> onAddPeer(State state, AddPeer c) {
    String problem = PeerRequests.invalidPeer(c.configUid(), c.publicKey(), c.allowedIp());
    problem = problem != null ? problem : digests.whyOutdated(c);
    problem = problem != null ? problem : ownedElsewhere(state, c.configUid(), c.publicKey(), c.node());
    if (problem != null) {
      log.warn("[{}] rejected peer {}: {}", node, c.publicKey(), problem);
      return Effect().reply(c.replyTo(), StatusReply.error(problem));
    }
    held.dropSuperseded(c);
    if (!desired(state).containsKey(c.configUid())) {
      if (held.hold(c) && !timers.isTimerActive(HOLD)) {
        timers.startSingleTimer(HOLD, new HoldElapsed(), deps.settings().peerHold());
      }
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
      if (waiters.applied(c.configUid(), c.publicKey())) {
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

  private ReplyEffect<Event, State> onHoldElapsed(State state, HoldElapsed e) {
    Duration next = held.expire();
    if (next != null) {
      timers.startSingleTimer(HOLD, new HoldElapsed(), next);
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onFlushPeers(State state, FlushPeers f) {
    flushQueued = false;
    List<AddPeer> batch = new ArrayList<>(incoming);
    incoming.clear();
    // a list of the node's tunnels that came in meanwhile may already say the tunnel is gone
    batch.removeIf(c -> refuseIf(digests.whyOutdated(c) != null, c, () -> digests.whyOutdated(c)));
    List<Event> events = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (AddPeer c : batch) {
      if (!state.has(c.configUid(), c.publicKey(), c.allowedIp()) && seen.add(c.configUid() + " " + c.publicKey() + " " + c.allowedIp())) {
        events.add(new PeerAdded(c.configUid(), c.publicKey(), c.allowedIp(), c.node(), c.seq()));
      }
    }
    if (events.isEmpty()) {
      return Effect().none().thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
    }
    return Effect().persist(events).thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
  }

  /**
   * A worker adds or removes only its own node's peers (the node it names is checked against its certificate
   * on receipt); null if {@code requester} may, else why not. Requests naming no node are the previous release's.
   */
  private static String ownedElsewhere(State state, String uid, String key, String requester) {
    PeerOwner owner = state.owners().getOrDefault(uid, Map.of()).get(key);
    if (requester.isEmpty() || owner == null || owner.node().isEmpty() || owner.node().equals(requester)) {
      return null;
    }
    return "peer " + key + " belongs to another node";
  }

  private ReplyEffect<Event, State> onRemovePeer(State state, RemovePeer c) {
    String foreign = ownedElsewhere(state, c.configUid(), c.publicKey(), c.node());
    if (foreign != null) {
      log.warn("[{}] refused node {}'s removal: {}", node, c.node(), foreign);
      return Effect().reply(c.replyTo(), StatusReply.error(foreign));
    }
    // an addition of the same peer still waiting for its journal write or for the device must not land
    // after this removal, and its asker gets an answer
    String overtaken = "peer " + c.publicKey() + " was removed before it was programmed";
    Predicate<AddPeer> same = a -> a.configUid().equals(c.configUid()) && a.publicKey().equals(c.publicKey());
    held.refuseAll(same, a -> overtaken);
    incoming.removeIf(a -> refuseIf(same.test(a), a, () -> overtaken));
    waiters.refuse(c.configUid(), c.publicKey(), overtaken);
    digests.removed(c.configUid(), c.publicKey());
    if (!state.peersOf(c.configUid()).containsKey(c.publicKey())) {
      return Effect().reply(c.replyTo(), StatusReply.ack());
    }
    return Effect().persist(new PeerRemoved(c.configUid(), c.publicKey()))
        .thenRun(s -> queuePeerOp(new DatapathAction.RemovePeer(c.configUid(), c.publicKey()), s))
        .thenReply(c.replyTo(), s -> StatusReply.ack());
  }

  /** A worker node's list of its live tunnels: kept, and followed at once for a config this node serves. */
  private ReplyEffect<Event, State> onPeersOfNode(State state, PeersOfNode m) {
    String problem = PeerRequests.invalidDigest(m);
    if (problem != null) {
      log.warn("[{}] ignored the peers of node {} for config {}: {}", node, m.node(), m.configUid(), problem);
      return Effect().noReply();
    }
    if (!digests.offer(m)) {
      log.debug("[{}] peers of node {} for config {} at {}: not newer than the last", node, m.node(), m.configUid(), m.seq());
      return Effect().noReply();
    }
    if (!desired(state).containsKey(m.configUid())) {
      return Effect().noReply(); // followed once the config is served here (onViewChanged)
    }
    return persistRepairs(state, Map.of(m.configUid(), digests.plan(m.configUid(), m.node(), state)), "the peers of node " + m.node());
  }

  /** The periodic resync: the kernel against the journal, and peers of worker nodes silent for too long. */
  private ReplyEffect<Event, State> onResync(State state) {
    requestReconcile();
    Set<String> wanted = desired(state).keySet();
    digests.prune(wanted);
    Map<String, List<PeerSyncPlanner.Change>> changes = new TreeMap<>();
    wanted.forEach(uid -> changes.put(uid, digests.planSilent(state.book().heldOf(uid))));
    return persistRepairs(state, changes, "silent worker nodes");
  }

  private ReplyEffect<Event, State> onViewChanged(State state, ViewChanged c) {
    views = c.views();
    held.release(desired(state).keySet()).forEach(r -> admit(state, r));
    requestReconcile();
    // lists that came in before this node served their config are followed now (again: idempotent)
    Map<String, List<PeerSyncPlanner.Change>> changes = new TreeMap<>();
    desired(state).keySet().forEach(uid -> changes.put(uid, digests.planAll(uid, state)));
    return persistRepairs(state, changes, "the worker nodes' lists");
  }

  /**
   * Journals what the workers' lists call for (in one write), then puts it on the devices (O(changes)),
   * counts it ({@code source=digest}) and logs it.
   */
  private ReplyEffect<Event, State> persistRepairs(State state, Map<String, List<PeerSyncPlanner.Change>> changes, String why) {
    List<Event> events = new ArrayList<>();
    changes.forEach((uid, list) -> list.forEach(ch -> events.add(eventOf(uid, ch))));
    if (events.isEmpty()) {
      return Effect().noReply();
    }
    return Effect().persist(events).thenRun(s -> afterRepairs(s, changes, why)).thenNoReply();
  }

  private void afterRepairs(State state, Map<String, List<PeerSyncPlanner.Change>> changes, String why) {
    changes.forEach((uid, list) -> {
      PeerSyncPlanner.Counts n = PeerSyncPlanner.count(list);
      if (n.added() + n.removed() > 0) {
        log.info("[{}] config {}: {} added {} and removed {} peer(s) ({} claimed)", node, uid, why, n.added(), n.removed(), n.claimed());
        countRepairs(uid, "digest", n.added(), n.removed());
      }
      for (PeerSyncPlanner.Change ch : list) {
        log.debug("[{}] config {}: {}", node, uid, ch);
        if (ch instanceof PeerSyncPlanner.Remove r) {
          waiters.refuse(uid, r.publicKey(), "peer " + r.publicKey() + " was removed: " + r.why());
          queuePeerOp(new DatapathAction.RemovePeer(uid, r.publicKey()), state);
        } else if (ch instanceof PeerSyncPlanner.Add a) {
          waiters.unprogrammed(uid, a.publicKey());
          queuePeerOp(new DatapathAction.AddPeer(uid, a.publicKey(), a.allowedIp()), state);
        }
      }
    });
  }

  private static Event eventOf(String uid, PeerSyncPlanner.Change ch) {
    if (ch instanceof PeerSyncPlanner.Add a) {
      return new PeerAdded(uid, a.publicKey(), a.allowedIp(), a.owner().node(), a.owner().seq());
    } else if (ch instanceof PeerSyncPlanner.Claim c) {
      return new PeerClaimed(uid, c.publicKey(), c.owner().node(), c.owner().seq());
    }
    return new PeerRemoved(uid, ch.publicKey());
  }

  private ReplyEffect<Event, State> onTrigger(String why) {
    log.debug("[{}] reconcile requested: {}", node, why);
    requestReconcile();
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onCoalesceElapsed(State state) {
    jobs.wantReconcile();
    kick(state);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onReconciled(State state, Reconciled r) {
    jobs.done();
    if (r.failure() != null) {
      log.warn("[{}] reconcile failed: {}", node, r.failure());
      countReconcile("error");
      errors = Map.of("*", r.failure());
      scheduleRetry();
      kick(state);
      return Effect().noReply();
    }
    Reconciliation result = r.result();
    Set<String> servedBefore = serving;
    serving = result.serving();
    errors = result.errors();
    countReconcile(errors.isEmpty() ? "ok" : "error");
    deps.board().publish(r.desired(), serving);
    if (!result.actions().isEmpty()) {
      log.info("[{}] reconciled: {} action(s), {} bulk load(s), serving {}", node, result.actions().size(),
          result.bulkLoads(), serving);
    }
    errors.forEach((uid, e) -> log.warn("[{}] config {}: {}", node, uid, e));
    result.drift().forEach((uid, d) -> {
      if (servedBefore.contains(uid) && serving.contains(uid)) {
        log.info("[{}] config {}: its device had drifted from the journal ({} peer(s) missing, {} not ours); repaired",
            node, uid, d.missing(), d.unwanted());
        countRepairs(uid, "kernel", d.missing(), d.unwanted());
      }
    });
    for (String uid : serving) {
      r.desired().get(uid).peers().keySet().forEach(key -> waiters.programmed(uid, key));
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
    return Effect().persist(releases).thenRun(this::kick).thenNoReply();
  }

  private ReplyEffect<Event, State> onPeersApplied(State state, PeersApplied r) {
    jobs.done();
    for (DatapathAction op : r.ops()) {
      String error = r.errors().get(op.uid() + " " + Reconciliation.peerKey(op));
      if (error != null) {
        log.warn("[{}] {}; a full reconcile follows", node, error);
        jobs.wantReconcile();
      } else if (op instanceof DatapathAction.AddPeer add && state.has(add.uid(), add.publicKey(), add.allowedIp())) {
        log.info("[{}] peer {} {} added to config {}", node, add.publicKey(), add.allowedIp(), add.uid());
        waiters.programmed(add.uid(), add.publicKey());
      } else if (op instanceof DatapathAction.RemovePeer) {
        log.info("[{}] peer {} removed from config {}", node, Reconciliation.peerKey(op), op.uid());
        waiters.unprogrammed(op.uid(), Reconciliation.peerKey(op));
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
    waiters.await(c.configUid(), c.publicKey(), c.replyTo());
    queuePeerOp(new DatapathAction.AddPeer(c.configUid(), c.publicKey(), c.allowedIp()), state);
  }

  private void queuePeerOp(DatapathAction op, State state) {
    jobs.queue(op);
    kick(state);
  }

  private void kick(State state) {
    jobs.kick(serving, () -> desired(state), collecting());
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

  /** Reconcile passes, for the management port's /metrics (labels: entity type and outcome only). */
  private void countReconcile(String result) {
    Metrics.get(ctx.getSystem())
        .counter("egress_reconciles_total", "reconcile passes by entity type and outcome", "entity", "result")
        .inc(ENTITY_KEY.name(), result);
  }

  /**
   * Peers put back or taken away because the kernel had drifted from the journal ({@code source=kernel}) or
   * the journal from the workers' live tunnels ({@code source=digest}).
   */
  private void countRepairs(String uid, String source, int added, int removed) {
    Metrics.Counter c = Metrics.get(ctx.getSystem()).counter("egress_gateway_peers_repaired_total",
        "pod peers a gateway added or removed to repair drift, by config, kind (added, removed) and what had drifted"
            + " (kernel: the device from the journal; digest: the journal from the workers' live tunnels)",
        "config", "kind", "source");
    if (added > 0) {
      c.add(added, uid, "added", source);
    }
    if (removed > 0) {
      c.add(removed, uid, "removed", source);
    }
  }
}
