package io.egressgateway.pod.entity;

import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import io.egressgateway.core.Roles;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.GatewayPeers;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's half of the gateways' self-healing: tells every gateway of each configuration's pool the full
 * list of this node's live tunnels for that configuration ({@code GatewayNodeProtocol.PeersOfNode}, through
 * {@link GatewayPeers#sendPeers}), every {@code interval} (jittered, so a thousand nodes do not speak at
 * once), and at once to a gateway that joins a pool or whose member comes up. A gateway adds what it lacks
 * and drops what this node no longer has: an addition or removal it missed (down, restarting, partitioned)
 * is repaired within one interval, and no retry waits anywhere else.
 *
 * <p>It starts only once the agent has taken its tunnels back ({@link Start}), by when the node's pod cache,
 * which names the tunnels made by an earlier agent, has synced: a list that missed a tunnel would make the
 * gateways drop its peer. A list is all or nothing: if any tunnel entity does not answer, nothing is sent
 * this time.
 *
 * <p>Owns: nothing on the datapath. Persists: nothing. Observes: the replicated view (the pools), the
 * node's tunnels (asked from their {@link PodTunnel} entities), gateway members coming up.
 */
public final class PeerSync {
  private static final Logger log = LoggerFactory.getLogger(PeerSync.class);
  private static final String TICK = "tick";

  /** One live tunnel: its configuration, pod public key and pod IP. */
  public record Live(String configUid, String publicKey, String podIp) {}

  /** Local messages only (never sent to another member). */
  public sealed interface Command {}

  /** The agent has taken its tunnels back: lists may go out from now on, the first one at once. */
  public record Start() implements Command {}

  /** The replicated view changed. */
  public record ViewsChanged(Map<String, ConfigView> views) implements Command {}

  /** The member of gateway node {@code node} came up (a new member, or one that restarted). */
  public record GatewayUp(String node) implements Command {}

  private record Tick() implements Command {}

  /**
   * Lists to send: for the configurations {@code configs} (empty: all) to their gateways among
   * {@code gateways} (empty: all of them).
   */
  private record Round(Set<String> configs, Set<String> gateways) {
    static final Round ALL = new Round(Set.of(), Set.of());

    Round merge(Round other) {
      if (configs.isEmpty() && gateways.isEmpty() || other.configs.isEmpty() && other.gateways.isEmpty()) {
        return ALL;
      }
      return new Round(union(configs, other.configs), union(gateways, other.gateways));
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
      if (a.isEmpty() || b.isEmpty()) {
        return Set.of();
      }
      Set<String> u = new HashSet<>(a);
      u.addAll(b);
      return Set.copyOf(u);
    }
  }

  private record Listed(long seq, Round round, List<Live> tunnels, Throwable error) implements Command {}

  /**
   * @param tunnels       lists this node's live tunnels; fails when it cannot list all of them
   * @param watchMembers  follow the cluster's members (a gateway coming up gets the lists at once)
   */
  public static Behavior<Command> create(GatewayPeers gateways, Supplier<CompletionStage<List<Live>>> tunnels, Duration interval,
      boolean watchMembers) {
    AtomicBoolean started = new AtomicBoolean(); // outlives a restart: a restarted PeerSync does not wait again
    return Behaviors.<Command>supervise(Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      if (watchMembers) {
        Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(
            ctx.messageAdapter(ClusterEvent.MemberUp.class, up -> new GatewayUp(
                up.member().hasRole(Roles.GATEWAY) ? Roles.nodeOf(up.member().getRoles()).orElse("") : "")),
            ClusterEvent.MemberUp.class));
      }
      PeerSync sync = new PeerSync(ctx, timers, gateways, tunnels, interval, started);
      if (started.get()) {
        sync.scheduleTick();
        return sync.started();
      }
      return sync.idle();
    }))).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2));
  }

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final GatewayPeers gateways;
  private final Supplier<CompletionStage<List<Live>>> tunnels;
  private final Duration interval;
  private final AtomicBoolean startedOnce;
  private final Metrics.Counter rounds;
  private Map<String, ConfigView> views = Map.of();
  /** Per configuration uid, its gateways that can serve it, as last seen. */
  private final Map<String, Set<String>> pools = new HashMap<>();
  private boolean listing;
  private Round pending;

  private PeerSync(ActorContext<Command> ctx, TimerScheduler<Command> timers, GatewayPeers gateways,
      Supplier<CompletionStage<List<Live>>> tunnels, Duration interval, AtomicBoolean startedOnce) {
    this.ctx = ctx;
    this.timers = timers;
    this.gateways = gateways;
    this.tunnels = tunnels;
    this.interval = interval;
    this.startedOnce = startedOnce;
    this.rounds = Metrics.get(ctx.getSystem()).counter("egress_pod_peer_lists_total",
        "rounds of lists of this node's live tunnels sent to the gateways (ok), or not sent because a tunnel did not "
            + "answer (failed)", "result");
  }

  /** Before {@link Start}: follows the view only. */
  private Behavior<Command> idle() {
    return Behaviors.receive(Command.class)
        .onMessage(ViewsChanged.class, this::onViewsBeforeStart)
        .onMessage(Start.class, this::onStart)
        .build();
  }

  private Behavior<Command> started() {
    return Behaviors.receive(Command.class)
        .onMessage(ViewsChanged.class, this::onViewsChanged)
        .onMessage(GatewayUp.class, this::onGatewayUp)
        .onMessage(Tick.class, this::onTick)
        .onMessage(Listed.class, this::onListed)
        .onMessage(Start.class, m -> Behaviors.same())
        .build();
  }

  private Behavior<Command> onViewsBeforeStart(ViewsChanged m) {
    onViews(m.views());
    return Behaviors.same();
  }

  private Behavior<Command> onStart(Start m) {
    log.info("sending this node's tunnels to the gateways every {} (jittered) from now on", interval);
    startedOnce.set(true);
    scheduleTick();
    onRound(Round.ALL);
    return started();
  }

  private Behavior<Command> onViewsChanged(ViewsChanged m) {
    onViews(m.views()).forEach((uid, joined) -> onRound(new Round(Set.of(uid), joined)));
    return Behaviors.same();
  }

  private Behavior<Command> onGatewayUp(GatewayUp m) {
    if (!m.node().isEmpty()) {
      onRound(new Round(Set.of(), Set.of(m.node())));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onTick(Tick m) {
    scheduleTick();
    onRound(Round.ALL);
    return Behaviors.same();
  }

  /**
   * Keeps the view; returns, per configuration seen before, the gateways that joined its pool with complete
   * addresses. A configuration seen for the first time has nobody joined: its tunnels asked all its gateways.
   */
  private Map<String, Set<String>> onViews(Map<String, ConfigView> now) {
    views = Map.copyOf(now);
    Map<String, Set<String>> joined = new HashMap<>();
    Map<String, Set<String>> seen = new HashMap<>();
    for (ConfigView v : now.values()) {
      Set<String> ready = ready(v);
      seen.put(v.uid(), ready);
      Set<String> before = pools.get(v.uid());
      if (before != null) {
        Set<String> added = new TreeSet<>(ready);
        added.removeAll(before);
        if (!added.isEmpty()) {
          log.info("gateway(s) {} joined the pool of {}: sending them this node's tunnels", added, v.key());
          joined.put(v.uid(), added);
        }
      }
    }
    pools.clear();
    pools.putAll(seen);
    return joined;
  }

  private void onRound(Round r) {
    if (listing) {
      pending = pending == null ? r : pending.merge(r);
      return;
    }
    listing = true;
    long seq = gateways.nextSeq(); // before listing: every tunnel asked for earlier is in the list, or gone
    ctx.pipeToSelf(tunnels.get(), (list, err) -> new Listed(seq, r, list, err));
  }

  private Behavior<Command> onListed(Listed m) {
    listing = false;
    if (m.error() != null) {
      rounds.inc("failed");
      log.warn("this node's tunnels not sent to the gateways this time: {}", TunnelPipelines.describe(m.error()));
    } else {
      rounds.inc("ok");
      send(m.seq(), m.round(), m.tunnels());
    }
    if (pending != null) {
      Round next = pending;
      pending = null;
      onRound(next);
    }
    return Behaviors.same();
  }

  private void send(long seq, Round round, List<Live> live) {
    Map<String, Map<String, String>> byConfig = new HashMap<>();
    live.forEach(t -> byConfig.computeIfAbsent(t.configUid(), u -> new HashMap<>()).put(t.publicKey(), t.podIp()));
    int sent = 0;
    for (ConfigView v : views.values()) {
      if (!round.configs().isEmpty() && !round.configs().contains(v.uid())) {
        continue;
      }
      Map<String, String> peers = byConfig.getOrDefault(v.uid(), Map.of());
      for (String gw : ready(v)) {
        if (round.gateways().isEmpty() || round.gateways().contains(gw)) {
          gateways.sendPeers(gw, v.uid(), seq, peers);
          sent++;
        }
      }
    }
    log.debug("sent {} list(s) of this node's {} live tunnel(s) at {}", sent, live.size(), seq);
  }

  private void scheduleTick() {
    double jitter = 0.9 + 0.2 * ThreadLocalRandom.current().nextDouble();
    timers.startSingleTimer(TICK, new Tick(), Duration.ofMillis(Math.max(1, (long) (interval.toMillis() * jitter))));
  }

  /** The gateways of {@code v}'s pool that can serve it (their addresses are complete). */
  private static Set<String> ready(ConfigView v) {
    Set<String> out = new TreeSet<>();
    v.gateways().forEach((gw, a) -> {
      if (a.complete()) {
        out.add(gw);
      }
    });
    return out;
  }
}
