package io.egressgateway.kube.infra;

import io.egressgateway.core.health.Watches;
import io.egressgateway.core.model.Failures;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Store;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An informer that never stops silently. fabric8 ends an informer for good on most watch errors and does not
 * retry a failed first list; this owner starts a fresh one with exponential backoff ({@code minBackoff} doubling
 * up to {@code maxBackoff}) after any stop or failed start, until {@link #close()}. Its {@link Watches.Watch}
 * is up only while the informer has synced and is watching (checked every {@code CHECK}), so readiness and
 * {@code egress_informer_up} follow it, and every new start counts in {@code egress_informer_restarts_total}.
 *
 * <p>Lookups go to the last informer that synced: a replacement answers only once its own list is complete, so
 * a restart never makes objects look deleted. After a replacement has synced, {@code onResynced} runs (the
 * owner compares its state with the fresh cache: deletions during the gap produce no delete event).
 */
public final class SupervisedInformer<T extends HasMetadata> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SupervisedInformer.class);
  static final Duration CHECK = Duration.ofMillis(500);

  private final String resource;
  private final Supplier<SharedIndexInformer<T>> factory;
  private final List<ResourceEventHandler<T>> handlers;
  private final Watches.Watch watch;
  private final ScheduledExecutorService timer;
  private final Duration minBackoff;
  private final Duration maxBackoff;
  private final Runnable onResynced;
  private final CompletableFuture<Void> firstSync = new CompletableFuture<>();

  private volatile SharedIndexInformer<T> serving; // the last informer that synced; answers lookups
  private SharedIndexInformer<T> current; // the one running or starting now (guarded by this)
  private long generation; // increases with every start, so a stale callback does nothing
  private int failures; // consecutive failed or short-lived starts, for the backoff
  private boolean restartScheduled;
  private boolean closed;

  /**
   * @param resource    the name under which the watch reports (e.g. {@code staticgatewayconfigurations})
   * @param factory     makes a new, not yet started informer each time it is called
   * @param handlers    added to each informer made
   * @param onResynced  runs on the timer thread after a replacement informer synced (not after the first)
   */
  public SupervisedInformer(String resource, Supplier<SharedIndexInformer<T>> factory, List<ResourceEventHandler<T>> handlers,
      Watches watches, ScheduledExecutorService timer, Duration minBackoff, Duration maxBackoff, Runnable onResynced) {
    this.resource = resource;
    this.factory = factory;
    this.handlers = List.copyOf(handlers);
    this.watch = watches.register(resource);
    this.timer = timer;
    this.minBackoff = minBackoff;
    this.maxBackoff = maxBackoff;
    this.onResynced = onResynced;
  }

  /**
   * The event handler informers are given here: an added or updated object (its new state) goes to {@code changed},
   * a deleted one (its last known state) to {@code gone}.
   */
  public static <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<? super T> changed, Consumer<? super T> gone) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        changed.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        changed.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        gone.accept(obj);
      }
    };
  }

  /** Starts the first informer and the watch check; returns at once. */
  public SupervisedInformer<T> start() {
    startNew(false);
    timer.scheduleWithFixedDelay(this::check, CHECK.toMillis(), CHECK.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Completes when an informer has synced for the first time (never exceptionally: failures are retried). */
  public CompletionStage<Void> firstSync() {
    return firstSync;
  }

  public boolean hasSynced() {
    return firstSync.isDone();
  }

  /**
   * The cache of the last informer that synced; before the first sync, the starting informer's (still filling), and
   * before the first start an empty one: an event handler of another informer may ask before this one started.
   */
  public Store<T> store() {
    SharedIndexInformer<T> s = serving;
    if (s == null) {
      synchronized (this) {
        s = serving != null ? serving : current;
      }
    }
    return s == null ? new Empty<>() : s.getStore();
  }

  /** The cache of an informer not started yet. */
  private record Empty<T extends HasMetadata>() implements Store<T> {
    @Override
    public List<T> list() {
      return List.of();
    }

    @Override
    public List<String> listKeys() {
      return List.of();
    }

    @Override
    public T get(T object) {
      return null;
    }

    @Override
    public T getByKey(String key) {
      return null;
    }

    @Override
    public String getKey(T object) {
      return io.fabric8.kubernetes.client.informers.cache.Cache.metaNamespaceKeyFunc(object);
    }
  }

  public String resource() {
    return resource;
  }

  /** Whether the informer is watching now (what readiness and {@code egress_informer_up} show). */
  public boolean isUp() {
    return watch.isUp();
  }

  private synchronized void startNew(boolean restart) {
    if (closed) {
      return;
    }
    restartScheduled = false;
    long gen = ++generation;
    SharedIndexInformer<T> informer;
    try {
      informer = factory.get();
      handlers.forEach(informer::addEventHandler);
    } catch (RuntimeException e) {
      failed(gen, e);
      return;
    }
    current = informer;
    if (restart) {
      watch.restarted();
      log.info("informer on {}: starting again (attempt {})", resource, failures + 1);
    }
    CompletionStage<Void> started;
    try {
      started = informer.start();
    } catch (RuntimeException e) {
      failed(gen, e);
      return;
    }
    started.whenComplete((v, e) -> {
      if (e != null) {
        failed(gen, e);
      } else {
        synced(gen, informer, restart);
      }
    });
    informer.stopped().whenComplete((v, e) -> failed(gen, e == null ? new IllegalStateException("informer stopped") : e));
  }

  private void synced(long gen, SharedIndexInformer<T> informer, boolean restart) {
    SharedIndexInformer<T> replaced;
    synchronized (this) {
      if (gen != generation || closed) {
        return;
      }
      replaced = serving;
      serving = informer;
    }
    if (replaced != null && replaced != informer) {
      replaced.close();
    }
    log.info("informer on {}: synced, {} objects{}", resource, informer.getStore().list().size(),
        restart ? " (after a restart)" : "");
    watch.up();
    firstSync.complete(null);
    if (restart) {
      timer.execute(() -> {
        try {
          onResynced.run();
        } catch (RuntimeException e) {
          log.warn("informer on {}: resync after restart failed: {}", resource, e.toString());
        }
      });
    }
  }

  private void failed(long gen, Throwable e) {
    long delay;
    SharedIndexInformer<T> dead;
    synchronized (this) {
      if (gen != generation || closed || restartScheduled) {
        return;
      }
      restartScheduled = true;
      dead = current;
      delay = Math.min(maxBackoff.toMillis(), minBackoff.toMillis() << Math.min(failures, 20));
      failures++;
    }
    String why = rootMessage(e);
    watch.down(why);
    log.warn("informer on {} stopped ({}); starting a new one in {} ms", resource, why, delay);
    if (dead != null && dead != serving) {
      dead.close();
    }
    timer.schedule(() -> startNew(true), delay, TimeUnit.MILLISECONDS);
  }

  /** Follows the informer's watch: up only while it is watching; a long healthy stretch resets the backoff. */
  private void check() {
    SharedIndexInformer<T> c;
    synchronized (this) {
      if (closed || restartScheduled) {
        return;
      }
      c = current;
    }
    if (c == null || serving != c) {
      return; // still starting: up/down follow its start
    }
    if (c.isWatching()) {
      watch.up();
      synchronized (this) {
        failures = 0;
      }
    } else {
      watch.down("not watching (reconnecting to the API server)");
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = Failures.root(e);
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
  }

  @Override
  public void close() {
    SharedIndexInformer<T> c;
    SharedIndexInformer<T> s;
    synchronized (this) {
      closed = true;
      c = current;
      s = serving;
    }
    if (c != null) {
      c.close();
    }
    if (s != null && s != c) {
      s.close();
    }
  }
}
