package io.egressgateway.pod.entity;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.GatewayPeers;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.infra.PodKeys;
import io.egressgateway.pod.infra.TunnelGenerations;
import io.egressgateway.pod.model.DeviceNames;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.pod.model.Route;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WireGuard tunnel of one annotated pod, pinned to the pod's node (role {@code worker}, id
 * {@code <node>/<pod uid>}).
 *
 * <p>Owns: the pod's device (created in the node's host namespace, moved into the pod as wg0), its routes
 * and reply marking, and the pod's peer on the gateways of its configuration. Persists: the sandbox
 * (container id, netns), pod IP, configuration key and uid, the pod's public key, which gateway confirmed
 * first. Never the private key: it is generated here and kept in the agent's memory ({@link PodKeys}, which
 * outlives passivation but not the agent; a restarted agent reads it back from the live device, see
 * {@link Resume}). Observes: the replicated {@link ConfigView}s, read locally.
 *
 * <p>Each state has its own handlers. ADD: config checks, key, the pod's peer on the gateways (bounded wait
 * for a confirmation), then the device, and only then the routes that move traffic into the tunnel. DEL:
 * the peer off the gateways, the device out of the pod. A dead device is made again ({@link ReattachFlow});
 * after an agent restart the tunnel is taken back ({@link ResumeFlow}), if need be with a new key ({@link
 * RekeyFlow}). A running tunnel follows its configuration's new generations ({@link FollowFlow}) and says
 * which one it runs ({@link TunnelGenerations}). One flow runs at a time ({@link TunnelFlows}); further
 * commands are stashed until its own completion message ends it.
 */
public final class PodTunnel
    extends EventSourcedBehaviorWithEnforcedReplies<PodTunnel.Command, PodTunnel.Event, PodTunnel.State> {
  private static final Logger log = LoggerFactory.getLogger(PodTunnel.class);

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "PodTunnel");

  /**
   * What the entity works with. {@code gatewayWait} bounds the wait for the first gateway to confirm the
   * pod's peer; {@code gatewayGrace} is how much longer the others get once one has. {@code exceptionCidrs}
   * always go via the pod's eth0 (see {@link PodRoutes}); they are settings of the agent, not decisions of
   * the entity, so they are read at every plan and never journaled.
   */
  public record Deps(
      PodDatapath datapath,
      GatewayPeers gateways,
      Supplier<Map<String, ConfigView>> views,
      Duration gatewayWait,
      Duration gatewayGrace,
      PodKeys keys,
      List<Ipv4Cidr> exceptionCidrs,
      TunnelGenerations generations) {
    public Deps {
      exceptionCidrs = List.copyOf(exceptionCidrs);
    }

    public Deps(PodDatapath datapath, GatewayPeers gateways, Supplier<Map<String, ConfigView>> views, Duration gatewayWait,
        Duration gatewayGrace, PodKeys keys, List<Ipv4Cidr> exceptionCidrs) {
      this(datapath, gateways, views, gatewayWait, gatewayGrace, keys, exceptionCidrs, TunnelGenerations.NONE);
    }
  }

  // --- protocol ---

  public sealed interface Command extends CborSerializable {}

  /**
   * The pod as CNI ADD describes it.
   *
   * @param configKey     {@code namespace/name} of the gateway configuration the pod is annotated with
   * @param excludedCidrs the CNI configuration's {@code excludedCIDRs}
   */
  public record Pod(String containerId, String netns, String podIp, String eth0Gateway, String configKey,
      List<String> excludedCidrs) implements CborSerializable {}

  public record Add(Pod pod, ActorRef<StatusReply<Added>> replyTo) implements Command {}

  public record Added(String publicKey, String configKey, String gateway, String deviceName) implements CborSerializable {}

  /** Removes the tunnel of sandbox {@code containerId} (empty: whatever sandbox). Always succeeds. */
  public record Remove(String containerId, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  public record Get(ActorRef<State> replyTo) implements Command {}

  /**
   * Device {@code deviceName} died (its wireguard-go process exited): re-create it with the same key and
   * restore the routes. The gateways keep the peer, so nothing is persisted.
   */
  public record Reattach(String deviceName) implements Command {}

  /**
   * After an agent restart, takes the established tunnel back ({@link ResumeFlow}); replies once the tunnel is
   * served again. A configuration that has not replicated to this node yet is waited for: the command comes
   * back to the entity every {@link #RESUME_RETRY}, {@link #RESUME_ATTEMPTS} times at most.
   */
  public record Resume(int attempt, ActorRef<StatusReply<TakenBack>> replyTo) implements Command {}

  /** A tunnel served again after an agent restart; {@code newKey}: its device had to be made again. */
  public record TakenBack(String deviceName, String podIp, String configKey, String publicKey, boolean newKey)
      implements CborSerializable {
    static TakenBack of(Tunnel t, boolean newKey) {
      return new TakenBack(t.deviceName(), t.podIp(), t.configKey(), t.publicKey(), newKey);
    }
  }

  static final Duration RESUME_RETRY = Duration.ofSeconds(1);
  static final int RESUME_ATTEMPTS = 60;

  /** The view of configuration {@code configKey} changed: an established tunnel of it follows ({@link FollowFlow}). */
  public record Follow(String configKey) implements Command {}

  /** A device made again with a new key could not be provisioned: the next attempt ({@link RekeyFlow}). */
  record RetryRekey(String deviceName, int attempt, Tunnel replaced) implements Command {}

  // each flow ends with its own message, which carries whom to answer

  /** The ADD flow: the first gateway to confirm the pod's peer, or what went wrong. */
  record Provisioned(String containerId, String gateway, String error, ActorRef<StatusReply<Added>> replyTo)
      implements Command {}

  /** The DEL flow: what went wrong, null when nothing did. */
  record Deprovisioned(String containerId, String error, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** {@link ReattachFlow}. */
  record Reattached(String deviceName, String error) implements Command {}

  /** {@link FollowFlow}: the generation brought over, how long it took, what went wrong (null: nothing). */
  record Followed(String deviceName, long generation, long tookMs, String error) implements Command {}

  /** {@link ResumeFlow}: what the device's look found. */
  record Resumed(String deviceName, PodDatapath.Resumption found, String error,
      ActorRef<StatusReply<TakenBack>> replyTo) implements Command {}

  /** {@link RekeyFlow}: one attempt's outcome; {@code replyTo} is null for attempts after the first. */
  record Rekeyed(String containerId, String gateway, String error, int attempt, Tunnel replaced,
      ActorRef<StatusReply<TakenBack>> replyTo) implements Command {}

  // --- events ---

  public sealed interface Event extends CborSerializable {}

  public record TunnelRequested(Tunnel tunnel) implements Event {}

  public record TunnelEstablished(String containerId, String gateway) implements Event {}

  public record TunnelRemoved(String containerId) implements Event {}

  // --- state ---

  /**
   * One sandbox's tunnel. {@code deviceName} is host-unique (kept in wg0's alias). {@code gateways}: the pool
   * the pod's peer was sent to when the key was made, so that its removal reaches them even when this node
   * has no view of the configuration (right after an agent restart); empty in events written before it.
   */
  public record Tunnel(String containerId, String netns, String podIp, String configKey, String configUid,
      String publicKey, String deviceName, String eth0Gateway, List<String> excludedCidrs, List<String> gateways)
      implements CborSerializable {
    public Tunnel {
      gateways = gateways == null ? List.of() : List.copyOf(gateways);
    }

    /** With a new key, sent to {@code pool}. */
    Tunnel rekeyed(String key, java.util.Collection<String> pool) {
      return new Tunnel(containerId, netns, podIp, configKey, configUid, key, deviceName, eth0Gateway, excludedCidrs,
          pool.stream().sorted().toList());
    }
  }

  public sealed interface State extends CborSerializable {}

  public record Absent(boolean none) implements State {
    static final Absent INSTANCE = new Absent(true);
  }

  /**
   * Key and sandbox decided; the datapath may be incomplete. {@code replacing}: the key replaces the one of
   * an established tunnel of the same sandbox (a device made again after an agent restart, {@link
   * RekeyFlow}); that pod already runs, and no runtime ADD will come for it again.
   */
  public record Requested(Tunnel tunnel, boolean replacing) implements State {
    Established establish(String gateway) {
      return new Established(tunnel, gateway);
    }
  }

  /** Device, peer on at least {@code gateway}, and routes are in place. */
  public record Established(Tunnel tunnel, String gateway) implements State {}

  // --- setup ---

  public static ActorRef<ShardingEnvelope<Command>> init(ActorSystem<?> system, Deps deps) {
    return NodePinned.init(system, ENTITY_KEY, Roles.WORKER, ctx -> create(ctx.getEntityId(), deps));
  }

  public static Behavior<Command> create(String entityId, Deps deps) {
    return Behaviors.setup(ctx -> new PodTunnel(ctx, entityId, deps));
  }

  private final String entityId;
  private final Deps deps;
  private final TunnelFlows flows;
  private final ReattachFlow reattach;
  private final RekeyFlow rekey;
  private final ResumeFlow resume;
  private final FollowFlow follow;
  private final RemoveFlow remove;

  private PodTunnel(ActorContext<Command> ctx, String entityId, Deps deps) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.entityId = entityId;
    this.deps = deps;
    this.flows = new TunnelFlows(ctx, entityId, deps,
        new TunnelPipelines(deps, ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking())));
    this.reattach = new ReattachFlow(flows);
    this.rekey = new RekeyFlow(flows);
    this.resume = new ResumeFlow(flows, rekey);
    this.follow = new FollowFlow(flows);
    this.remove = new RemoveFlow(flows);
  }

  @Override
  public State emptyState() {
    return Absent.INSTANCE;
  }

  /**
   * Flow completions first (in whatever state the flow left the tunnel), then, while a flow runs, everything
   * else waits in the stash; then each state's own handlers.
   */
  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder();
    builder.forAnyState()
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s))
        .onCommand(Provisioned.class, this::onProvisioned)
        .onCommand(Deprovisioned.class, (s, c) -> remove.onDeprovisioned(Effect(), s, c))
        .onCommand(Reattached.class, (s, c) -> reattach.onReattached(Effect(), s, c))
        .onCommand(Followed.class, (s, c) -> follow.onFollowed(Effect(), s, c))
        .onCommand(Follow.class, (s, c) -> follow.onFollow(Effect(), s, c))
        .onCommand(Resumed.class, (s, c) -> resume.onResumed(Effect(), s, c))
        .onCommand(Rekeyed.class, (s, c) -> rekey.onRekeyed(Effect(), s, c));
    builder.forState(s -> flows.serial.running())
        .onCommand(c -> true, c -> Effect().stash());
    builder.forStateType(Absent.class)
        .onCommand(Add.class, this::onAdd)
        .onCommand(Remove.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.ack()))
        .onCommand(Reattach.class, (s, c) -> Effect().noReply())
        .onCommand(Resume.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.error(NOTHING_TO_RESUME)))
        .onCommand(RetryRekey.class, (s, c) -> Effect().noReply());
    builder.forStateType(Requested.class)
        .onCommand(Add.class, this::onAdd)
        .onCommand(Remove.class, (s, c) -> remove.onRemove(Effect(), s.tunnel(), "", c))
        .onCommand(Reattach.class, (s, c) -> Effect().noReply())
        .onCommand(Resume.class, this::onResume)
        .onCommand(RetryRekey.class, (s, c) -> rekey.onRetry(Effect(), s, c));
    builder.forStateType(Established.class)
        .onCommand(Add.class, this::onAdd)
        .onCommand(Remove.class, (s, c) -> remove.onRemove(Effect(), s.tunnel(), s.gateway(), c))
        .onCommand(Reattach.class, (s, c) -> reattach.onReattach(Effect(), s, c))
        .onCommand(Resume.class, this::onResume)
        .onCommand(RetryRekey.class, (s, c) -> Effect().noReply());
    return builder.build();
  }

  private static final String NOTHING_TO_RESUME = "no established tunnel to resume";

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(TunnelRequested.class, (s, e) -> new Requested(e.tunnel(), replacing(s, e.tunnel())))
        .onEvent(TunnelEstablished.class, this::established)
        .onEvent(TunnelRemoved.class, (s, e) -> Absent.INSTANCE)
        .build();
  }

  /** Whether a new key for {@code t} replaces an established tunnel of the same sandbox (see {@link Requested}). */
  private static boolean replacing(State s, Tunnel t) {
    return (s instanceof Established e && e.tunnel().containerId().equals(t.containerId()))
        || (s instanceof Requested r && r.replacing() && r.tunnel().containerId().equals(t.containerId()));
  }

  private State established(State s, TunnelEstablished e) {
    if (s instanceof Requested r && r.tunnel().containerId().equals(e.containerId())) {
      return r.establish(e.gateway());
    }
    return s;
  }

  // --- ADD and DEL ---

  private ReplyEffect<Event, State> onAdd(State s, Add cmd) {
    Pod pod = cmd.pod();
    ConfigView view = deps.views().get().get(pod.configKey());
    String problem = TunnelFlows.unusable(view, pod.configKey());
    if (problem != null) {
      log.warn("{}: ADD for {} refused: {}", entityId, pod.containerId(), problem);
      return Effect().reply(cmd.replyTo(), StatusReply.error(problem));
    }
    List<Route> routes;
    try {
      routes = PodRoutes.desired(view.defaultRoute(), pod.eth0Gateway(), view.excludeCidrs(), pod.excludedCidrs(),
          deps.exceptionCidrs(), view.ilbIp());
    } catch (IllegalArgumentException e) {
      return Effect().reply(cmd.replyTo(), StatusReply.error(e.getMessage()));
    }
    TunnelFlows.Plan plan = new TunnelFlows.Plan(view, routes);
    Tunnel current = tunnelOf(s);
    boolean sameSandbox = current != null && current.containerId().equals(pod.containerId())
        && current.configUid().equals(view.uid()) && current.netns().equals(pod.netns());
    if (sameSandbox && s instanceof Established est) {
      return Effect().reply(cmd.replyTo(), StatusReply.success(new Added(current.publicKey(), current.configKey(), est.gateway(), current.deviceName())));
    }
    flows.serial.occupy();
    if (sameSandbox && deps.keys().get(current.deviceName()).isPresent()) {
      return Effect().none().thenRun(st -> provision(current, plan, null, cmd.replyTo())).thenNoReply();
    }
    Tunnel t = new Tunnel(pod.containerId(), pod.netns(), pod.podIp(), pod.configKey(), view.uid(), "",
        DeviceNames.forContainer(pod.containerId()), pod.eth0Gateway(), pod.excludedCidrs(), List.of());
    Tunnel keyed = flows.newKey(t, view);
    return Effect().persist(new TunnelRequested(keyed)).thenRun(st -> provision(keyed, plan, current, cmd.replyTo())).thenNoReply();
  }

  private void provision(Tunnel t, TunnelFlows.Plan plan, Tunnel replaced, ActorRef<StatusReply<Added>> replyTo) {
    flows.provision(t, plan, replaced, (gw, error) -> new Provisioned(t.containerId(), gw, error, replyTo));
  }

  private ReplyEffect<Event, State> onProvisioned(State s, Provisioned m) {
    flows.serial.end();
    Tunnel t = tunnelOf(s);
    if (m.error() != null || t == null || !t.containerId().equals(m.containerId())) {
      String why = m.error() != null ? m.error() : "sandbox changed while provisioning";
      log.warn("{}: tunnel for {} not established: {}", entityId, m.containerId(), why);
      m.replyTo().tell(StatusReply.error(why));
      return Effect().none().thenNoReply().thenUnstashAll();
    }
    log.info("{}: tunnel {} established for {} via {} (first gateway to confirm: {})", entityId, t.deviceName(),
        t.podIp(), t.configKey(), m.gateway());
    return Effect().persist(new TunnelEstablished(m.containerId(), m.gateway()))
        .thenRun(st -> flows.settled(t))
        .thenRun(st -> m.replyTo().tell(StatusReply.success(new Added(t.publicKey(), t.configKey(), m.gateway(), t.deviceName()))))
        .thenNoReply()
        .thenUnstashAll();
  }

  private ReplyEffect<Event, State> onResume(State s, Resume cmd) {
    Tunnel t = ResumeFlow.resumable(s);
    return t == null ? Effect().reply(cmd.replyTo(), StatusReply.error(NOTHING_TO_RESUME)) : resume.onResume(Effect(), s, t, cmd);
  }

  /** The tunnel of a state that has one (its key may be on the gateways), else null. */
  static Tunnel tunnelOf(State s) {
    if (s instanceof Requested r) {
      return r.tunnel();
    }
    if (s instanceof Established e) {
      return e.tunnel();
    }
    return null;
  }
}
