package io.egressgateway.gateway.entity;

import akka.pattern.StatusReply;
import io.egressgateway.core.gateway.GatewayNodeProtocol.AddPeer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Peers for configs a {@code GatewayNode} does not serve yet, in arrival order. The worker that sent one
 * already sees the config in its copy of the replicated view; this node's copy (or the config's Azure
 * addresses) will follow, and a refusal would leave this gateway without the pod for good while the load
 * balancer may send the pod's flow here. So a request waits up to {@code hold}, and is refused only then.
 * Owned by the entity; not thread-safe; the entity keeps the timer.
 */
final class HeldPeers {
  private static final Logger log = LoggerFactory.getLogger(HeldPeers.class);
  /** At most this many peers wait for their configs at once; more are refused at once (memory bound). */
  static final int MAX_HELD = 10_000;

  /** A request and since when it waits ({@link System#nanoTime}). */
  private record Held(AddPeer request, long since) {}

  private final String node;
  private final Duration hold;
  private final List<Held> held = new ArrayList<>();

  HeldPeers(String node, Duration hold) {
    this.node = node;
    this.hold = hold;
  }

  /** Holds {@code c}, or refuses it when too many wait already; says whether it is held. */
  boolean hold(AddPeer c) {
    if (held.size() >= MAX_HELD) {
      refuse(c, true, "config " + c.configUid() + " is not served by gateway node " + node + " yet, and " + MAX_HELD
          + " peers already wait for their configs here");
      return false;
    }
    held.add(new Held(c, System.nanoTime()));
    log.info("[{}] holding peer {} until config {} is served here (up to {})", node, c.publicKey(), c.configUid(), hold);
    return true;
  }

  /**
   * A newer request for the same pod IP of a config replaces a held one: the held key belongs to a sandbox
   * that is gone, and admitting it later would take the IP away from the newer peer.
   */
  void dropSuperseded(AddPeer c) {
    refuseAll(old -> old.configUid().equals(c.configUid()) && old.allowedIp().equals(c.allowedIp())
        && !old.publicKey().equals(c.publicKey()), old -> "peer " + old.publicKey() + " was superseded by "
        + c.publicKey() + " for " + c.allowedIp() + " before config " + c.configUid() + " was served here");
  }

  /** Answers every held request {@code which} selects with an error and forgets it. */
  void refuseAll(Predicate<AddPeer> which, java.util.function.Function<AddPeer, String> why) {
    held.removeIf(h -> {
      boolean refuse = which.test(h.request());
      if (refuse) {
        refuse(h.request(), false, why.apply(h.request()));
      }
      return refuse;
    });
  }

  /** Takes out the requests whose config is now in {@code served}, in arrival order. */
  List<AddPeer> release(Set<String> served) {
    List<Held> ready = held.stream().filter(h -> served.contains(h.request().configUid())).toList();
    held.removeAll(ready);
    if (!ready.isEmpty()) {
      log.info("[{}] config(s) {} now served here: programming {} held peer(s)", node,
          ready.stream().map(h -> h.request().configUid()).distinct().toList(), ready.size());
    }
    return ready.stream().map(Held::request).toList();
  }

  /** Refuses what waited {@code hold}; returns how long until the next one has, or null when none waits. */
  Duration expire() {
    long now = System.nanoTime();
    long limit = hold.toNanos();
    held.removeIf(h -> {
      boolean expired = now - h.since() >= limit;
      if (expired) {
        refuse(h.request(), true, "config " + h.request().configUid() + " is not served by gateway node " + node
            + " (waited " + hold.toMillis() + " ms for it)");
      }
      return expired;
    });
    return held.isEmpty() ? null : Duration.ofNanos(Math.max(1, limit - (now - held.get(0).since())));
  }

  private void refuse(AddPeer c, boolean warn, String why) {
    if (warn) {
      log.warn("[{}] rejected peer {}: {}", node, c.publicKey(), why);
    }
    c.replyTo().tell(StatusReply.error(why));
  }
}
