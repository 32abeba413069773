package io.egressgateway.pod.model;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Where a pod tunnel's gateway peer points, pure. Normally at the configuration's ILB frontend. Every gateway
 * of a configuration holds the same key and every pod's peer, so when the failover watchdog forces a fresh
 * handshake it points the peer straight at one gateway's own address instead: the ILB keeps sending a flow
 * to a dead gateway until its health probe (5 s on Azure) marks it down, a gateway's own address does not
 * depend on the probe. Each forced handshake of an outage goes to the next candidate: the gateways in this
 * pod's order ({@link #order}), the one that went quiet (when the peer pointed at it) moved to the end after
 * the ILB, and the one that served last tried first. Once a session through a gateway's own address has
 * lasted {@code returnAfter} (the load balancer has caught up by then), the peer goes back to the ILB; a
 * return that gets no answer sends the next handshake to the gateway that served, and doubles the wait
 * before the next return (at most 16 times).
 *
 * @param endpoint      where the peer points now
 * @param direct        {@code endpoint} is a gateway's own address, not the ILB frontend
 * @param upSince       when the session through {@code endpoint} came up (monotonic ns); 0: none (yet)
 * @param quiet         the gateway address that went quiet at the start of this outage; empty: not known
 * @param prefer        the gateway address that served last, tried first in the next outage; empty: none
 * @param attempts      forced handshakes of this outage so far
 * @param failedReturns returns to the ILB in a row that got no answer
 */
public record GatewayRoute(String endpoint, boolean direct, long upSince, String quiet, String prefer, int attempts,
    int failedReturns) {

  private static final int MAX_RETURN_DOUBLINGS = 4;

  /** A tunnel whose peer points at the ILB frontend {@code ilb}, as made. */
  public static GatewayRoute viaIlb(String ilb) {
    return new GatewayRoute(ilb, false, 0, "", "", 0, 0);
  }

  /**
   * The gateways' own endpoints in the order the pod {@code pod} tries them: highest rendezvous hash of pod
   * and endpoint first, so pods spread over the gateways and a gateway that joins or leaves changes the
   * order only where it ranks.
   */
  public static List<String> order(String pod, Collection<String> endpoints) {
    List<String> out = new ArrayList<>(endpoints.stream().distinct().toList());
    out.sort(Comparator.comparingLong((String e) -> hash(pod + "|" + e)).reversed().thenComparing(e -> e));
    return out;
  }

  /** A forced handshake: the route the re-added peer takes ({@code ordered}: from {@link #order}). */
  public GatewayRoute onKick(String ilb, List<String> ordered) {
    String q = attempts == 0 ? (direct ? endpoint : "") : quiet;
    List<String> candidates = new ArrayList<>();
    if (!prefer.isEmpty() && !prefer.equals(q) && ordered.contains(prefer)) {
      candidates.add(prefer);
    }
    for (String e : ordered) {
      if (!e.equals(q) && !candidates.contains(e)) {
        candidates.add(e);
      }
    }
    candidates.add(ilb);
    if (!q.isEmpty() && ordered.contains(q)) {
      candidates.add(q);
    }
    String target = candidates.get(attempts % candidates.size());
    return new GatewayRoute(target, !target.equals(ilb), 0, q, prefer, attempts + 1, failedReturns);
  }

  /** A session is up through {@link #endpoint} at {@code now}. */
  public GatewayRoute onSessionUp(long now) {
    if (direct) {
      return new GatewayRoute(endpoint, true, now, "", endpoint, 0, failedReturns);
    }
    return new GatewayRoute(endpoint, false, 0, "", "", 0, 0);
  }

  /** Whether it is time to point the peer back at the ILB (a session through a gateway's address has lasted long enough). */
  public boolean returnDue(long now, Duration returnAfter) {
    if (!direct || upSince == 0 || returnAfter.isZero()) {
      return false;
    }
    return now - upSince >= returnAfter.toNanos() << Math.min(failedReturns, MAX_RETURN_DOUBLINGS);
  }

  /** The peer points back at the ILB {@code ilb}; counted as failed until a session through it comes up. */
  public GatewayRoute onReturn(String ilb) {
    return new GatewayRoute(ilb, false, 0, "", endpoint, 0, failedReturns + 1);
  }

  /** 64-bit FNV-1a, then a finalizer: stable across JVMs (String.hashCode would do, but spreads worse). */
  static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }
}
