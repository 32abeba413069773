package io.egressgateway.azure.entity;

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
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.SignalHandler;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.model.ArmAction;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.azure.model.ArmPort;
import io.egressgateway.azure.model.AzureNames;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.Observed;
import io.egressgateway.azure.model.Plan;
import io.egressgateway.azure.model.PoolPlanner;
import io.egressgateway.azure.model.PoolRef;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.reconcile.SerialReconcile;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Azure side of one gateway pool (entity id = {@link PoolRef#entityId()}, sharded on role {@code controller}).
 *
 * <p>Owns: the pool's frontend, backend pool, rules and probes on the shared ILB, the per-config ipConfigs on
 * the scale set model and instances (or on a VM pool's gateway NICs, with their public IPs), and managed
 * public IP prefixes. Persists: configs with their allocated (or adopted) ports and the Azure names they were
 * accepted with, removal requests, and an intent before / a result after every ARM write (a crash in between ends,
 * on recovery, in a fresh observation that adopts what the write created: names are deterministic, so there is
 * nothing to duplicate). Observes: ARM through {@link ArmPort}, never journaled. Every trigger (new config,
 * removal, resync timer, recovery, conflict) leads to the same observe-plan-write loop, one round at a time
 * ({@link SerialReconcile}); changes within the coalesce window share one round, hence one model write and one
 * rollout for many configs. Waiting callers and their last answers are kept by {@link PoolCallers}, the retry
 * policy by {@link ArmRetry}.
 */
public final class GatewayPool
    extends EventSourcedBehaviorWithEnforcedReplies<GatewayPool.Command, GatewayPool.Event, PoolState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "GatewayPool");

  private static final Logger log = LoggerFactory.getLogger(GatewayPool.class);
  private static final String RESYNC = "resync";
  private static final String RETRY = "retry";

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Provision (or keep) a config on this pool; answered once everything exists in Azure. Idempotent. */
  public record EnsureConfig(ConfigSpec spec, ActorRef<StatusReply<ConfigResult>> replyTo) implements Command {}

  /** Remove a config's Azure resources; answered once they are gone. Unknown uid: answered at once. */
  public record RemoveConfig(String uid, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Drift check now (the resync timer sends the same). */
  public record Resync() implements Command {}

  private record Observation(Observed observed, ArmFailure failure) implements Command {}

  private record Executed(ArmAction action, ArmFailure failure) implements Command {}

  private record Next() implements Command {}

  private record Tick(String reason) implements Command {}

  public sealed interface Event extends CborSerializable {}

  public record ConfigAccepted(ConfigSpec spec, int port) implements Event {}

  public record ConfigUpdated(ConfigSpec spec) implements Event {}

  /** The config's port is the one the Go original's rule already has (decided once, from an observation). */
  public record PortAdopted(String uid, int port) implements Event {}

  public record RemovalRequested(String uid) implements Event {}

  public record ConfigRemoved(String uid) implements Event {}

  /** Recorded before an ARM write. */
  public record WriteIntended(String target, String detail) implements Event {}

  /** Recorded after it: "ok", "adopted" (found done after a crash) or the failure. */
  public record WriteCompleted(String target, String outcome) implements Event {}

  // ---------------------------------------------------------------- wiring

  public static ActorRef<ShardingEnvelope<Command>> init(ActorSystem<?> system, ArmPort port, AzureSettings settings, String prefixIdBase) {
    return ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), port, settings, prefixIdBase))
        .withRole(Roles.CONTROLLER));
  }

  public static Behavior<Command> create(String entityId, ArmPort port, AzureSettings settings, String prefixIdBase) {
    PoolRef pool = PoolRef.parse(entityId);
    return Behaviors.<Command>supervise(Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
            new GatewayPool(pool, ctx, timers, port, settings, prefixIdBase))))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2));
  }

  private final PoolRef pool;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ArmPort port;
  private final AzureSettings settings;
  private final String prefixIdBase;
  private final Executor blocking;
  private final PoolCallers callers;
  private final ArmRetry retry;
  private final Deque<ArmAction> pending = new ArrayDeque<>();
  private final SerialReconcile<Command> loop;
  private Set<Integer> observedPorts = Set.of();
  private int rounds;
  private boolean defaultLengthLogged;

  private GatewayPool(PoolRef pool, ActorContext<Command> ctx, TimerScheduler<Command> timers, ArmPort port, AzureSettings settings,
                      String prefixIdBase) {
    super(PersistenceId.of(ENTITY_KEY.name(), pool.entityId()));
    this.pool = pool;
    this.ctx = ctx;
    this.timers = timers;
    this.port = port;
    this.settings = settings;
    this.prefixIdBase = prefixIdBase;
    this.callers = new PoolCallers(pool.entityId());
    this.retry = new ArmRetry(settings);
    this.loop = new SerialReconcile<>(timers, new Tick("coalesced changes"), settings.coalesceWindow());
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("egress.azure.blocking-dispatcher"));
    timers.startTimerWithFixedDelay(RESYNC, new Tick("resync"), settings.resyncInterval());
  }

  @Override
  public PoolState emptyState() {
    return PoolState.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, PoolState> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(EnsureConfig.class, this::onEnsure)
        .onCommand(RemoveConfig.class, this::onRemove)
        .onCommand(Resync.class, (s, c) -> onTrigger(s, "resync"))
        .onCommand(Tick.class, (s, c) -> onTrigger(s, c.reason()))
        .onCommand(Observation.class, this::onObservation)
        .onCommand(Executed.class, this::onExecuted)
        .onCommand(Next.class, (s, c) -> runNext(s))
        .build();
  }

  @Override
  public EventHandler<PoolState, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(ConfigAccepted.class, (s, e) -> s.withMember(e.spec().uid(), new PoolState.Member(e.spec(), e.port(), false)))
        .onEvent(ConfigUpdated.class, (s, e) -> s.withMember(e.spec().uid(), s.configs().get(e.spec().uid()).withSpec(e.spec())))
        .onEvent(PortAdopted.class, (s, e) -> s.withMember(e.uid(), s.configs().get(e.uid()).withAdoptedPort(e.port())))
        .onEvent(RemovalRequested.class, (s, e) -> s.withMember(e.uid(), s.configs().get(e.uid()).asRemoving()))
        .onEvent(ConfigRemoved.class, (s, e) -> s.without(e.uid()))
        .onEvent(WriteIntended.class, (s, e) -> s.intent(e.target(), true))
        .onEvent(WriteCompleted.class, (s, e) -> s.intent(e.target(), false))
        .build();
  }

  @Override
  public SignalHandler<PoolState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::onRecovered).build();
  }

  // ---------------------------------------------------------------- commands

  private ReplyEffect<Event, PoolState> onEnsure(PoolState state, EnsureConfig cmd) {
    String invalid = cmd.spec().validationError();
    if (!invalid.isEmpty()) {
      return Effect().reply(cmd.replyTo(), StatusReply.error("invalid config " + cmd.spec().configKey() + ": " + invalid));
    }
    PoolState.Member m = state.configs().get(cmd.spec().uid());
    // the Azure names are decided when a config is accepted; a legacy object vanishing later changes nothing
    ConfigSpec spec = m == null ? cmd.spec() : cmd.spec().withNamesOf(m.spec());
    if (m != null && !m.removing() && m.spec().equals(spec)) {
      var answer = callers.lastAnswer(spec.uid());
      if (answer.isPresent()) {
        return Effect().reply(cmd.replyTo(), answer.get());
      }
      callers.awaitReady(spec.uid(), cmd.replyTo());
      loop.schedule();
      return Effect().noReply();
    }
    Event event;
    if (m != null) {
      event = new ConfigUpdated(spec);
    } else {
      String full = state.cannotHoldAnother(pool.entityId(), settings, observedPorts);
      if (!full.isEmpty()) {
        return Effect().reply(cmd.replyTo(), StatusReply.error(full));
      }
      event = new ConfigAccepted(spec, state.freePort(observedPorts, settings.portMin(), settings.portMax()));
    }
    callers.forgetAnswers(spec.uid());
    return Effect().persist(event).thenRun(s -> {
      callers.awaitReady(spec.uid(), cmd.replyTo());
      log.info("[{}] config {} ({}) accepted on port {}", pool.entityId(), spec.configKey(), spec.uid(), s.configs().get(spec.uid()).port());
      loop.schedule();
    }).thenNoReply();
  }

  private ReplyEffect<Event, PoolState> onRemove(PoolState state, RemoveConfig cmd) {
    PoolState.Member m = state.configs().get(cmd.uid());
    if (m == null) {
      return Effect().reply(cmd.replyTo(), StatusReply.ack());
    }
    callers.removing(cmd.uid());
    if (m.removing()) {
      callers.awaitRemoved(cmd.uid(), cmd.replyTo());
      loop.schedule();
      return Effect().noReply();
    }
    return Effect().persist(new RemovalRequested(cmd.uid())).thenRun(s -> {
      callers.awaitRemoved(cmd.uid(), cmd.replyTo());
      log.info("[{}] removal of config {} requested", pool.entityId(), cmd.uid());
      loop.schedule();
    }).thenNoReply();
  }

  private ReplyEffect<Event, PoolState> onTrigger(PoolState state, String reason) {
    if (loop.begin()) {
      log.debug("[{}] reconcile ({})", pool.entityId(), reason);
      rounds = 0;
      observe(state);
    }
    return Effect().noReply();
  }

  private void onRecovered(PoolState state) {
    if (!state.openIntents().isEmpty()) {
      log.info("[{}] recovered with unfinished writes {}; the next observation adopts what they created", pool.entityId(), state.openIntents());
    }
    if (!state.configs().isEmpty()) {
      loop.schedule();
    }
  }

  // ---------------------------------------------------------------- reconcile loop

  private void observe(PoolState state) {
    rounds++;
    Set<String> byo = state.byoPrefixIds();
    ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> port.observe(pool, byo), blocking),
        (obs, err) -> new Observation(obs, ArmRetry.failure(err)));
  }

  private ReplyEffect<Event, PoolState> onObservation(PoolState state, Observation msg) {
    if (msg.failure() != null) {
      onFailure(state, msg.failure(), null);
      return Effect().noReply();
    }
    Observed obs = msg.observed();
    observedPorts = PoolPlanner.observedPorts(obs);
    Map<String, Integer> adopt = PoolPlanner.adoptablePorts(state.desired(prefixIdBase, settings.defaultPrefixLength()), obs,
        state.portAdoptionCandidates());
    if (!adopt.isEmpty()) {
      List<Event> events = new ArrayList<>();
      adopt.forEach((uid, p) -> events.add(new PortAdopted(uid, p)));
      return Effect().persist(events).thenRun(s -> {
        log.info("[{}] kept the ports of existing rules {}", pool.entityId(), adopt);
        ctx.getSelf().tell(msg);
      }).thenNoReply();
    }
    logDefaultLength(state, obs);
    Plan plan = PoolPlanner.plan(state.desired(prefixIdBase, settings.defaultPrefixLength()), obs);
    plan.errors().forEach(callers::error);
    if (!plan.converged()) {
      if (rounds > settings.maxRoundsPerReconcile()) {
        log.warn("[{}] not converged after {} rounds; still to do {}", pool.entityId(), rounds - 1, plan.actions());
        endRound(false);
        timers.startSingleTimer(RETRY, new Tick("retry after unfinished rounds"), retry.backoff());
        return Effect().noReply();
      }
      log.info("[{}] applying {}", pool.entityId(), plan.actions());
      pending.clear();
      pending.addAll(plan.actions());
      return runNext(state);
    }
    List<Event> events = new ArrayList<>();
    state.openIntents().forEach(t -> events.add(new WriteCompleted(t, "adopted")));
    plan.removed().forEach(uid -> events.add(new ConfigRemoved(uid)));
    plan.ready().forEach(callers::ready);
    return Effect().persist(events).thenRun(s -> {
      plan.removed().forEach(uid -> {
        log.info("[{}] config {} removed from Azure", pool.entityId(), uid);
        callers.removed(uid);
      });
      endRound(true);
    }).thenNoReply();
  }

  private ReplyEffect<Event, PoolState> runNext(PoolState state) {
    ArmAction action = pending.poll();
    if (action == null) {
      observe(state);
      return Effect().noReply();
    }
    return Effect().persist(new WriteIntended(action.target(), action.toString())).thenRun(s ->
        ctx.pipeToSelf(CompletableFuture.runAsync(() -> port.execute(pool, action), blocking),
            (v, err) -> new Executed(action, ArmRetry.failure(err)))).thenNoReply();
  }

  private ReplyEffect<Event, PoolState> onExecuted(PoolState state, Executed msg) {
    ArmFailure f = msg.failure();
    String outcome = f == null ? "ok" : f.kind() + " " + f.getMessage();
    return Effect().persist(new WriteCompleted(msg.action().target(), outcome)).thenRun(s -> {
      if (f == null) {
        ctx.getSelf().tell(new Next());
      } else {
        onFailure(s, f, msg.action());
      }
    }).thenNoReply();
  }

  private void onFailure(PoolState state, ArmFailure f, ArmAction action) {
    pending.clear();
    endRound(false);
    switch (f.kind()) {
      case CONFLICT -> {
        log.info("[{}] {} changed under us ({}); re-reading", pool.entityId(), action == null ? "pool" : action.target(), f.code());
        if (retry.rereadNow()) {
          ctx.getSelf().tell(new Tick("conflict"));
        } else {
          timers.startSingleTimer(RETRY, new Tick("retry after conflicts"), retry.backoff());
        }
      }
      case THROTTLED, TRANSIENT -> {
        Duration d = retry.afterTransient(f);
        log.warn("[{}] ARM {} ({}); retrying in {}", pool.entityId(), f.kind(), f.getMessage(), d);
        if (retry.pastTransientDeadline()) {
          String msg = "Azure has been failing for over " + settings.transientDeadline() + ": " + f.getMessage();
          state.configs().keySet().forEach(uid -> callers.error(uid, msg));
        }
        timers.startSingleTimer(RETRY, new Tick("retry"), d);
      }
      case REJECTED -> {
        String msg = "Azure rejected " + (action == null ? "reading the pool" : action.target()) + ": " + f.getMessage();
        log.warn("[{}] {}", pool.entityId(), msg);
        if (action instanceof ArmAction.CreatePrefix c) {
          callers.error(c.uid(), msg);
        } else if (action instanceof ArmAction.CreatePublicIp c && !c.uid().isEmpty()) {
          callers.error(c.uid(), msg);
        } else {
          state.configs().keySet().forEach(uid -> callers.error(uid, msg));
        }
        timers.startSingleTimer(RETRY, new Tick("retry after rejection"), settings.rejectedRetry());
      }
    }
  }

  /** Once per incarnation: a node-pool config takes the default prefix length because its pool has no tag. */
  private void logDefaultLength(PoolState state, Observed obs) {
    if (defaultLengthLogged || obs.prefixSizeTag() != null) {
      return;
    }
    if (state.makesPrefixOfPoolLength(obs)) {
      defaultLengthLogged = true;
      log.info("[{}] the pool has no {} tag; new managed prefixes are /{} (egress.azure.default-prefix-length)",
          pool.entityId(), AzureNames.PREFIX_SIZE_TAG, settings.defaultPrefixLength());
    }
  }

  private void endRound(boolean converged) {
    if (converged) {
      retry.converged();
    }
    if (loop.end()) {
      loop.schedule();
    }
  }
}
