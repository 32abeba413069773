package io.egressgateway.gateway.model;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a gateway that has just (re)started keeps a configuration out of its load balancer's rotation a
 * while longer: the other side of the drain's wait ({@link AwayWorkers}). Pure and thread-safe (every method
 * synchronized; the probe server's threads ask), clocks given (monotonic nanoseconds).
 *
 * <p>Why: a gateway's new WireGuard device has no session with any pod. A pod whose flow the load balancer
 * hashes onto it keeps sending on its old session, which the new device drops; only the failover watchdog in
 * the worker member of the pod's node forces a new handshake at once, and while that member restarts (an
 * upgrade rolls workers and gateways together) the pod waits for WireGuard's own retry, about 15 s. So while
 * a worker node that owns peers in this gateway's journal has no worker member up, and another gateway of
 * the configuration's pool answers its own probe for it (the load balancer has it in rotation), the
 * configuration stays out, at most {@code max}. Once served it is never held again in this process: a worker restarting later is the drain's
 * business, and a serving gateway must stay in.
 */
public final class StartHold {
  /** What one question found: the nodes waited for (empty: serve), and what changed, for the log. */
  public record Verdict(Set<String> waitingFor, Change change, long heldNanos) {
    public boolean held() {
      return !waitingFor.isEmpty();
    }
  }

  /**
   * The first hold; its end because the workers are back, because no other gateway serves the config any
   * more, or because {@code max} passed.
   */
  public enum Change { NONE, HELD, BACK, ALONE, TIMED_OUT }

  private final Duration max;
  /** Config uid to when it was first held (nanos). */
  private final Map<String, Long> since = new HashMap<>();
  /** Configs served since (never held again). */
  private final Set<String> released = new HashSet<>();

  public StartHold(Duration max) {
    this.max = max;
  }

  /** Whether config {@code uid} was let in already (then it is never held again). */
  public synchronized boolean released(String uid) {
    return released.contains(uid);
  }

  /**
   * @param uid            the configuration asked about
   * @param owners         the worker nodes owning its journaled peers when the gateway recovered
   * @param workersUp      the nodes with a worker member up (and reachable) now
   * @param otherServing   whether another gateway of the configuration's pool serves it now (its probe answers 200)
   */
  public synchronized Verdict ask(String uid, Set<String> owners, Set<String> workersUp, boolean otherServing, long now) {
    if (released.contains(uid)) {
      return new Verdict(Set.of(), Change.NONE, 0);
    }
    Set<String> missing = new TreeSet<>(owners);
    missing.removeAll(workersUp);
    Long first = since.get(uid);
    long held = first == null ? 0 : now - first;
    if (missing.isEmpty() || !otherServing) {
      released.add(uid);
      since.remove(uid);
      Change why = first == null ? Change.NONE : missing.isEmpty() ? Change.BACK : Change.ALONE;
      return new Verdict(Set.of(), why, held);
    }
    if (first == null) {
      since.put(uid, now);
      return new Verdict(Set.copyOf(missing), Change.HELD, 0);
    }
    if (held >= max.toNanos()) {
      released.add(uid);
      since.remove(uid);
      return new Verdict(Set.of(), Change.TIMED_OUT, held);
    }
    return new Verdict(Set.copyOf(missing), Change.NONE, held);
  }
}
