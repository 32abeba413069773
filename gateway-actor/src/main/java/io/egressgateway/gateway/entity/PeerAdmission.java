package io.egressgateway.gateway.entity;

import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.pattern.StatusReply;
import akka.persistence.typed.javadsl.EffectFactories;
import akka.persistence.typed.javadsl.ReplyEffect;
import io.egressgateway.core.gateway.GatewayNodeProtocol.AddPeer;
import io.egressgateway.core.gateway.GatewayNodeProtocol.Command;
import io.egressgateway.core.gateway.GatewayNodeProtocol.RemovePeer;
import io.egressgateway.gateway.model.DatapathAction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a {@code GatewayNode} takes a pod's peer ({@link AddPeer}) from a worker: checked, held while its
 * config is not served here yet ({@link HeldPeers}), journaled together with whatever else arrives
 * meanwhile (a burst of pods costs one journal write, not one each), then programmed, and answered only
 * once it is on its device ({@link PeerWaiters}). A removal of the same peer overtakes all of that. Owned by
 * the entity, whose handlers call it; not thread-safe.
 */
final class PeerAdmission {
  private static final Logger log = LoggerFactory.getLogger(PeerAdmission.class);
  private static final String HOLD = "hold";

  private final String node;
  private final ActorRef<Command> self;
  private final TimerScheduler<Command> timers;
  private final Duration hold;
  private final HeldPeers held;
  private final PeerWaiters waiters;
  private final PeerDigests digests;
  /** Programs a journaled peer (queues the operation and kicks the datapath work). */
  private final BiConsumer<DatapathAction, GatewayNode.State> program;
  /** New peers waiting to be journaled together (while one write runs, the next ones queue up here). */
  private final List<AddPeer> incoming = new ArrayList<>();
  private boolean flushQueued;

  PeerAdmission(String node, ActorRef<Command> self, TimerScheduler<Command> timers, Duration hold, PeerWaiters waiters,
      PeerDigests digests, BiConsumer<DatapathAction, GatewayNode.State> program) {
    this.node = node;
    this.self = self;
    this.timers = timers;
    this.hold = hold;
    this.held = new HeldPeers(node, hold);
    this.waiters = waiters;
    this.digests = digests;
    this.program = program;
  }

  /** An {@link AddPeer}; {@code served}: the configs this node serves now. */
  ReplyEffect<GatewayNode.Event, GatewayNode.State> add(EffectFactories<GatewayNode.Event, GatewayNode.State> effect,
      GatewayNode.State state, AddPeer c, Set<String> served) {
    String problem = PeerRequests.invalidPeer(c.configUid(), c.publicKey(), c.allowedIp());
    problem = problem != null ? problem : digests.whyOutdated(c);
    problem = problem != null ? problem : PeerRequests.ownedElsewhere(state, c.configUid(), c.publicKey(), c.node());
    if (problem != null) {
      log.warn("[{}] rejected peer {}: {}", node, c.publicKey(), problem);
      return effect.reply(c.replyTo(), StatusReply.error(problem));
    }
    held.dropSuperseded(c);
    if (!served.contains(c.configUid())) {
      if (held.hold(c) && !timers.isTimerActive(HOLD)) {
        timers.startSingleTimer(HOLD, new GatewayNode.HoldElapsed(), hold);
      }
      return effect.noReply();
    }
    admit(state, c);
    return effect.noReply();
  }

  /** Held peers whose configs are now {@code served} are admitted. */
  void release(GatewayNode.State state, Set<String> served) {
    held.release(served).forEach(r -> admit(state, r));
  }

  /** The oldest held peer has waited {@code peer-hold}: what waited that long is refused. */
  ReplyEffect<GatewayNode.Event, GatewayNode.State> holdElapsed(EffectFactories<GatewayNode.Event, GatewayNode.State> effect) {
    Duration next = held.expire();
    if (next != null) {
      timers.startSingleTimer(HOLD, new GatewayNode.HoldElapsed(), next);
    }
    return effect.noReply();
  }

  /** Journals the peers that arrived since the last flush, in one write, then programs them. */
  ReplyEffect<GatewayNode.Event, GatewayNode.State> flush(EffectFactories<GatewayNode.Event, GatewayNode.State> effect,
      GatewayNode.State state) {
    flushQueued = false;
    List<AddPeer> batch = new ArrayList<>(incoming);
    incoming.clear();
    // a list of the node's tunnels that came in meanwhile may already say the tunnel is gone
    refuse(batch, c -> digests.whyOutdated(c) != null, digests::whyOutdated);
    List<GatewayNode.Event> events = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (AddPeer c : batch) {
      if (!state.has(c.configUid(), c.publicKey(), c.allowedIp()) && seen.add(c.configUid() + " " + c.publicKey() + " " + c.allowedIp())) {
        events.add(new GatewayNode.PeerAdded(c.configUid(), c.publicKey(), c.allowedIp(), c.node(), c.seq()));
      }
    }
    if (events.isEmpty()) {
      return effect.none().thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
    }
    return effect.persist(events).thenRun(s -> batch.forEach(c -> awaitPeer(c, s))).thenNoReply();
  }

  /**
   * A removal of the peer: an addition of it still waiting for its config, its journal write or its device
   * must not land after the removal, and its asker gets an answer.
   */
  void overtakenBy(RemovePeer c) {
    String overtaken = "peer " + c.publicKey() + " was removed before it was programmed";
    Predicate<AddPeer> same = a -> a.configUid().equals(c.configUid()) && a.publicKey().equals(c.publicKey());
    held.refuseAll(same, a -> overtaken);
    refuse(incoming, same, a -> overtaken);
    waiters.refuse(c.configUid(), c.publicKey(), overtaken);
  }

  /**
   * A valid peer of a config this node serves: answered at once if programmed; else programmed (and first
   * journaled, unless it is already).
   */
  private void admit(GatewayNode.State state, AddPeer c) {
    if (state.has(c.configUid(), c.publicKey(), c.allowedIp())) {
      if (waiters.applied(c.configUid(), c.publicKey())) {
        c.replyTo().tell(StatusReply.ack());
      } else {
        awaitPeer(c, state);
      }
      return;
    }
    incoming.add(c);
    if (!flushQueued) {
      flushQueued = true;
      self.tell(new GatewayNode.FlushPeers());
    }
  }

  private void awaitPeer(AddPeer c, GatewayNode.State state) {
    waiters.await(c.configUid(), c.publicKey(), c.replyTo());
    program.accept(new DatapathAction.AddPeer(c.configUid(), c.publicKey(), c.allowedIp()), state);
  }

  /** Answers the requests of {@code list} that {@code which} selects with an error and removes them. */
  private static void refuse(List<AddPeer> list, Predicate<AddPeer> which, Function<AddPeer, String> why) {
    list.removeIf(c -> {
      if (!which.test(c)) {
        return false;
      }
      c.replyTo().tell(StatusReply.error(why.apply(c)));
      return true;
    });
  }
}
