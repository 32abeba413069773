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
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
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
 * brings the kernel back to the journal. Both count what they repaired. The peer intake is {@link
 * PeerAdmission}, the datapath work {@link DatapathJobs}, the repairs {@link DigestRepairs}.
 */
public final class GatewayNode
    extends EventSourcedBehaviorWithEnforcedReplies<Command, GatewayNode.Event, GatewayNode.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = GatewayNodeProtocol.ENTITY_KEY;

  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);
  private static final String RESYNC = "resync";

  // ---------------------------------------------------------------- protocol
  // AddPeer, RemovePeer and PeersOfNode, which workers send, are in GatewayNodeProtocol (cluster-core).

  /** Run a full reconcile now (also sent by the periodic timer). */
  public record Resync() implements Command {}

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /** Which worker node owns each pod peer held, per config ({@link Owners}); asked by the gateway's own drain. */
  public record GetOwners(ActorRef<Owners> replyTo) implements Command {}

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
  record FlushPeers() implements Command {}

  /** The oldest held peer has waited {@code peer-hold}: refuse what waited that long, look again later. */
  record HoldElapsed() implements Command {}

  /** A full reconcile ({@link DatapathJobs}) finished: its outcome, or why it failed as a whole. */
  record Reconciled(Map<String, ConfigDatapath> desired, Reconciliation result, String failure) implements Command {}

  /** Queued single-peer operations ({@link DatapathJobs}) were applied; errors by {@code "uid key"}. */
  record PeersApplied(List<DatapathAction> ops, Map<String, String> errors) implements Command {}

  /** What {@link GetOwners} answers: config uid to pod public key to the worker node whose tunnel it is. */
  public record Owners(Map<String, Map<String, String>> byConfig) implements CborSerializable {}

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
  private final ServedConfigs configs;
  private final PeerWaiters waiters = new PeerWaiters();
  private final DatapathJobs jobs;
  private final PeerDigests digests;
  private final PeerAdmission admission;
  private final DigestRepairs repairs;

  private GatewayNode(ActorContext<Command> ctx, TimerScheduler<Command> timers, String node, Deps deps) {
    super(PersistenceId.of(ENTITY_KEY.name(), node));
    this.ctx = ctx;
    this.timers = timers;
    this.node = node;
    this.deps = deps;
    this.jobs = new DatapathJobs(ctx, timers, new CoalesceElapsed(), node, deps,
        ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(GatewaySettings.DISPATCHER)), waiters);
    this.repairs = new DigestRepairs(node, ctx.getSystem(), waiters);
    this.digests = new PeerDigests(deps.settings().peerDigestExpiry(), deps.settings().peerHold(), System::nanoTime);
    ActorRef<Command> self = ctx.getSelf();
    this.admission = new PeerAdmission(node, self, timers, deps.settings().peerHold(), waiters, digests, this::queuePeerOp);
    this.configs = new ServedConfigs(node, deps.views(), v -> self.tell(new ViewChanged(v)), deps.settings().viewGrace());
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
        .onSignal(akka.actor.typed.PostStop.instance(), state -> configs.unsubscribe())
        .build();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(AddPeer.class, (s, c) -> admission.add(Effect(), s, c, configs.desired(s).keySet()))
        .onCommand(FlushPeers.class, (s, c) -> admission.flush(Effect(), s))
        .onCommand(HoldElapsed.class, (s, c) -> admission.holdElapsed(Effect()))
        .onCommand(RemovePeer.class, this::onRemovePeer)
        .onCommand(PeersOfNode.class, this::onPeersOfNode)
        .onCommand(Resync.class, (s, c) -> onResync(s))
        .onCommand(ViewChanged.class, this::onViewChanged)
        .onCommand(DeviceLost.class, (s, c) -> onTrigger("device " + c.device() + " lost"))
        .onCommand(CoalesceElapsed.class, (s, c) -> onCoalesceElapsed(s))
        .onCommand(Reconciled.class, this::onReconciled)
        .onCommand(PeersApplied.class, this::onPeersApplied)
        .onCommand(GetStatus.class, (s, c) -> Effect().reply(c.replyTo(), new Status(node, jobs.status(configs.desired(s).keySet(), s))))
        .onCommand(GetOwners.class, (s, c) -> Effect().reply(c.replyTo(), owners(s.book())))
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
    deps.board().recovered(ownerNodes(state));
    configs.subscribe();
    timers.startTimerWithFixedDelay(RESYNC, new Resync(), deps.settings().resyncInterval());
    jobs.requestReconcile();
  }

  /** Config uid to the worker nodes owning its journaled peers (peers without owner are left out). */
  private static Map<String, Set<String>> ownerNodes(State state) {
    Map<String, Set<String>> out = new java.util.HashMap<>();
    state.owners().forEach((uid, byKey) -> byKey.values().forEach(
        o -> {
          if (o != null) {
            out.computeIfAbsent(uid, u -> new java.util.TreeSet<>()).add(o.node());
          }
        }));
    return out;
  }

  private ReplyEffect<Event, State> onRemovePeer(State state, RemovePeer c) {
    String foreign = PeerRequests.ownedElsewhere(state, c.configUid(), c.publicKey(), c.node());
    if (foreign != null) {
      log.warn("[{}] refused node {}'s removal: {}", node, c.node(), foreign);
      return Effect().reply(c.replyTo(), StatusReply.error(foreign));
    }
    admission.overtakenBy(c);
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
    if (!configs.desired(state).containsKey(m.configUid())) {
      return Effect().noReply(); // followed once the config is served here (onViewChanged)
    }
    return persistRepairs(state, Map.of(m.configUid(), digests.plan(m.configUid(), m.node(), state)), "the peers of node " + m.node());
  }

  /** The periodic resync: the kernel against the journal, and peers of worker nodes silent for too long. */
  private ReplyEffect<Event, State> onResync(State state) {
    jobs.requestReconcile();
    return persistRepairs(state, digests.planSilent(configs.desired(state).keySet(), state), "silent worker nodes");
  }

  private ReplyEffect<Event, State> onViewChanged(State state, ViewChanged c) {
    configs.update(c.views());
    admission.release(state, configs.desired(state).keySet());
    jobs.requestReconcile();
    // lists that came in before this node served their config are followed now (again: idempotent)
    return persistRepairs(state, digests.planAll(configs.desired(state).keySet(), state), "the worker nodes' lists");
  }

  /**
   * Journals what the workers' lists call for (in one write), then puts it on the devices (O(changes)),
   * counts it ({@code source=digest}) and logs it.
   */
  private ReplyEffect<Event, State> persistRepairs(State state, Map<String, List<PeerSyncPlanner.Change>> changes, String why) {
    List<Event> events = DigestRepairs.events(changes);
    if (events.isEmpty()) {
      return Effect().noReply();
    }
    return Effect().persist(events).thenRun(s -> repairs.applied(changes, why, op -> queuePeerOp(op, s))).thenNoReply();
  }

  private ReplyEffect<Event, State> onTrigger(String why) {
    log.debug("[{}] reconcile requested: {}", node, why);
    jobs.requestReconcile();
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onCoalesceElapsed(State state) {
    jobs.due();
    kick(state);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onReconciled(State state, Reconciled r) {
    if (!jobs.reconciled(r)) {
      kick(state);
      return Effect().noReply();
    }
    List<Event> releases = !configs.collecting() ? List.of() : state.peers().keySet().stream()
        .filter(uid -> !r.desired().containsKey(uid)).sorted().map(uid -> (Event) new ConfigReleased(uid)).toList();
    if (releases.isEmpty()) {
      kick(state);
      return Effect().noReply();
    }
    log.info("[{}] releasing peers of configs no longer on this node: {}", node, releases);
    return Effect().persist(releases).thenRun(this::kick).thenNoReply();
  }

  private ReplyEffect<Event, State> onPeersApplied(State state, PeersApplied r) {
    jobs.peersApplied(r, state);
    kick(state);
    return Effect().noReply();
  }

  private void queuePeerOp(DatapathAction op, State state) {
    jobs.queue(op);
    kick(state);
  }

  private void kick(State state) {
    jobs.kick(() -> configs.desired(state), configs.collecting());
  }

  private static Owners owners(PeerBook book) {
    Map<String, Map<String, String>> out = new java.util.HashMap<>();
    book.owners().forEach((uid, byKey) -> {
      Map<String, String> nodes = new java.util.HashMap<>();
      byKey.forEach((key, owner) -> nodes.put(key, owner.node()));
      out.put(uid, Map.copyOf(nodes));
    });
    return new Owners(Map.copyOf(out));
  }
}
