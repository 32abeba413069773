package io.egressgateway.gateway.entity;

import akka.actor.typed.ActorSystem;
import io.egressgateway.gateway.model.DatapathAction;
import io.egressgateway.gateway.model.PeerSyncPlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the worker nodes' lists of their live tunnels ({@link PeerDigests}) call for on a {@code GatewayNode}:
 * the events that bring the journal back to them, and, once those are journaled, the device operations,
 * answers, counts and log lines that follow. Holds no state of its own.
 */
final class DigestRepairs {
  private static final Logger log = LoggerFactory.getLogger(DigestRepairs.class);

  private final String node;
  private final ActorSystem<?> system;
  private final PeerWaiters waiters;

  DigestRepairs(String node, ActorSystem<?> system, PeerWaiters waiters) {
    this.node = node;
    this.system = system;
    this.waiters = waiters;
  }

  /** The events for {@code changes} by config uid, in order. */
  static List<GatewayNode.Event> events(Map<String, List<PeerSyncPlanner.Change>> changes) {
    List<GatewayNode.Event> events = new ArrayList<>();
    changes.forEach((uid, list) -> list.forEach(ch -> events.add(eventOf(uid, ch))));
    return events;
  }

  /**
   * After the events of {@code changes} were journaled: puts them on the devices (O(changes)) through
   * {@code queue}, counts them ({@code source=digest}) and logs them ({@code why}: whose lists).
   */
  void applied(Map<String, List<PeerSyncPlanner.Change>> changes, String why, Consumer<DatapathAction> queue) {
    changes.forEach((uid, list) -> {
      PeerSyncPlanner.Counts n = PeerSyncPlanner.count(list);
      if (n.added() + n.removed() > 0) {
        log.info("[{}] config {}: {} added {} and removed {} peer(s) ({} claimed)", node, uid, why, n.added(), n.removed(), n.claimed());
        GatewayNodeMetrics.countRepairs(system, uid, "digest", n.added(), n.removed());
      }
      for (PeerSyncPlanner.Change ch : list) {
        log.debug("[{}] config {}: {}", node, uid, ch);
        if (ch instanceof PeerSyncPlanner.Remove r) {
          waiters.refuse(uid, r.publicKey(), "peer " + r.publicKey() + " was removed: " + r.why());
          queue.accept(new DatapathAction.RemovePeer(uid, r.publicKey()));
        } else if (ch instanceof PeerSyncPlanner.Add a) {
          waiters.unprogrammed(uid, a.publicKey());
          queue.accept(new DatapathAction.AddPeer(uid, a.publicKey(), a.allowedIp()));
        }
      }
    });
  }

  private static GatewayNode.Event eventOf(String uid, PeerSyncPlanner.Change ch) {
    if (ch instanceof PeerSyncPlanner.Add a) {
      return new GatewayNode.PeerAdded(uid, a.publicKey(), a.allowedIp(), a.owner().node(), a.owner().seq());
    } else if (ch instanceof PeerSyncPlanner.Claim c) {
      return new GatewayNode.PeerClaimed(uid, c.publicKey(), c.owner().node(), c.owner().seq());
    }
    return new GatewayNode.PeerRemoved(uid, ch.publicKey());
  }
}
