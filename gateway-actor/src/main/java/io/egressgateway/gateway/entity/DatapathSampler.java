package io.egressgateway.gateway.entity;

import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.gateway.model.ConfigSample;
import io.egressgateway.gateway.model.DatapathTotals;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The datapath metrics of one gateway node: every {@code metrics-interval} it looks at the datapath of each
 * config the replicated view places on this node ({@code GatewayDatapath.sample}, on the blocking
 * dispatcher, one round at a time) and hands the round to {@link DatapathTotals}, whose readings go to the
 * metrics ({@link DatapathMetrics}): per config and node, never per pod. A child of the {@code GatewayNode}
 * entity, restarted with backoff when it fails. Owns nothing, persists nothing; observes the view, the
 * WireGuard devices, the nft counters and the namespaces' conntrack counts.
 */
final class DatapathSampler {
  private static final Logger log = LoggerFactory.getLogger(DatapathSampler.class);

  interface Msg {}

  private record Tick() implements Msg {}

  private record ViewsChanged(Map<String, ConfigView> views) implements Msg {}

  /** A round: what could be sampled, when, and why the others could not (by config uid). */
  private record Sampled(Map<String, ConfigSample> samples, long epochSeconds, Map<String, String> failures) implements Msg {}

  /** What one round read. */
  private record Round(Map<String, ConfigSample> samples, Map<String, String> failures) {}

  /** A config to sample: its {@code namespace/name} (the metrics' {@code config} label) and SNAT address. */
  record Target(String key, String secondaryIp) {}

  private final ActorContext<Msg> ctx;
  private final String node;
  private final GatewayNode.Deps deps;
  private final Executor blocking;
  private final DatapathMetrics metrics;
  private final Consumer<Map<String, ConfigView>> listener;
  private Map<String, Target> targets = Map.of();
  private DatapathTotals totals = DatapathTotals.EMPTY;
  /** The configs whose gauges the last round set. */
  private Set<Target> published = Set.of();
  private boolean busy;

  static Behavior<Msg> create(String node, GatewayNode.Deps deps, Executor blocking) {
    return Behaviors.<Msg>supervise(Behaviors.setup(ctx -> Behaviors.withTimers(
            timers -> new DatapathSampler(ctx, timers, node, deps, blocking).behavior())))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2));
  }

  private DatapathSampler(ActorContext<Msg> ctx, TimerScheduler<Msg> timers, String node, GatewayNode.Deps deps,
      Executor blocking) {
    this.ctx = ctx;
    this.node = node;
    this.deps = deps;
    this.blocking = blocking;
    this.metrics = new DatapathMetrics(ctx.getSystem(), node);
    this.listener = views -> ctx.getSelf().tell(new ViewsChanged(views));
    deps.views().subscribe(listener);
    timers.startTimerWithFixedDelay(new Tick(), deps.settings().metricsInterval());
  }

  private Behavior<Msg> behavior() {
    return Behaviors.receive(Msg.class)
        .onMessage(ViewsChanged.class, this::onViewsChanged)
        .onMessage(Tick.class, m -> onTick())
        .onMessage(Sampled.class, this::onSampled)
        .onSignal(akka.actor.typed.PostStop.class, s -> onStop())
        .onSignal(akka.actor.typed.PreRestart.class, s -> onStop())
        .build();
  }

  private Behavior<Msg> onViewsChanged(ViewsChanged m) {
    Map<String, Target> out = new HashMap<>();
    m.views().values().forEach(v -> v.gatewayOn(node)
        .filter(a -> a.secondaryIp() != null && !a.secondaryIp().isEmpty())
        .ifPresent(a -> out.put(v.uid(), new Target(v.key(), a.secondaryIp()))));
    targets = Map.copyOf(out);
    return Behaviors.same();
  }

  private Behavior<Msg> onTick() {
    if (busy) {
      return Behaviors.same();
    }
    busy = true;
    Set<String> uids = targets.keySet();
    ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> sampleAll(uids), blocking),
        (round, ex) -> ex == null ? new Sampled(round.samples(), Instant.now().getEpochSecond(), round.failures())
            : new Sampled(Map.of(), 0, Map.of("*", String.valueOf(ex.getMessage()))));
    return Behaviors.same();
  }

  /**
   * Blocking: one look at each config's datapath. Configs whose namespace or device is missing are left out
   * (making them is the reconcile's work); one that cannot be read does not keep the others from being read.
   */
  private Round sampleAll(Set<String> uids) {
    Map<String, ConfigSample> out = new HashMap<>();
    Map<String, String> failures = new HashMap<>();
    for (String uid : uids) {
      try {
        deps.datapath().sample(uid).ifPresent(s -> out.put(uid, s));
      } catch (RuntimeException e) {
        failures.put(uid, String.valueOf(e.getMessage()));
      }
    }
    return new Round(out, failures);
  }

  private Behavior<Msg> onSampled(Sampled m) {
    busy = false;
    m.failures().forEach((uid, why) -> log.warn("[{}] datapath metrics of config {} not sampled: {}", node, uid, why));
    if (m.failures().containsKey("*")) {
      metrics.round("error");
      return Behaviors.same();
    }
    DatapathTotals.Step step = totals.advance(m.samples(), m.failures().keySet(), m.epochSeconds());
    totals = step.next();
    Set<Target> shown = new HashSet<>();
    // a config that could not be read this round keeps its gauges (and its counters' baseline) until the next
    m.failures().keySet().stream().map(targets::get).filter(t -> t != null && published.contains(t)).forEach(shown::add);
    step.readings().forEach((uid, r) -> {
      Target t = targets.get(uid);
      if (t != null) {
        metrics.publish(t.key(), t.secondaryIp(), r);
        shown.add(t);
      }
    });
    published.stream().filter(t -> !shown.contains(t)).forEach(t -> metrics.forget(t.key(), t.secondaryIp()));
    published = Set.copyOf(shown);
    metrics.round(m.failures().isEmpty() ? "ok" : "error");
    log.debug("[{}] datapath metrics sampled for {} config(s)", node, step.readings().size());
    return Behaviors.same();
  }

  private Behavior<Msg> onStop() {
    deps.views().unsubscribe(listener);
    return Behaviors.same();
  }
}
