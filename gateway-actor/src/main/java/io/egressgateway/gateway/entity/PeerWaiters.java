package io.egressgateway.gateway.entity;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which journaled peers a {@code GatewayNode} knows to be on their device, and who waits for one to get
 * there: an {@code AddPeer} is answered only once its peer is programmed. Owned by the entity; not
 * thread-safe.
 */
final class PeerWaiters {
  private final Map<String, List<ActorRef<StatusReply<Done>>>> waiting = new HashMap<>();
  private final Set<String> applied = new HashSet<>();

  boolean applied(String uid, String key) {
    return applied.contains(id(uid, key));
  }

  /** {@code replyTo} waits for the peer, which is not on its device yet (an operation for it is queued). */
  void await(String uid, String key, ActorRef<StatusReply<Done>> replyTo) {
    waiting.computeIfAbsent(id(uid, key), k -> new ArrayList<>()).add(replyTo);
    applied.remove(id(uid, key));
  }

  /** The peer is on its device: whoever waits is answered. */
  void programmed(String uid, String key) {
    applied.add(id(uid, key));
    List<ActorRef<StatusReply<Done>>> w = waiting.remove(id(uid, key));
    if (w != null) {
      w.forEach(r -> r.tell(StatusReply.ack()));
    }
  }

  /** The peer is no longer (or not yet) known to be on its device. */
  void unprogrammed(String uid, String key) {
    applied.remove(id(uid, key));
  }

  /** The peer will not be programmed: whoever waits gets {@code why}. */
  void refuse(String uid, String key, String why) {
    List<ActorRef<StatusReply<Done>>> w = waiting.remove(id(uid, key));
    if (w != null) {
      w.forEach(r -> r.tell(StatusReply.error(why)));
    }
  }

  private static String id(String uid, String key) {
    return uid + " " + key;
  }
}
