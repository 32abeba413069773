package io.egressgateway.pod.entity;

import akka.Done;
import akka.pattern.StatusReply;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.model.PodInfo;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps running pods on the configuration they should have now: a pod that starts matching a policy gets its tunnel,
 * one that stops matching loses it, one whose winning policy changed moves to the other configuration, all without a
 * restart. Level-triggered: each {@link #pass} compares every pod of the node with what its sandbox has and acts on
 * the difference; a pod whose move is under way is left alone until it ends, and what failed is tried again by the
 * next pass.
 *
 * <p>No leak in between: a move to another configuration is the tunnel's own ADD with the new configuration (the
 * entity makes the new tunnel before the old one goes); a removal takes wg0 and its default route away first, and only
 * then gives the pod back its default route via eth0, so nothing of the pod leaves with the node's address while it
 * is still selected. A pod's own annotation always wins over every policy ({@link PodInfo#choose}), so an annotated
 * pod is never moved by a policy.
 *
 * <p>Owns: nothing (the tunnels are their entities'). Persists: nothing. Observes: the pod directory and the policy
 * view, through {@link CniHandler}, and the sandboxes the agent added ({@link PodAttachments}).
 */
final class PolicyFollower {
  private static final Logger log = LoggerFactory.getLogger(PolicyFollower.class);

  private final CniHandler cni;
  private final PodTunnels tunnels;
  private final PodDatapath datapath;
  private final Duration askTimeout;
  private final Executor blocking;
  private final Set<String> moving = ConcurrentHashMap.newKeySet();
  /** Pods selected while this agent knows no sandbox of theirs: each said once ("uid/config"). */
  private final Set<String> unknownSaid = ConcurrentHashMap.newKeySet();
  /** Moves that failed: each said once at WARN ("uid/config/error"). */
  private final Set<String> failedSaid = ConcurrentHashMap.newKeySet();

  PolicyFollower(CniHandler cni, PodTunnels tunnels, PodDatapath datapath, Duration askTimeout, Executor blocking) {
    this.cni = cni;
    this.tunnels = tunnels;
    this.datapath = datapath;
    this.askTimeout = askTimeout;
    this.blocking = blocking;
  }

  /** Looks at every pod of the node once; completes with how many were moved (tunnel made, moved or removed). */
  CompletionStage<Integer> pass(List<PodInfo> pods) {
    AtomicInteger moved = new AtomicInteger();
    Set<String> here = new HashSet<>();
    List<CompletableFuture<Void>> work = new java.util.ArrayList<>();
    for (PodInfo pod : pods) {
      here.add(pod.uid());
      String want = cni.configOf(pod).orElse("");
      Optional<PodAttachments.Attachment> a = cni.attachments.of(pod.uid());
      if (a.isEmpty()) {
        if (!want.isEmpty() && !unknownSaid.contains(pod.uid() + "/" + want)) {
          work.add(learn(pod, want));
        }
        continue;
      }
      if (a.get().configKey().equals(want) || !moving.add(pod.uid())) {
        continue;
      }
      CompletionStage<Boolean> step = want.isEmpty() ? release(pod, a.get()) : move(pod, a.get(), want);
      work.add(step.handle((ok, err) -> {
        moving.remove(pod.uid());
        if (err == null && ok) {
          moved.incrementAndGet();
        } else if (err != null) {
          log.warn("pod {}/{}: could not follow its policies: {}", pod.namespace(), pod.name(), err.toString());
        }
        return (Void) null;
      }).toCompletableFuture());
    }
    unknownSaid.removeIf(k -> !here.contains(k.substring(0, k.indexOf('/'))));
    return CompletableFuture.allOf(work.toArray(CompletableFuture[]::new)).thenApply(v -> moved.get());
  }

  /** The pod's tunnel, made or moved to {@code config} by the entity's own ADD (make before break). */
  private CompletionStage<Boolean> move(PodInfo pod, PodAttachments.Attachment a, String config) {
    String id = NodePinned.entityId(cni.node(), pod.uid());
    log.info("pod {}/{}: now egresses through {} (was {})", pod.namespace(), pod.name(), config,
        a.configKey().isEmpty() ? "no gateway" : a.configKey());
    CompletionStage<StatusReply<PodTunnel.Added>> asked = tunnels.ask(id, r -> new PodTunnel.Add(a.pod(config), r), askTimeout);
    return asked.thenApply(reply -> {
      if (reply.isError()) {
        if (failedSaid.add(pod.uid() + "/" + config + "/" + reply.getError().getMessage())) {
          log.warn("pod {}/{}: its tunnel through {} could not be made (it keeps what it has; tried again): {}",
              pod.namespace(), pod.name(), config, reply.getError().getMessage());
        }
        return false;
      }
      cni.attachments.moved(pod.uid(), a.containerId(), config);
      cni.tunnelMade(pod, a.podIp(), config, reply.getValue());
      return true;
    });
  }

  /** The pod no longer needs a gateway: its tunnel goes, then its default route via eth0 comes back. */
  private CompletionStage<Boolean> release(PodInfo pod, PodAttachments.Attachment a) {
    String id = NodePinned.entityId(cni.node(), pod.uid());
    log.info("pod {}/{}: no longer selected for {}; its tunnel is removed", pod.namespace(), pod.name(), a.configKey());
    CompletionStage<StatusReply<Done>> asked = tunnels.ask(id, r -> new PodTunnel.Remove(a.containerId(), r), askTimeout);
    return asked.thenApplyAsync(reply -> {
      datapath.restoreDefault(a.netns(), a.eth0Gateway());
      cni.attachments.moved(pod.uid(), a.containerId(), "");
      cni.tunnelRemoved(pod);
      return true;
    }, blocking);
  }

  /**
   * A selected pod whose sandbox this agent did not add (it ran before the agent restarted): its tunnel entity knows
   * the sandbox if it has a tunnel; one without is left as it is and said once (its next start gets the tunnel).
   */
  private CompletableFuture<Void> learn(PodInfo pod, String want) {
    String id = NodePinned.entityId(cni.node(), pod.uid());
    CompletionStage<PodTunnel.State> state = tunnels.ask(id, PodTunnel.Get::new, askTimeout);
    return state.thenAccept(s -> {
      PodTunnel.Tunnel t = PodTunnel.tunnelOf(s);
      if (t != null) {
        cni.attachments.learnt(pod.uid(), t);
      } else if (unknownSaid.add(pod.uid() + "/" + want)) {
        log.info("pod {}/{} is selected for {} but started before this agent without a tunnel: it gets one when it"
            + " starts again", pod.namespace(), pod.name(), want);
      }
    }).exceptionally(err -> null).toCompletableFuture();
  }
}
