package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A pod's requests to the internet echo, one started every {@link #EVERY_MS} ms (each may take up to 1 s,
 * so they overlap) from when it is made until {@link #close()}: what a user's application sees while the
 * product is killed, upgraded or replaced underneath it. Each request is recorded with when it started,
 * when it ended and whether it got a reply. The requests are made by one {@link TrafficProbe} process inside
 * the pod's network namespace (a JVM on this one's class path, at a higher scheduling priority than the
 * members), not a {@code curl} per request, so that a loaded machine does not show up as failed requests of the pod.
 */
final class Traffic implements AutoCloseable {
  static final long EVERY_MS = 50;
  static final long TIMEOUT_MS = 1000;

  /** One request: start and end (nanoTime) and what the echo saw (empty: no reply). */
  record Request(long startNanos, long endNanos, String seen) {
    boolean ok() {
      return !seen.isEmpty();
    }
  }

  private final List<Request> requests = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Process probe;
  private final Thread reader;

  Traffic(String podNetns) {
    this(podNetns, AzureVnet.ECHO_IP);
  }

  /**
   * Requests to the echo on {@code echoIp} instead (e.g. the one in the demo's excluded range). Returns once the
   * probe runs in the pod's namespace (its JVM takes about a second to start), so requests are being made.
   */
  Traffic(String podNetns, String echoIp) {
    // ahead of the members in the CPU's queue (as the echo is): on this machine a starting member JVM otherwise
    // holds the measuring process back for a second or more, which the plain pod showed as its own gaps
    List<String> cmd = new ArrayList<>(List.of("nice", "-n", "-10", "setsid"));
    cmd.addAll(CommandRunner.inNetns(podNetns, List.of(javaCommand(),
        "-Xmx32m", "-Xss256k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
        "-cp", System.getProperty("java.class.path"), TrafficProbe.class.getName(),
        echoIp, String.valueOf(AzureVnet.ECHO_PORT), String.valueOf(EVERY_MS), String.valueOf(TIMEOUT_MS))));
    try {
      probe = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start the traffic probe in " + podNetns, e);
    }
    CompletableFuture<Void> ready = new CompletableFuture<>();
    reader = new Thread(() -> read(ready), "traffic-" + podNetns);
    reader.setDaemon(true);
    reader.start();
    try {
      ready.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      close();
      throw new IllegalStateException("the traffic probe in " + podNetns + " did not start: " + e, e);
    }
  }

  private void read(CompletableFuture<Void> ready) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(probe.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("ready")) {
          ready.complete(null);
          continue;
        }
        String[] f = line.split(" ", 3);
        if (f.length == 3) {
          requests.add(new Request(Long.parseLong(f[0]), Long.parseLong(f[1]), f[2].equals("-") ? "" : f[2]));
        }
      }
    } catch (IOException | RuntimeException e) {
      // the probe ended or wrote something unreadable: what was read stays
    } finally {
      ready.completeExceptionally(new IllegalStateException("the probe exited before it was ready"));
    }
  }

  /** This JVM's own {@code java}, so the probe runs on the same runtime and class path. */
  private static String javaCommand() {
    return ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  /** Requests started in [from, to) (nanoTime) that got no reply. */
  long failed(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos && !r.ok()).count();
  }

  /** Requests started in [from, to). */
  long started(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos).count();
  }

  /**
   * The spans (ms after {@code fromNanos}, start and end) in which every request started in [from, to) got
   * no reply, for a report to say when a fault hurt the pod.
   */
  List<long[]> failureSpans(long fromNanos, long toNanos) {
    List<Request> in = snapshot().stream().filter(r -> r.startNanos() >= fromNanos && r.startNanos() < toNanos)
        .sorted(java.util.Comparator.comparingLong(Request::startNanos)).toList();
    List<long[]> spans = new ArrayList<>();
    long[] open = null;
    for (Request r : in) {
      long at = (r.startNanos() - fromNanos) / 1_000_000;
      if (!r.ok()) {
        if (open == null) {
          open = new long[] {at, at};
          spans.add(open);
        }
        open[1] = at;
      } else {
        open = null;
      }
    }
    return spans;
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

  /** Replies to requests started in [from, to) that the echo saw from an address {@code via} accepts. */
  long repliesSeenAs(long fromNanos, long toNanos, java.util.function.Predicate<String> via) {
    return snapshot().stream().filter(r -> r.ok() && r.startNanos() >= fromNanos && r.startNanos() < toNanos && via.test(r.seen()))
        .count();
  }

  /** The distinct addresses the echo saw in replies to requests started in [from, to). */
  List<String> seenBetween(long fromNanos, long toNanos) {
    return snapshot().stream().filter(r -> r.ok() && r.startNanos() >= fromNanos && r.startNanos() < toNanos)
        .map(Request::seen).distinct().sorted().toList();
  }

  /** Whether the probe process still runs (it must not after {@link #close()}). */
  boolean probing() {
    return probe.isAlive();
  }

  private List<Request> snapshot() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  @Override
  public void close() {
    // the probe stops starting requests when its input closes, and exits after those in flight
    try {
      probe.getOutputStream().close();
    } catch (IOException e) {
      // already gone
    }
    try {
      if (!probe.waitFor(TIMEOUT_MS + 5000, TimeUnit.MILLISECONDS)) {
        probe.descendants().forEach(ProcessHandle::destroyForcibly);
        probe.destroyForcibly();
        probe.waitFor(5, TimeUnit.SECONDS);
      }
      reader.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
