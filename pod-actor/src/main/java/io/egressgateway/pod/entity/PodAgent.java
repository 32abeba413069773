package io.egressgateway.pod.entity;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.DispatcherSelector;
import akka.cluster.typed.Cluster;
import io.egressgateway.core.Roles;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.core.view.PodGenerations;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.pod.infra.CniServer;
import io.egressgateway.pod.infra.GatewayPeers;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.pod.infra.PodDirectory;
import io.egressgateway.pod.infra.PodKeys;
import io.egressgateway.pod.infra.PodSettings;
import io.egressgateway.pod.infra.ShardedGatewayPeers;
import io.egressgateway.pod.infra.TunnelGenerations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;

/**
 * The pod half of a worker member: PodTunnel sharding (pinned to this member's node), the CNI server, the
 * lists of this node's tunnels the gateways heal themselves from ({@link PeerSync}), and their wiring to the
 * replicated config view and the gateways. The socket is closed early in coordinated shutdown, so a stopping
 * agent answers no half-done ADD. Once the tunnels are taken over, running pods follow the cluster-wide policies
 * ({@link PolicyFollower}): after a change of a pod of this node or of the policy view (coalesced), and every
 * {@value #FOLLOW_EVERY_SECONDS} s.
 *
 * <p>Owns: the CNI server. Persists: nothing itself. Observes: the member's roles (its node name).
 */
public final class PodAgent {
  /** How often a running agent looks for DELs the plugin kept for it. */
  static final java.time.Duration DEFERRED_DEL_SWEEP = java.time.Duration.ofSeconds(5);
  private final CniServer server;
  private final CniHandler handler;
  private final ActorRef<PeerSync.Command> peerSync;
  private final io.egressgateway.core.metrics.Metrics.Gauge resumedGauge;
  private volatile java.util.concurrent.CompletionStage<Integer> resumed = CompletableFuture.completedFuture(0);
  static final int FOLLOW_EVERY_SECONDS = 5;
  /** How long a starting agent waits for the policies to replicate before it takes an empty view for "none". */
  static final java.time.Duration POLICIES_AWAITED = java.time.Duration.ofSeconds(30);
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PodAgent.class);
  /** Where the node's named network namespaces are (the runtime's pod namespaces among them). */
  static final String NETNS_DIR = "/var/run/netns";
  private static final java.time.Duration FOLLOW_COALESCE = java.time.Duration.ofMillis(100);
  private final ActorSystem<?> system;
  private final PodDirectory directory;
  private final java.util.concurrent.atomic.AtomicBoolean followQueued = new java.util.concurrent.atomic.AtomicBoolean();
  private volatile boolean following;
  /** Completes once the policies have replicated here (or there were none when the agent last ran, or after a wait). */
  private volatile java.util.concurrent.CompletionStage<Void> policiesHere = CompletableFuture.completedFuture(null);
  private final io.egressgateway.core.metrics.Metrics.Counter policyMoves;

  private PodAgent(ActorSystem<?> system, PodDirectory directory, CniServer server, CniHandler handler,
      ActorRef<PeerSync.Command> peerSync) {
    this.system = system;
    this.directory = directory;
    this.server = server;
    this.handler = handler;
    this.peerSync = peerSync;
    io.egressgateway.core.metrics.Metrics metrics = io.egressgateway.core.metrics.Metrics.get(system);
    this.resumedGauge = metrics.gauge("egress_pod_tunnels_resumed", "tunnels of pods made before this agent started that it took back");
    this.policyMoves = metrics.counter("egress_pod_policy_moves_total",
        "running pods whose tunnel was made, moved or removed because the policies selecting them changed");
  }

  /** Reports what the CNI path did to {@code observer} (PodEndpoint objects, metrics). */
  public PodAgent observedBy(CniHandler.Observer observer) {
    handler.observedBy(observer);
    return this;
  }

  public CniServer server() {
    return server;
  }

  /** Completes with how many tunnels made before this agent started are served again ({@link #takeOverTunnels}). */
  public java.util.concurrent.CompletionStage<Integer> resumed() {
    return resumed;
  }

  /** Starts with the real datapath (backend chosen by probing, or as configured) and gateway asks. */
  public static PodAgent start(ActorSystem<?> system, PodSettings settings, PodDirectory directory) {
    CommandRunner cmd = new CommandRunner(settings.commandTimeout());
    String holder = system.settings().config().getString("egress.pod.wireguard-holder");
    HostPodDatapath datapath = new HostPodDatapath(cmd, WireGuardBackends.choose(cmd, settings.wireguardBackend(),
        holder.isBlank() ? null : java.nio.file.Path.of(holder)),
        settings.hostNetns());
    if (datapath.backend() instanceof io.egressgateway.datapath.wireguard.KernelWireGuard kernel) {
      io.egressgateway.core.metrics.Metrics.get(system).gauge("egress_wireguard_netlink_fallbacks",
          "reads of kernel WireGuard devices that went to wg show because netlink failed, since start").track(kernel::netlinkFallbacks);
    }
    com.typesafe.config.Config failover = system.settings().config().getConfig("egress.pod.failover");
    if (!failover.getDuration("stall").isZero()) {
      io.egressgateway.pod.infra.FailoverWatchdog watchdog = new io.egressgateway.pod.infra.FailoverWatchdog(
          datapath.backend(), new io.egressgateway.pod.infra.FailoverWatchdog.Timing(failover.getDuration("stall"),
              failover.getDuration("retry"), failover.getDuration("first-handshake-retry"), failover.getDuration("unanswered-data")),
          System::nanoTime).returningToIlbAfter(failover.getDuration("return-to-ilb")).awaitingRunning()
          .start(failover.getDuration("check-interval"));
      datapath.watchedBy(watchdog);
      ConfigViews.get(system).subscribe(watchdog::offerViews);
      io.egressgateway.core.metrics.Metrics metrics = io.egressgateway.core.metrics.Metrics.get(system);
      metrics.gauge("egress_pod_tunnel_oldest_handshake_seconds",
          "age of the oldest WireGuard handshake among this node's pod tunnels").track(watchdog::oldestHandshakeSeconds);
      metrics.gauge("egress_pod_tunnel_forced_handshakes",
          "pod tunnels forced into a fresh handshake by the failover watchdog since start").track(watchdog::kicks);
      metrics.gauge("egress_pod_tunnels_handed_over",
          "pod tunnels moved off a stopping gateway at its word (before its load balancer probe turned red) since start")
          .track(watchdog::handedOver);
      // stopping gateways tell this node's tunnels to move to another gateway before the load balancer moves them
      io.egressgateway.pod.infra.HandoverReceiver.start(system, watchdog::offerHandover);
      metrics.gauge("egress_pod_tunnel_guard_failures",
          "failed attempts to guard this node's pod tunnel ports against gateway-started handshakes since start (each retried)")
          .track(watchdog::guardFailures);
      watchdog.onCensus(new io.egressgateway.pod.infra.TunnelMetrics(metrics,
          Roles.nodeOf(Cluster.get(system).selfMember().getRoles()).orElse("")));
      // the last thing to stop: while the member leaves the cluster its node's tunnels are still watched (an
      // upgrade rolls the gateways while the workers restart)
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "pod-failover-watchdog", () -> {
        watchdog.close();
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      // the tunnels still running from before this start are watched now, not only once taken back
      CompletableFuture.runAsync(() -> {
        long t0 = System.nanoTime();
        try {
          int n = datapath.watchRunning(java.nio.file.Path.of(NETNS_DIR));
          if (n > 0) {
            log.info("{} pod tunnel(s) found running on this node and watched for failover right away ({} ms)", n,
                (System.nanoTime() - t0) / 1_000_000);
          }
        } finally {
          watchdog.runningWatched();
        }
      }, system.dispatchers().lookup(DispatcherSelector.blocking()));
    }
    return start(system, settings, directory, datapath, new ShardedGatewayPeers(system, settings.gatewayWait()));
  }

  public static PodAgent start(ActorSystem<?> system, PodSettings settings, PodDirectory directory,
      PodDatapath datapath, GatewayPeers gateways) {
    String node = Roles.nodeOf(Cluster.get(system).selfMember().getRoles())
        .orElseThrow(() -> new IllegalStateException("this member has no node:<name> role; the pod agent needs one"));
    ConfigViews views = ConfigViews.get(system);
    PodTunnel.Deps deps = new PodTunnel.Deps(datapath, gateways, views::current, settings.gatewayWait(), settings.gatewayGrace(),
        new PodKeys(), settings.exceptionCidrs(), TunnelGenerations.of(PodGenerations.get(system)));
    PodTunnels tunnels = PodTunnels.sharded(system, PodTunnel.init(system, deps));
    CniHandler handler = new CniHandler(node, directory, tunnels, datapath,
        settings.answerTimeout().minusMillis(500), system.dispatchers().lookup(DispatcherSelector.blocking()));
    ActorRef<PeerSync.Command> peerSync = system.systemActorOf(
        PeerSync.create(gateways, handler::liveTunnels, settings.peerSyncInterval(), true), "pod-peer-sync", Props.empty());
    views.subscribe(v -> peerSync.tell(new PeerSync.ViewsChanged(v)));
    views.subscribe(followedBy(handler));
    io.egressgateway.pod.infra.GatewayNamespaces hints = new io.egressgateway.pod.infra.GatewayNamespaces(
        settings.socketPath().toAbsolutePath().getParent(), system.dispatchers().lookup(DispatcherSelector.blocking()),
        java.time.Duration.ofSeconds(30), System::nanoTime);
    views.subscribe(hints::offerViews);
    io.egressgateway.core.view.PolicyViews policies = io.egressgateway.core.view.PolicyViews.get(system);
    handler.selectedBy(() -> policies.current().values());
    // until the policies have replicated here, a pod of a namespace they selected before is not added without one
    java.util.Set<String> selectedBefore = hints.policyNamespacesAtStart();
    long started = System.nanoTime();
    java.util.concurrent.atomic.AtomicBoolean policiesKnown = new java.util.concurrent.atomic.AtomicBoolean(selectedBefore.isEmpty());
    CompletableFuture<Void> policiesHere = new CompletableFuture<>();
    policies.subscribe(p -> {
      if (policiesKnown.compareAndSet(false, !p.isEmpty()) || policiesKnown.get()) {
        policiesHere.complete(null);
      }
    });
    system.scheduler().scheduleOnce(POLICIES_AWAITED, () -> policiesHere.complete(null), system.executionContext());
    handler.policiesPendingFor(namespace -> !policiesKnown.get() && selectedBefore.contains(namespace)
        && System.nanoTime() - started < POLICIES_AWAITED.toNanos());
    policies.subscribe(hints::offerPolicies);
    CniServer server;
    try {
      // held until takeOverTunnels has run the DELs kept while no agent was here
      server = CniServer.startHeld(settings.socketPath(), settings.serverThreads(), settings.answerTimeout(), handler);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on " + settings.socketPath(), e);
    }
    io.egressgateway.core.metrics.Metrics.Counter refusedCalls = io.egressgateway.core.metrics.Metrics.get(system).counter(
        "egress_cni_refused_total", "CNI connections refused: peer (not root), deadline (no whole request in time), busy",
        "reason");
    server.onRefused(refusedCalls::inc);
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "pod-agent-cni-server", () -> {
      server.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    PodAgent agent = new PodAgent(system, directory, server, handler, peerSync);
    agent.policiesHere = policiesHere;
    directory.onChange(agent::followSoon);
    policies.subscribe(p -> agent.followSoon());
    system.scheduler().scheduleWithFixedDelay(java.time.Duration.ofSeconds(FOLLOW_EVERY_SECONDS),
        java.time.Duration.ofSeconds(FOLLOW_EVERY_SECONDS), agent::followSoon, system.executionContext());
    return agent;
  }

  /** A pass of {@link CniHandler#followPolicies} soon, one for any number of calls meanwhile; none before take-over. */
  void followSoon() {
    if (!following || !followQueued.compareAndSet(false, true)) {
      return;
    }
    system.scheduler().scheduleOnce(FOLLOW_COALESCE, () -> {
      followQueued.set(false);
      if (directory.ready()) {
        handler.followPolicies().whenComplete((n, err) -> {
          if (n != null && n > 0) {
            policyMoves.add(n);
          }
        });
      }
    }, system.executionContext());
  }

  /**
   * A view listener that tells this node's tunnels of each configuration whose view changed to follow it
   * (live reconfiguration, {@link FollowFlow}). The first call (the view as it is when the agent starts) only
   * sets what later ones compare with: tunnels taken back after a restart follow once taken back.
   */
  static java.util.function.Consumer<java.util.Map<String, ConfigView>> followedBy(CniHandler handler) {
    java.util.concurrent.atomic.AtomicReference<java.util.Map<String, ConfigView>> seen = new java.util.concurrent.atomic.AtomicReference<>();
    return now -> {
      java.util.Map<String, ConfigView> before = seen.getAndSet(now);
      if (before != null) {
        now.forEach((key, view) -> {
          if (!view.equals(before.get(key))) {
            handler.followView(key);
          }
        });
      }
    };
  }

  /**
   * Takes over what an earlier agent on this node left: first the DELs that could not reach it (pods deleted
   * meanwhile, kept by the plugin), then the tunnels of the pods still here ({@link CniHandler#resumeTunnels}).
   * Only then do the gateways get lists of this node's tunnels ({@link PeerSync}), which are read from the
   * node's pod cache: the app calls this once that has synced, and a list that missed a tunnel would make the
   * gateways drop its peer. Call it once, after {@link #observedBy}, so that what it does reaches the
   * observer too; {@link #resumed} completes when it is done.
   */
  public PodAgent takeOverTunnels() {
    resumedGauge.set(0);
    // the tunnels of pods a policy chose are found by the policies: so they are taken back only once those are here
    resumed = server.runDeferredDels().whenComplete((dels, err) -> server.admitCalls())
        .thenCompose(dels -> policiesHere).thenCompose(x -> handler.resumeTunnels()).thenApply(n -> {
      resumedGauge.set(n);
      return n;
    });
    // also after a failed take-over: a list names only tunnels of pods the node's cache still has
    resumed.whenComplete((n, err) -> {
      peerSync.tell(new PeerSync.Start());
      following = true;
      followSoon();
    });
    // DELs the plugin keeps from now on (this agent too slow for them) run while it lives, not at the next start
    server.sweepDeferredDels(DEFERRED_DEL_SWEEP);
    return this;
  }
}
