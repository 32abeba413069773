package io.egressgateway.gateway.model;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which nodes' worker members are away, from the cluster events a gateway member sees: a worker that is
 * leaving, exiting, down, unreachable or removed is away until a worker member of its node is up (and
 * reachable) again and has had {@code settle} to take its tunnels back; a node away for longer than
 * {@code forgetAfter} is taken as gone for good (scaled in) and no longer counted. Pure and thread-safe (every method synchronized): the
 * cluster subscriber feeds it, the gateway's drain reads it, clocks are given (monotonic nanoseconds).
 *
 * <p>Why a gateway cares: the failover watchdog that moves a pod's tunnel to another gateway lives in the
 * worker member of the pod's node. While that member restarts (an upgrade rolls workers and gateways at the
 * same time), a gateway that stops leaves that node's pods without anyone to move their tunnels. So a gateway
 * told to stop waits, bounded, until no worker is away ({@code GatewayAgent#drain}).
 */
public final class AwayWorkers {
  private final Duration settle;
  private final Duration forgetAfter;
  /** Node to when it went away (nanos). */
  private final Map<String, Long> away = new HashMap<>();
  /** Node to when its worker came back (nanos), while settling. */
  private final Map<String, Long> back = new HashMap<>();
  /** The member currently up for each node (its address), so that an old member's late removal is ignored. */
  private final Map<String, String> current = new HashMap<>();

  public AwayWorkers(Duration settle, Duration forgetAfter) {
    this.settle = settle;
    this.forgetAfter = forgetAfter;
  }

  /** Worker member {@code member} of {@code node} is leaving, exiting, down, unreachable or removed. */
  public synchronized void left(String node, String member, long now) {
    String up = current.get(node);
    if (up != null && !up.equals(member)) {
      return; // an earlier member of the node, gone after its successor came up
    }
    current.remove(node);
    back.remove(node);
    away.putIfAbsent(node, now);
  }

  /** Worker member {@code member} of {@code node} is up and reachable. */
  public synchronized void up(String node, String member, long now) {
    current.put(node, member);
    if (away.remove(node) != null) {
      back.put(node, now);
    }
  }

  /**
   * What a stopping gateway waits for: the nodes whose worker is away or settling, but only while some
   * worker is up. With every worker gone (an uninstall, the whole cluster stopping) nobody is coming back
   * soon, and there is nobody to protect: nothing to wait for.
   */
  public synchronized Set<String> waitingFor(long now) {
    return current.isEmpty() ? Set.of() : at(now);
  }

  /** The nodes with a worker member up (and reachable) now, as far as this member has seen. */
  public synchronized Set<String> workersUp() {
    return Set.copyOf(current.keySet());
  }

  /** The nodes whose worker is away or still settling at {@code now}, sorted. */
  public synchronized Set<String> at(long now) {
    Set<String> out = new TreeSet<>();
    away.forEach((node, since) -> {
      if (now - since < forgetAfter.toNanos()) {
        out.add(node);
      }
    });
    back.forEach((node, since) -> {
      if (now - since < settle.toNanos()) {
        out.add(node);
      }
    });
    return out;
  }
}
