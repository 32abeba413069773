package io.egressgateway.kube.entity;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EffectBuilder;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.model.Failures;
import io.egressgateway.core.reconcile.SerialReconcile;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.core.view.PodGenerations;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.infra.SgcApi;
import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.SpecValidation;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One StaticGatewayConfiguration, on the controller members (sharded, id {@code namespace/name}).
 * Owns: the SGC finalizer and status, the key Secret {@code sgw-<uid>} (in the key namespace; one an earlier release
 * kept in the release namespace is moved there), the SGC's Events, its entry in the
 * replicated {@code ConfigView}, and the request to the Azure side. Persists decisions only: which uid it
 * tracks, what Azure provisioned (ILB IP, port, prefix, per-node IPs), that deletion was requested and
 * Azure released. Observes (never journals) the SGC, its key Secret and the gateway nodes, as full
 * snapshots ({@link Sync}) from the informers, and how many pods run which generation ({@link PodGenerations},
 * whose changes bring a fresh snapshot); every snapshot leads to the same full comparison.
 */
public final class GatewayConfig
    extends EventSourcedBehaviorWithEnforcedReplies<GatewayConfig.Command, GatewayConfig.Event, GatewayConfig.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "GatewayConfig");
  private static final Logger log = LoggerFactory.getLogger(GatewayConfig.class);

  /** The adapters an entity works through. */
  public record Ports(SgcApi kube, AzureProvisioner azure, KubeBridgeSettings settings) {}

  // ---- protocol

  public sealed interface Command extends CborSerializable {}

  /** The latest full snapshot of the SGC; replies at once, the work follows asynchronously. */
  public record Sync(ObservedSgc observed, ActorRef<Done> replyTo) implements Command {}

  public record GetState(ActorRef<State> replyTo) implements Command {}

  private record PassDone(GatewayConfigPass.Result result) implements Command {}

  private record PassFailed(String error) implements Command {}

  private enum Retry implements Command { INSTANCE }

  public sealed interface Event extends CborSerializable {}

  /** Started tracking this SGC uid (its finalizer is ours from now on). */
  public record Adopted(String key, String uid) implements Event {}

  public record Provisioned(String uid, Allocation allocation) implements Event {}

  public record DeletionRequested(String uid) implements Event {}

  public record Released(String uid) implements Event {}

  /** Cleanup finished and the finalizer is gone: nothing of this uid remains. */
  public record Forgotten(String uid) implements Event {}

  public sealed interface State extends CborSerializable {}

  /** Never tracked anything, or everything tracked was cleaned up. */
  public record Idle() implements State {}

  public record Active(String key, String uid, Allocation allocation) implements State {
    Active withAllocation(Allocation value) {
      return new Active(key, uid, value);
    }

    Deleting deleting() {
      return new Deleting(key, uid, false);
    }
  }

  public record Deleting(String key, String uid, boolean released) implements State {
    Deleting release() {
      return new Deleting(key, uid, true);
    }
  }

  // ---- behavior

  public static void init(ActorSystem<?> system, Ports ports) {
    ClusterSharding.get(system)
        .init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), ports)).withRole(Roles.CONTROLLER));
  }

  public static Behavior<Command> create(String key, Ports ports) {
    return Behaviors.<Command>supervise(
            Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new GatewayConfig(key, ports, ctx, timers))))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
  }

  private final String key;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final GatewayConfigPass pass;
  private final Executor blocking;
  private final KubeBridgeSettings settings;
  private final SerialReconcile<Command> loop = SerialReconcile.immediate();
  private ObservedSgc latest;
  private Duration backoff;

  private GatewayConfig(String key, Ports ports, ActorContext<Command> ctx, TimerScheduler<Command> timers) {
    // a journal that fails recovery or a write restarts the entity with backoff (the default would stop it, and
    // with it every snapshot sent meanwhile)
    super(PersistenceId.of(ENTITY_KEY.name(), key),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    this.key = key;
    this.ctx = ctx;
    this.timers = timers;
    this.settings = ports.settings();
    this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.pass = new GatewayConfigPass(ports.kube(), ports.azure(), ConfigViews.get(ctx.getSystem()),
        PodGenerations.get(ctx.getSystem()), settings.azureTimeout(), blocking);
    this.backoff = settings.retryMin();
  }

  @Override
  public State emptyState() {
    return new Idle();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Sync.class, this::onSync)
        .onCommand(GetState.class, (s, c) -> Effect().reply(c.replyTo(), s))
        .onCommand(PassDone.class, this::onPassDone)
        .onCommand(PassFailed.class, this::onPassFailed)
        .onCommand(Retry.class, this::onRetry)
        .build();
  }

  private ReplyEffect<Event, State> onSync(State state, Sync cmd) {
    latest = cmd.observed();
    if (loop.running()) {
      loop.want();
      return Effect().none().thenReply(cmd.replyTo(), s -> Done.getInstance());
    }
    return next(state).thenReply(cmd.replyTo(), s -> Done.getInstance());
  }

  private ReplyEffect<Event, State> onPassDone(State state, PassDone done) {
    boolean again = loop.end();
    GatewayConfigPass.Result r = done.result();
    countReconcile(r.retry() ? "error" : "ok");
    if (r.retry()) {
      scheduleRetry();
    } else {
      backoff = settings.retryMin();
    }
    if (r.provisioned().isPresent() && state instanceof Active a) {
      log.info("[{}] Azure provisioned port {} prefix {} on {} node(s)", key, r.provisioned().get().port(),
          r.provisioned().get().egressPrefix(), r.provisioned().get().nodes().size());
      return Effect().persist(new Provisioned(a.uid(), r.provisioned().get())).thenRun(this::startNext).thenNoReply();
    }
    if (r.released() && state instanceof Deleting d) {
      return Effect().persist(new Released(d.uid())).thenRun(this::startNext).thenNoReply();
    }
    if (r.forgotten() && state instanceof Deleting d) {
      log.info("[{}] uid {} cleaned up", key, d.uid());
      return Effect().persist(new Forgotten(d.uid())).thenRun(s -> ctx.getSelf().tell(Retry.INSTANCE)).thenNoReply();
    }
    if (again) {
      return next(state).thenNoReply();
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onPassFailed(State state, PassFailed failed) {
    loop.end();
    countReconcile("error");
    log.warn("[{}] reconcile failed, retrying in {}: {}", key, backoff, failed.error());
    scheduleRetry();
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onRetry(State state, Retry retry) {
    if (loop.running()) {
      loop.want();
      return Effect().noReply();
    }
    return next(state).thenNoReply();
  }

  /** Decides what the latest snapshot means for the persisted state, persists that decision, then acts. */
  private EffectBuilder<Event, State> next(State state) {
    ObservedSgc o = latest;
    if (o == null) {
      return Effect().none();
    }
    if (state instanceof Deleting) {
      return Effect().none().thenRun(this::startPass);
    }
    if (state instanceof Active a) {
      boolean gone = !o.present() || !o.uid().equals(a.uid()) || o.deleting();
      return gone ? Effect().persist(new DeletionRequested(a.uid())).thenRun(this::startPass)
          : Effect().none().thenRun(this::startPass);
    }
    if (!o.present()) {
      return Effect().none();
    }
    if (o.deleting()) {
      // ours to clean only if we (or the Go controller before us) put the finalizer on it
      return o.hasFinalizer()
          ? Effect().persist(List.of(new Adopted(key, o.uid()), new DeletionRequested(o.uid()))).thenRun(this::startPass)
          : Effect().none();
    }
    if (SpecValidation.validate(o.spec()).isPresent()) {
      return Effect().none().thenRun(this::startPass);
    }
    log.info("[{}] adopting uid {}", key, o.uid());
    return Effect().persist(new Adopted(key, o.uid())).thenRun(this::startPass);
  }

  private void startNext(State state) {
    if (!loop.running()) {
      startPass(state);
    }
  }

  private void startPass(State state) {
    ObservedSgc o = latest;
    if (o == null || loop.running()) {
      return;
    }
    if (state instanceof Idle && (!o.present() || o.deleting() || SpecValidation.validate(o.spec()).isEmpty())) {
      return; // an untracked SGC is only ever touched to report its invalid spec
    }
    loop.begin();
    ctx.pipeToSelf(run(state, o), (r, e) -> e == null ? new PassDone(r) : new PassFailed(rootMessage(e)));
  }

  /** The pass; a failed one is also reported on the SGC (a Warning Event) before the entity hears of it. */
  private CompletableFuture<GatewayConfigPass.Result> run(State state, ObservedSgc o) {
    CompletableFuture<GatewayConfigPass.Result> work;
    try {
      work = state instanceof Deleting d ? pass.cleanUp(d, o)
          : pass.reconcile(state instanceof Active active ? active : new Active(key, o.uid(), null), o);
    } catch (RuntimeException e) {
      work = CompletableFuture.failedFuture(e);
    }
    return work.handleAsync((r, e) -> {
      if (e != null) {
        pass.reportError(o, rootMessage(e));
        throw e instanceof CompletionException ce ? ce : new CompletionException(e);
      }
      return r;
    }, blocking);
  }

  private void scheduleRetry() {
    timers.startSingleTimer(Retry.INSTANCE, backoff);
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.retryMax()) > 0 ? settings.retryMax() : doubled;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = Failures.root(e);
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(Adopted.class, (s, e) -> new Active(e.key(), e.uid(), null))
        .onEvent(Provisioned.class, (s, e) -> s instanceof Active a ? a.withAllocation(e.allocation()) : s)
        .onEvent(DeletionRequested.class, (s, e) -> s instanceof Active a ? a.deleting() : s)
        .onEvent(Released.class, (s, e) -> s instanceof Deleting d ? d.release() : s)
        .onEvent(Forgotten.class, (s, e) -> new Idle())
        .build();
  }

  /** Reconcile passes, for the management port's /metrics (labels: entity type and outcome only). */
  private void countReconcile(String result) {
    io.egressgateway.core.metrics.Metrics.get(ctx.getSystem())
        .counter("egress_reconciles_total", "reconcile passes by entity type and outcome", "entity", "result")
        .inc(ENTITY_KEY.name(), result);
  }
}
