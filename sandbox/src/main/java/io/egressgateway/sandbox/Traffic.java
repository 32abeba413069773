package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A pod's requests to the internet echo, one started every {@link #EVERY_MS} ms (each may take up to 1 s,
 * so they overlap) from when it is made until {@link #close()}: what a user's application sees while the
 * product is killed, upgraded or replaced underneath it. Each request is recorded with when it started,
 * when it ended and whether it got a reply.
 */
final class Traffic implements AutoCloseable {
  static final long EVERY_MS = 50;

  /** One request: start and end (nanoTime) and what the echo saw (empty: no reply). */
  record Request(long startNanos, long endNanos, String seen) {
    boolean ok() {
      return !seen.isEmpty();
    }
  }

  private final String podNetns;
  private final List<Request> requests = java.util.Collections.synchronizedList(new ArrayList<>());
  private final ExecutorService pool = Executors.newFixedThreadPool(30);
  private final Thread loop;
  private volatile boolean running = true;

  Traffic(String podNetns) {
    this.podNetns = podNetns;
    this.loop = new Thread(this::run, "traffic-" + podNetns);
    loop.setDaemon(true);
    loop.start();
  }

  private void run() {
    while (running) {
      pool.submit(() -> {
        long start = System.nanoTime();
        CommandRunner.Result r = Sh.quiet(podNetns, "curl", "-s", "-m", "1", "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/");
        requests.add(new Request(start, System.nanoTime(), r.ok() ? r.stdout().trim() : ""));
      });
      Sh.sleep(EVERY_MS);
    }
  }

  /** Requests started in [from, to) (nanoTime) that got no reply. */
  long failed(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos && !r.ok()).count();
  }

  /** Requests started in [from, to). */
  long started(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos).count();
  }

  /** The longest time in [from, to) without a reply, in ms. */
  long longestGapMs(long fromNanos, long toNanos) {
    List<Long> replies = snapshot().stream().filter(Request::ok).map(Request::endNanos)
        .filter(t -> t >= fromNanos && t < toNanos).sorted().toList();
    long prev = fromNanos;
    long gap = 0;
    for (long t : replies) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    return Math.max(gap, toNanos - prev) / 1_000_000;
  }

  /**
   * When the first reply seen as an address {@code via} accepts came to a request started at or after {@code fromNanos}
   * (nanoTime); -1 if none yet.
   */
  long firstReplyAfter(long fromNanos, java.util.function.Predicate<String> via) {
    return snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.ok() && via.test(r.seen())).mapToLong(Request::endNanos)
        .min().orElse(-1);
  }

  /** The distinct addresses the echo saw in replies to requests started in [from, to). */
  List<String> seenBetween(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.ok() && r.startNanos() >= fromNanos && r.startNanos() < toNanos)
        .map(Request::seen).distinct().sorted().toList();
  }

  private List<Request> snapshot() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  @Override
  public void close() {
    running = false;
    try {
      loop.join(2000);
      pool.shutdown();
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
