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
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.pod.infra.GatewayPeers;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.infra.PodKeys;
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
 * <p>ADD: config checks, key, the pod's peer on the gateways (bounded wait for a confirmation), then the
 * device, and only then the routes that move traffic into the tunnel. While one datapath pipeline runs, further commands
 * are stashed.
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
      List<Ipv4Cidr> exceptionCidrs) {
    public Deps {
      exceptionCidrs = List.copyOf(exceptionCidrs);
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

  private record Reattached(String deviceName, String error) implements Command {}

  /**
   * After an agent restart, takes the established tunnel back: a live device gives its key back (read from
   * the device into memory, {@link PodKeys}) and is watched again; a device that is gone while the pod's
   * namespace is still there is made again with a new key (the gateways get the new peer, the old one
   * leaves); a gone namespace is left to the pod's DEL. Replies once the tunnel is served again. A
   * configuration that has not replicated to this node yet is waited for: the command comes back to the
   * entity every {@link #RESUME_RETRY}, {@link #RESUME_ATTEMPTS} times at most.
   */
  public record Resume(int attempt, ActorRef<StatusReply<TakenBack>> replyTo) implements Command {}

  /** A tunnel served again after an agent restart; {@code newKey}: its device had to be made again. */
  public record TakenBack(String deviceName, String podIp, String configKey, String publicKey, boolean newKey)
      implements CborSerializable {
    static TakenBack of(Tunnel t, boolean newKey) {
      return new TakenBack(t.deviceName(), t.podIp(), t.configKey(), t.publicKey(), newKey);
    }
  }

  private record Resumed(String deviceName, PodDatapath.Resumption found, String error,
      ActorRef<StatusReply<TakenBack>> replyTo) implements Command {}

  static final Duration RESUME_RETRY = Duration.ofSeconds(1);
  static final int RESUME_ATTEMPTS = 60;

  /**
   * A device made again with a new key after an agent restart could not be provisioned (no gateway confirmed,
   * say, because the gateways restart too): tried again every {@link #REKEY_RETRY}, {@link #REKEY_ATTEMPTS}
   * times at most, while nothing else (an ADD, a DEL) has happened to the tunnel meanwhile. The pod has no
   * route into the tunnel until then: it stays fail-closed, and the runtime would not ADD it again.
   */
  private record RetryRekey(String deviceName, int attempt, Tunnel replaced) implements Command {}

  static final Duration REKEY_RETRY = Duration.ofSeconds(2);
  static final int REKEY_ATTEMPTS = 60;

  private record Provisioned(String containerId, String gateway, String error) implements Command {}

  private record Deprovisioned(String containerId, String error) implements Command {}

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
   * an established tunnel of the same sandbox (a device made again after an agent restart); that pod
   * already runs, and no runtime ADD will come for it again.
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

  private final ActorContext<Command> ctx;
  private final String entityId;
  private final Deps deps;
  private final TunnelPipelines pipelines;
  private boolean busy;
  private ActorRef<StatusReply<Added>> pendingAdd;
  private ActorRef<StatusReply<Done>> pendingRemove;
  private ActorRef<StatusReply<TakenBack>> pendingResume;
  /** While a re-key after a restart provisions: its attempt (0 first) and the tunnel it replaces; else -1. */
  private int rekeyAttempt = -1;
  private Tunnel rekeyReplaced;

  private PodTunnel(ActorContext<Command> ctx, String entityId, Deps deps) {
    super(PersistenceId.of(ENTITY_KEY.name(), entityId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.ctx = ctx;
    this.entityId = entityId;
    this.deps = deps;
    this.pipelines = new TunnelPipelines(deps, ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking()));
  }

  @Override
  public State emptyState() {
    return Absent.INSTANCE;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Add.class, this::onAdd)
        .onCommand(Remove.class, this::onRemove)
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s))
        .onCommand(Provisioned.class, this::onProvisioned)
        .onCommand(Deprovisioned.class, this::onDeprovisioned)
        .onCommand(Reattach.class, this::onReattach)
        .onCommand(Reattached.class, this::onReattached)
        .onCommand(Resume.class, this::onResume)
        .onCommand(Resumed.class, this::onResumed)
        .onCommand(RetryRekey.class, this::onRetryRekey)
        .build();
  }

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

  // --- handlers ---

  private ReplyEffect<Event, State> onAdd(State s, Add cmd) {
    if (busy) {
      return Effect().stash();
    }
    Pod pod = cmd.pod();
    ConfigView view = deps.views().get().get(pod.configKey());
    String problem = unusable(view, pod.configKey());
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
    Tunnel current = tunnelOf(s);
    boolean sameSandbox = current != null && current.containerId().equals(pod.containerId())
        && current.configUid().equals(view.uid()) && current.netns().equals(pod.netns());
    if (sameSandbox && s instanceof Established est) {
      return Effect().reply(cmd.replyTo(), StatusReply.success(new Added(current.publicKey(), current.configKey(), est.gateway(), current.deviceName())));
    }
    busy = true;
    pendingAdd = cmd.replyTo();
    if (sameSandbox && deps.keys().get(current.deviceName()).isPresent()) {
      return Effect().none().thenRun(st -> provision(current, view, routes, null)).thenNoReply();
    }
    Tunnel t = new Tunnel(pod.containerId(), pod.netns(), pod.podIp(), pod.configKey(), view.uid(), "",
        DeviceNames.forContainer(pod.containerId()), pod.eth0Gateway(), pod.excludedCidrs(), List.of());
    return provisionWithNewKey(t, view, routes, current);
  }

  /** A new key for {@code t}'s device (kept in memory only), persisted with its public half, then provisioned. */
  private ReplyEffect<Event, State> provisionWithNewKey(Tunnel t, ConfigView view, List<Route> routes, Tunnel replaced) {
    WgKeys.KeyPair keys = WgKeys.generate();
    Tunnel keyed = t.rekeyed(keys.publicKey(), view.gateways().keySet());
    deps.keys().put(keyed.deviceName(), keys.privateKey());
    return Effect().persist(new TunnelRequested(keyed)).thenRun(st -> provision(keyed, view, routes, replaced)).thenNoReply();
  }

  private void provision(Tunnel t, ConfigView view, List<Route> routes, Tunnel replaced) {
    String key = deps.keys().get(t.deviceName()).orElseThrow();
    ctx.pipeToSelf(pipelines.provision(t, view, routes, key, replaced),
        (gw, err) -> new Provisioned(t.containerId(), gw, err == null ? null : TunnelPipelines.describe(err)));
  }

  private ReplyEffect<Event, State> onProvisioned(State s, Provisioned m) {
    busy = false;
    ActorRef<StatusReply<Added>> reply = pendingAdd;
    pendingAdd = null;
    ActorRef<StatusReply<TakenBack>> resumed = pendingResume;
    pendingResume = null;
    int rekey = rekeyAttempt;
    Tunnel rekeyOld = rekeyReplaced;
    rekeyAttempt = -1;
    rekeyReplaced = null;
    Tunnel t = tunnelOf(s);
    if (m.error() != null || t == null || !t.containerId().equals(m.containerId())) {
      String why = m.error() != null ? m.error() : "sandbox changed while provisioning";
      log.warn("{}: tunnel for {} not established: {}", entityId, m.containerId(), why);
      if (reply != null) {
        reply.tell(StatusReply.error(why));
      }
      if (resumed != null) {
        resumed.tell(StatusReply.error(why));
      }
      if (rekey >= 0 && t != null && t.containerId().equals(m.containerId())) {
        retryRekey(t, rekey + 1, rekeyOld);
      }
      return Effect().none().thenNoReply().thenUnstashAll();
    }
    log.info("{}: tunnel {} established for {} via {} (first gateway to confirm: {})", entityId, t.deviceName(),
        t.podIp(), t.configKey(), m.gateway());
    return Effect().persist(new TunnelEstablished(m.containerId(), m.gateway()))
        .thenRun(st -> {
          if (reply != null) {
            reply.tell(StatusReply.success(new Added(t.publicKey(), t.configKey(), m.gateway(), t.deviceName())));
          }
          if (resumed != null) {
            resumed.tell(StatusReply.success(TakenBack.of(t, true)));
          }
        })
        .thenNoReply()
        .thenUnstashAll();
  }

  private ReplyEffect<Event, State> onRemove(State s, Remove cmd) {
    if (busy) {
      return Effect().stash();
    }
    Tunnel t = tunnelOf(s);
    if (t == null || (!cmd.containerId().isEmpty() && !cmd.containerId().equals(t.containerId()))) {
      return Effect().reply(cmd.replyTo(), StatusReply.ack());
    }
    busy = true;
    pendingRemove = cmd.replyTo();
    String confirmed = s instanceof Established e ? e.gateway() : "";
    return Effect().none()
        .thenRun(st -> ctx.pipeToSelf(pipelines.deprovision(t, confirmed), (error, err) -> new Deprovisioned(t.containerId(),
            err != null ? TunnelPipelines.describe(err) : (error.isEmpty() ? null : error))))
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onDeprovisioned(State s, Deprovisioned m) {
    busy = false;
    ActorRef<StatusReply<Done>> reply = pendingRemove;
    pendingRemove = null;
    if (m.error() != null) {
      log.warn("{}: removing the tunnel of {} was incomplete: {}", entityId, m.containerId(), m.error());
    } else {
      log.info("{}: tunnel of {} removed", entityId, m.containerId());
    }
    Tunnel gone = tunnelOf(s);
    if (gone != null && gone.containerId().equals(m.containerId())) {
      deps.keys().remove(gone.deviceName());
    }
    return Effect().persist(new TunnelRemoved(m.containerId()))
        .thenRun(st -> {
          if (reply != null) {
            reply.tell(StatusReply.ack());
          }
        })
        .thenNoReply()
        .thenUnstashAll();
  }

  private ReplyEffect<Event, State> onReattach(State s, Reattach cmd) {
    if (busy) {
      return Effect().stash();
    }
    if (!(s instanceof Established e) || !e.tunnel().deviceName().equals(cmd.deviceName())) {
      return Effect().noReply();
    }
    Tunnel t = e.tunnel();
    java.util.Optional<String> key = deps.keys().get(t.deviceName());
    Plan plan;
    try {
      if (key.isEmpty()) {
        throw new IllegalArgumentException("its key was lost with an agent restart");
      }
      plan = planFor(t);
    } catch (IllegalArgumentException ex) {
      log.warn("{}: device {} died and cannot be re-created here ({}); the pod stays fail-closed until its next ADD",
          entityId, t.deviceName(), ex.getMessage());
      return Effect().noReply();
    }
    busy = true;
    ctx.pipeToSelf(pipelines.reattach(t, plan.view(), plan.routes(), key.get()),
        (v, err) -> new Reattached(t.deviceName(), err == null ? null : TunnelPipelines.describe(err)));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onReattached(State s, Reattached m) {
    busy = false;
    if (m.error() == null) {
      log.info("{}: device {} re-created after its process died", entityId, m.deviceName());
    } else {
      log.warn("{}: re-creating device {} failed: {}", entityId, m.deviceName(), m.error());
    }
    return Effect().noReply().thenUnstashAll();
  }

  private ReplyEffect<Event, State> onResume(State s, Resume cmd) {
    if (busy) {
      return Effect().stash();
    }
    Tunnel t = resumable(s);
    if (t == null) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("no established tunnel to resume"));
    }
    if (deps.keys().get(t.deviceName()).isPresent()) { // this agent serves the tunnel already, or is re-making it
      return Effect().reply(cmd.replyTo(), s instanceof Requested
          ? StatusReply.error("tunnel " + t.deviceName() + " is being made again")
          : StatusReply.success(TakenBack.of(t, false)));
    }
    ConfigView view = deps.views().get().get(t.configKey());
    String problem = unusable(view, t.configKey());
    if (problem != null) {
      if (cmd.attempt() + 1 < RESUME_ATTEMPTS) {
        ctx.scheduleOnce(RESUME_RETRY, ctx.getSelf(), new Resume(cmd.attempt() + 1, cmd.replyTo()));
        return Effect().noReply();
      }
      log.warn("{}: cannot resume tunnel {}: {}", entityId, t.deviceName(), problem);
      return Effect().reply(cmd.replyTo(), StatusReply.error(problem));
    }
    if (!view.uid().equals(t.configUid())) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("configuration " + t.configKey()
          + " was replaced since the tunnel was made; the pod's next ADD makes a new one"));
    }
    busy = true;
    ctx.pipeToSelf(pipelines.resume(t, view),
        (found, err) -> new Resumed(t.deviceName(), found, err == null ? null : TunnelPipelines.describe(err), cmd.replyTo()));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onResumed(State s, Resumed m) {
    busy = false;
    Tunnel taken = resumable(s);
    Tunnel t = taken != null && taken.deviceName().equals(m.deviceName()) ? taken : null;
    String problem = m.error() != null ? m.error() : t == null ? "the tunnel changed while it was resumed" : null;
    if (problem != null) {
      log.warn("{}: resuming tunnel {} failed: {}", entityId, m.deviceName(), problem);
      return Effect().reply(m.replyTo(), StatusReply.error(problem)).thenUnstashAll();
    }
    if (m.found().privateKey().isPresent() && s instanceof Established) {
      deps.keys().put(t.deviceName(), m.found().privateKey().get());
      log.info("{}: tunnel {} of {} resumed: its device is alive and watched again", entityId, t.deviceName(), t.podIp());
      // the pool may have gained a gateway while this agent was away (nobody told the tunnel then)
      ConfigView view = deps.views().get().get(t.configKey());
      if (view != null && view.uid().equals(t.configUid())) {
        sendPeer(t, view.gateways().keySet(), "resumed after an agent restart");
      }
      return Effect().reply(m.replyTo(), StatusReply.success(TakenBack.of(t, false))).thenUnstashAll();
    }
    if (m.found().sandboxGone()) {
      log.info("{}: the namespace of tunnel {} is gone; the pod's DEL removes the rest", entityId, t.deviceName());
      return Effect().reply(m.replyTo(), StatusReply.error("the pod's network namespace is gone")).thenUnstashAll();
    }
    Plan plan;
    try {
      plan = planFor(t);
    } catch (IllegalArgumentException ex) {
      return Effect().reply(m.replyTo(), StatusReply.error(ex.getMessage())).thenUnstashAll();
    }
    if (s instanceof Requested) {
      log.warn("{}: tunnel {} of {} was being made again when the agent stopped; making it again with a new key",
          entityId, t.deviceName(), t.podIp());
    } else {
      log.warn("{}: device {} of {} did not survive the agent's restart; making it again with a new key", entityId,
          t.deviceName(), t.podIp());
    }
    busy = true;
    pendingResume = m.replyTo();
    rekeyAttempt = 0;
    rekeyReplaced = t;
    return provisionWithNewKey(t, plan.view(), plan.routes(), t);
  }

  private void retryRekey(Tunnel t, int attempt, Tunnel replaced) {
    if (attempt < REKEY_ATTEMPTS) {
      ctx.scheduleOnce(REKEY_RETRY, ctx.getSelf(), new RetryRekey(t.deviceName(), attempt, replaced));
    } else {
      log.warn("{}: gave up making tunnel {} again after {} attempts; the pod stays fail-closed until its next ADD",
          entityId, t.deviceName(), attempt);
    }
  }

  private ReplyEffect<Event, State> onRetryRekey(State s, RetryRekey m) {
    if (busy) {
      return Effect().stash();
    }
    if (!(s instanceof Requested r) || !r.tunnel().deviceName().equals(m.deviceName())
        || deps.keys().get(m.deviceName()).isEmpty()) {
      return Effect().noReply(); // an ADD or a DEL came meanwhile and decided
    }
    Tunnel t = r.tunnel();
    Plan plan;
    try {
      plan = planFor(t);
    } catch (IllegalArgumentException ex) {
      log.warn("{}: cannot make tunnel {} again yet: {}", entityId, t.deviceName(), ex.getMessage());
      retryRekey(t, m.attempt() + 1, m.replaced());
      return Effect().noReply();
    }
    log.info("{}: making tunnel {} again, attempt {}", entityId, t.deviceName(), m.attempt() + 1);
    busy = true;
    rekeyAttempt = m.attempt();
    rekeyReplaced = m.replaced();
    provision(t, plan.view(), plan.routes(), m.replaced());
    return Effect().noReply();
  }

  /**
   * Sends an established tunnel's peer to {@code gateways} without waiting (a gateway that has it already
   * answers at once); the outcome is logged.
   */
  private void sendPeer(Tunnel t, java.util.Collection<String> gateways, String why) {
    for (String gw : gateways) {
      deps.gateways().addPeer(gw, t.configUid(), t.publicKey(), t.podIp()).whenComplete((v, err) -> {
        if (err == null) {
          log.debug("{}: gateway {} holds the peer of tunnel {} ({})", entityId, gw, t.deviceName(), why);
        } else {
          log.warn("{}: gateway {} did not take the peer of tunnel {} ({}): {}", entityId, gw, t.deviceName(), why,
              TunnelPipelines.describe(err));
        }
      });
    }
  }

  // --- helpers ---

  /** A tunnel's configuration view as replicated now, and the routes its pod should have under it. */
  private record Plan(ConfigView view, List<Route> routes) {}

  /**
   * What re-making {@code t}'s device needs: its configuration usable and still the one the tunnel was made
   * for. Fails with {@link IllegalArgumentException} saying why not.
   */
  private Plan planFor(Tunnel t) {
    ConfigView view = deps.views().get().get(t.configKey());
    String problem = unusable(view, t.configKey());
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    if (!view.uid().equals(t.configUid())) {
      throw new IllegalArgumentException("configuration " + t.configKey() + " was replaced since the tunnel was made");
    }
    return new Plan(view, PodRoutes.desired(view.defaultRoute(), t.eth0Gateway(), view.excludeCidrs(),
        t.excludedCidrs(), deps.exceptionCidrs(), view.ilbIp()));
  }

  /** Why {@code view} cannot serve a pod right now, or null. */
  static String unusable(ConfigView view, String key) {
    if (view == null) {
      return "gateway configuration " + key + " is not known on this node (it does not exist or has not replicated yet)";
    }
    if (!view.ready()) {
      return "gateway configuration " + key + " is not ready yet (gateways or Azure resources still provisioning)";
    }
    if (view.gateways().isEmpty()) {
      return "gateway configuration " + key + " has no gateway nodes";
    }
    if (view.ilbIp().isEmpty() || view.port() <= 0 || view.gatewayPublicKey().isEmpty()) {
      return "gateway configuration " + key + " has no gateway endpoint or public key yet";
    }
    return null;
  }

  /**
   * The tunnel an agent restart should take back: an established one, or one whose device was being made
   * again (its pod runs and will not be ADDed again; a tunnel of a pending ADD is left to the runtime's
   * retry). Null otherwise.
   */
  private static Tunnel resumable(State s) {
    if (s instanceof Established e) {
      return e.tunnel();
    }
    if (s instanceof Requested r && r.replacing()) {
      return r.tunnel();
    }
    return null;
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
