package io.egressgateway.gateway.infra;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.receptionist.Receptionist;
import akka.cluster.Member;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.typed.Cluster;
import io.egressgateway.core.Roles;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.gateway.Handover;
import io.egressgateway.gateway.entity.GatewayNode;
import io.egressgateway.gateway.model.ConfigSample;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.HandoverPlan;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first step of a gateway's drain, before its probe turns red ({@link Handover}): asks this node's
 * {@code GatewayNode} which worker node owns each pod peer, looks at the devices for the pods with a live
 * session here ({@link HandoverPlan}), and tells the worker member of each such node (found with the
 * receptionist) to move them to another gateway; then gives them {@code wait} to do so. Never fails the
 * drain: whatever goes wrong is logged and the drain goes on (those pods fail over through their watchdogs,
 * as without the handover). Bounded: two asks of {@link #ASK_TIMEOUT}, the devices' look and {@code wait}.
 */
public final class SessionHandover {
  private static final Logger log = LoggerFactory.getLogger(SessionHandover.class);
  static final Duration ASK_TIMEOUT = Duration.ofSeconds(2);

  private final ActorSystem<?> system;
  private final String node;
  private final ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region;
  private final GatewayDatapath datapath;
  private final Executor blocking;
  private final Duration wait;

  public SessionHandover(ActorSystem<?> system, String node, ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region,
      GatewayDatapath datapath, Executor blocking, Duration wait) {
    this.system = system;
    this.node = node;
    this.region = region;
    this.datapath = datapath;
    this.blocking = blocking;
    this.wait = wait;
  }

  /** Runs the handover; completes with the number of pods named to workers, after {@code wait} when any were. */
  public CompletableFuture<Integer> run() {
    long t0 = System.nanoTime();
    CompletionStage<GatewayNode.Owners> owners = AskPattern.ask(region,
        r -> new ShardingEnvelope<>(node, new GatewayNode.GetOwners(r)), ASK_TIMEOUT, system.scheduler());
    return owners.thenApplyAsync(o -> HandoverPlan.byNode(o.byConfig(), samples(o.byConfig().keySet()),
            java.time.Instant.now().getEpochSecond()), blocking)
        .thenCompose(plan -> plan.isEmpty() ? CompletableFuture.completedFuture(0) : AskPattern.<Receptionist.Command, Receptionist.Listing>ask(
            system.receptionist(), r -> Receptionist.find(Handover.SERVICE, r), ASK_TIMEOUT, system.scheduler())
            .thenApply(listing -> tell(plan, listing.getServiceInstances(Handover.SERVICE))))
        .toCompletableFuture()
        .thenCompose(named -> named == 0 ? CompletableFuture.completedFuture(0)
            : CompletableFuture.supplyAsync(() -> named, CompletableFuture.delayedExecutor(wait.toMillis(), TimeUnit.MILLISECONDS)))
        .thenApply(named -> {
          if (named > 0) {
            log.info("gateway drain: {} pod session(s) handed over to other gateways in {} ms", named, (System.nanoTime() - t0) / 1_000_000);
          }
          return named;
        })
        .exceptionally(e -> {
          log.warn("gateway drain: pod sessions not handed over ({}); their watchdogs move them once the load balancer does",
              e.toString());
          return 0;
        });
  }

  private Map<String, ConfigSample> samples(java.util.Set<String> uids) {
    Map<String, ConfigSample> out = new HashMap<>();
    for (String uid : uids) {
      try {
        datapath.sample(uid).ifPresent(s -> out.put(uid, s));
      } catch (RuntimeException e) {
        log.warn("gateway drain: config {} not looked at for the handover: {}", uid, e.getMessage());
      }
    }
    return out;
  }

  /** Tells each worker member of a node in {@code plan} its pods; returns how many pods were named. */
  private int tell(Map<String, List<String>> plan, java.util.Set<ActorRef<Handover.Leaving>> workers) {
    Map<akka.actor.Address, Member> members = new HashMap<>();
    Cluster cluster = Cluster.get(system);
    cluster.state().getMembers().forEach(m -> members.put(m.address(), m));
    int named = 0;
    java.util.Set<String> reached = new java.util.HashSet<>();
    for (ActorRef<Handover.Leaving> w : workers) {
      akka.actor.Address a = w.path().address();
      Member m = a.hasLocalScope() ? cluster.selfMember() : members.get(a);
      Optional<String> workerNode = m == null || !m.hasRole(Roles.WORKER) ? Optional.empty() : Roles.nodeOf(m.getRoles());
      List<String> keys = workerNode.map(plan::get).orElse(null);
      if (keys == null) {
        continue;
      }
      w.tell(new Handover.Leaving(node, keys));
      if (reached.add(workerNode.get())) {
        named += keys.size();
      }
    }
    java.util.Set<String> missed = new java.util.TreeSet<>(plan.keySet());
    missed.removeAll(reached);
    if (!missed.isEmpty()) {
      log.info("gateway drain: no worker member found on node(s) {} to hand their pods' sessions to", missed);
    }
    return named;
  }
}
