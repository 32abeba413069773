package io.egressgateway.azure.entity;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import io.egressgateway.azure.model.ConfigResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link GatewayPool}'s callers, in memory only: who waits for which config to be ready or removed, and the
 * last answer per config (result or error), so a repeated ensure is answered without a round. Lost on restart
 * on purpose: callers ask again, and the next round answers them.
 */
final class PoolCallers {
  private static final Logger log = LoggerFactory.getLogger(GatewayPool.class);

  private final String poolId;
  private final Map<String, List<ActorRef<StatusReply<ConfigResult>>>> waitingEnsure = new HashMap<>();
  private final Map<String, List<ActorRef<StatusReply<Done>>>> waitingRemove = new HashMap<>();
  private final Map<String, ConfigResult> results = new HashMap<>();
  private final Map<String, String> reportedErrors = new HashMap<>();

  PoolCallers(String poolId) {
    this.poolId = poolId;
  }

  /** The last answer for an unchanged config, if it has one. */
  Optional<StatusReply<ConfigResult>> lastAnswer(String uid) {
    ConfigResult done = results.get(uid);
    if (done != null) {
      return Optional.of(StatusReply.success(done));
    }
    String error = reportedErrors.get(uid);
    return error == null ? Optional.empty() : Optional.of(StatusReply.error(error));
  }

  /** The config changed: earlier answers no longer hold. */
  void forgetAnswers(String uid) {
    results.remove(uid);
    reportedErrors.remove(uid);
  }

  void awaitReady(String uid, ActorRef<StatusReply<ConfigResult>> replyTo) {
    waitingEnsure.computeIfAbsent(uid, k -> new ArrayList<>()).add(replyTo);
  }

  void awaitRemoved(String uid, ActorRef<StatusReply<Done>> replyTo) {
    waitingRemove.computeIfAbsent(uid, k -> new ArrayList<>()).add(replyTo);
  }

  /** A removal supersedes ensures still waiting for the config. */
  void removing(String uid) {
    waitingEnsure.getOrDefault(uid, List.of()).forEach(r -> r.tell(StatusReply.error("config " + uid + " is being removed")));
    waitingEnsure.remove(uid);
    forgetAnswers(uid);
  }

  void ready(String uid, ConfigResult result) {
    results.put(uid, result);
    reportedErrors.remove(uid);
    waitingEnsure.getOrDefault(uid, List.of()).forEach(ref -> ref.tell(StatusReply.success(result)));
    waitingEnsure.remove(uid);
  }

  void removed(String uid) {
    waitingRemove.getOrDefault(uid, List.of()).forEach(ref -> ref.tell(StatusReply.ack()));
    waitingRemove.remove(uid);
  }

  /** Answers the config's waiting ensures with the error and keeps it for later ones; logs a new message once. */
  void error(String uid, String message) {
    if (!message.equals(reportedErrors.put(uid, message))) {
      log.warn("[{}] config {}: {}", poolId, uid, message);
    }
    waitingEnsure.getOrDefault(uid, List.of()).forEach(ref -> ref.tell(StatusReply.error(message)));
    waitingEnsure.remove(uid);
  }
}
