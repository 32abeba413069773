package io.egressgateway.core.health;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import io.egressgateway.core.metrics.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The watches a member needs to make progress (its Kubernetes informers): each says whether it is watching
 * now. Readiness ({@link WatchesReadyCheck}) is red while any registered watch is down; liveness
 * ({@link WatchesAliveCheck}) fails once one has been down longer than {@code egress.health.watch-down-limit},
 * so the container runtime restarts a member that cannot make progress instead of keeping a process that
 * answers {@code /alive} and does nothing. A watch is down from its registration until it first reports up.
 * Metrics: {@code egress_informer_up{resource}} (1 or 0) and {@code egress_informer_restarts_total{resource}}.
 */
public final class Watches implements Extension {
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();
  private final Metrics.Gauge upGauge;
  private final Metrics.Counter restarts;
  private final Clock clock;

  public static Watches get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Watches outside an actor system (tests). */
  public static Watches standalone(Metrics metrics, Clock clock) {
    return new Watches(metrics, clock);
  }

  private Watches(Metrics metrics, Clock clock) {
    this.clock = clock;
    this.upGauge = metrics.gauge("egress_informer_up",
        "1 while the informer on this resource is watching the API server, 0 while it is not", "resource");
    this.restarts = metrics.counter("egress_informer_restarts_total",
        "times the informer on this resource was started again after it stopped or failed to start", "resource");
  }

  /** Registers (or returns) the watch on {@code resource}; it counts as down until it reports up. */
  public Watch register(String resource) {
    return watches.computeIfAbsent(resource, r -> {
      Watch w = new Watch(r, clock.instant());
      upGauge.track(() -> w.up ? 1 : 0, r);
      restarts.add(0, r);
      return w;
    });
  }

  /** Removes a watch that is no longer needed (its owner closed it on purpose). */
  public void unregister(Watch watch) {
    watches.remove(watch.resource, watch);
    upGauge.remove(watch.resource);
  }

  /** Every registered watch is up. */
  public boolean allUp() {
    return watches.values().stream().allMatch(w -> w.up);
  }

  /** The resources whose watch is down now, with why, in name order. */
  public Map<String, String> down() {
    Map<String, String> out = new TreeMap<>();
    watches.values().stream().filter(w -> !w.up).forEach(w -> out.put(w.resource, w.reason));
    return out;
  }

  /** How long the watch that has been down the longest has been down; empty when all are up. */
  public Optional<Duration> longestDown() {
    Instant now = clock.instant();
    return watches.values().stream().filter(w -> !w.up)
        .map(w -> Duration.between(w.since, now))
        .max(Duration::compareTo);
  }

  public List<String> resources() {
    return watches.keySet().stream().sorted().toList();
  }

  /** One watched resource. Thread-safe: reported from informer threads, read by health checks and scrapes. */
  public final class Watch {
    private final String resource;
    private volatile boolean up;
    private volatile Instant since;
    private volatile String reason = "not started yet";

    private Watch(String resource, Instant since) {
      this.resource = resource;
      this.since = since;
    }

    public String resource() {
      return resource;
    }

    public boolean isUp() {
      return up;
    }

    public synchronized void up() {
      if (!up) {
        up = true;
        since = clock.instant();
        reason = "";
      }
    }

    public synchronized void down(String why) {
      reason = why == null || why.isBlank() ? "stopped" : why;
      if (up) {
        up = false;
        since = clock.instant();
      }
    }

    /** The watch is being started again after a stop or a failed start. */
    public void restarted() {
      restarts.inc(resource);
    }

    public double restarts() {
      return restarts.value(resource);
    }
  }

  private static final class Id extends ExtensionId<Watches> {
    static final Id INSTANCE = new Id();

    @Override
    public Watches createExtension(ActorSystem<?> system) {
      return new Watches(Metrics.get(system), Clock.systemUTC());
    }
  }
}
