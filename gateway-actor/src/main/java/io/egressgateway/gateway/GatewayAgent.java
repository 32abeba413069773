package io.egressgateway.gateway;

import akka.actor.Cancellable;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.ShardingEnvelope;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.NetnsStore;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.gateway.entity.ConfigSource;
import io.egressgateway.gateway.entity.GatewayNode;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.LinuxGatewayDatapath;
import io.egressgateway.gateway.infra.ProbeServer;
import io.egressgateway.gateway.infra.SessionHandover;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.AwayWorkers;
import io.egressgateway.gateway.infra.WorkerPresence;
import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.gateway.model.GatewayNames;
import io.egressgateway.gateway.model.StartHold;
import io.egressgateway.core.view.ConfigView;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Everything a gateway member runs for its node: the WireGuard backend (probed once), the Linux executor,
 * the {@code GatewayNode} shard region, the entity of this node started at once (and kept alive: sharding
 * passivates idle entities, and this one must keep watching its datapath), and the health-probe server.
 * The app calls {@link #start} on members with role {@code gateway} and {@link #drain()} on SIGTERM.
 */
public final class GatewayAgent implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(GatewayAgent.class);
  /** Well under sharding's default passivation idle timeout (120 s). */
  private static final java.time.Duration WAKE_UP_INTERVAL = java.time.Duration.ofSeconds(30);

  private final String node;
  private final ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region;
  private final ProbeServer probe;
  private final GatewaySettings settings;
  private final Cancellable keepAlive;
  private final HealthBoard board;

  private GatewayAgent(String node, ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region, ProbeServer probe,
      GatewaySettings settings, Cancellable keepAlive, HealthBoard board) {
    this.board = board;
    this.node = node;
    this.region = region;
    this.probe = probe;
    this.settings = settings;
    this.keepAlive = keepAlive;
  }

  /** The production wiring: settings from the system's config, the replicated view, the real datapath. */
  public static GatewayAgent start(ActorSystem<?> system, String node, GatewayKeys keys) {
    GatewaySettings s = GatewaySettings.from(system.settings().config());
    CommandRunner cmd = new CommandRunner(s.commandTimeout());
    WireGuardBackend wg = WireGuardBackends.choose(cmd, s.wireguardBackend());
    if (wg instanceof io.egressgateway.datapath.wireguard.KernelWireGuard kernel) {
      io.egressgateway.core.metrics.Metrics.get(system).gauge("egress_wireguard_netlink_fallbacks",
          "reads of kernel WireGuard devices that went to wg show because netlink failed, since start").track(kernel::netlinkFallbacks);
    }
    NetnsStore namespaces = s.netnsHolder().isEmpty() ? NetnsStore.local(cmd)
        : NetnsStore.held(cmd, java.nio.file.Path.of(s.netnsHolder()), java.nio.file.Path.of("/var/run/netns"));
    GatewayDatapath dp = new LinuxGatewayDatapath(cmd, wg, new GatewayNames(node, s.netnsPrefix()), s.hostNetns(),
        s.peerKeepaliveSeconds(), s.hostInterface(), namespaces);
    ConfigSource views = ConfigSource.replicated(system);
    GatewayAgent agent = start(system, node, s, keys, views, dp, wg::onDeviceLost);
    com.typesafe.config.Config drain = system.settings().config().getConfig("egress.gateway.drain");
    java.time.Duration waitMax = drain.getDuration("wait-for-workers");
    if (!waitMax.isZero()) {
      AwayWorkers away = new AwayWorkers(drain.getDuration("worker-settle"), drain.getDuration("forget-worker-after"));
      WorkerPresence.start(system, away, System::nanoTime);
      agent.waitForWorkers = new WorkerWait(away, drain.getDuration("settle"), waitMax, system.scheduler(), system.executionContext());
      int port = s.probePort();
      agent.holdAfterRestart(views, away, waitMax, (n, a) -> URI.create("http://" + a.primaryIp() + ":" + port));
    }
    java.time.Duration handoverWait = drain.getDuration("handover-wait");
    if (!handoverWait.isZero()) {
      agent.handover = new SessionHandover(system, node, agent.region, dp,
          system.dispatchers().lookup(akka.actor.typed.DispatcherSelector.fromConfig(GatewaySettings.DISPATCHER)), handoverWait);
    }
    return agent;
  }

  /** Explicit wiring (tests, the sandbox). Blocks briefly while the probe server binds. */
  public static GatewayAgent start(ActorSystem<?> system, String node, GatewaySettings s, GatewayKeys keys,
      ConfigSource views, GatewayDatapath datapath, Consumer<Consumer<String>> deviceLostHook) {
    HealthBoard board = new HealthBoard();
    ProbeServer probe = null;
    if (s.probeEnabled()) {
      try {
        probe = ProbeServer.start(s.probeBind(), s.probePort(), board, datapath, s.verifyCache());
      } catch (IOException e) {
        throw new UncheckedIOException("gateway health probe cannot listen on " + s.probeBind() + ":" + s.probePort(), e);
      }
    }
    var region = GatewayNode.init(system, new GatewayNode.Deps(s, datapath, keys, views, deviceLostHook, board));
    region.tell(new ShardingEnvelope<>(node, new GatewayNode.WakeUp()));
    Cancellable keepAlive = system.scheduler().scheduleAtFixedRate(WAKE_UP_INTERVAL, WAKE_UP_INTERVAL,
        () -> region.tell(new ShardingEnvelope<>(node, new GatewayNode.WakeUp())), system.executionContext());
    return new GatewayAgent(node, region, probe, s, keepAlive, board);
  }

  public ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region() {
    return region;
  }

  public String node() {
    return node;
  }

  /** The bound probe port (0 when the probe is disabled). */
  public int probePort() {
    return probe == null ? 0 : probe.port();
  }

  /** What {@link #drain} waits for first (production wiring only). */
  private volatile WorkerWait waitForWorkers;
  /** What {@link #drain} does next, before the probe turns red (production wiring only; null: nothing). */
  private volatile SessionHandover handover;

  /**
   * SIGTERM: first, while any node's worker member is away (restarting, say, in the same upgrade), this gateway
   * keeps serving, bounded by {@code egress.gateway.drain.wait-for-workers}: the pods of such a node have no
   * watchdog to move their tunnels off a gateway that stops. Next, the pods with a session here are handed over
   * ({@link SessionHandover}): their workers move them to another gateway of the pool, bounded by
   * {@code egress.gateway.drain.handover-wait}. Then the probe answers 503 and the server stops after the drain
   * delay, so the load balancer has taken the node out before traffic stops.
   */
  public CompletableFuture<Void> drain() {
    if (probe == null) {
      return CompletableFuture.completedFuture(null);
    }
    WorkerWait w = waitForWorkers;
    SessionHandover h = handover;
    CompletableFuture<Void> ready = w == null ? CompletableFuture.completedFuture(null) : w.run();
    return ready.thenCompose(v -> h == null ? CompletableFuture.completedFuture(null) : h.run().thenApply(n -> (Void) null))
        .thenCompose(v -> probe.drain(settings.drainDelay()));
  }

  /** Polls {@link AwayWorkers} until none is away or {@code max} has passed, after a first {@code settle}. */
  private record WorkerWait(AwayWorkers away, java.time.Duration settle, java.time.Duration max,
      akka.actor.typed.Scheduler scheduler, scala.concurrent.ExecutionContextExecutor ec) {
    CompletableFuture<Void> run() {
      CompletableFuture<Void> done = new CompletableFuture<>();
      long start = System.nanoTime();
      // a worker stopped at the same moment leaves the cluster a moment after its SIGTERM: look after settle
      scheduler.scheduleOnce(settle, () -> poll(done, start, false), ec);
      return done;
    }

    private void poll(CompletableFuture<Void> done, long start, boolean waited) {
      long now = System.nanoTime();
      java.util.Set<String> nodes = away.waitingFor(now);
      long ms = (now - start) / 1_000_000;
      if (nodes.isEmpty()) {
        if (waited) {
          log.info("gateway drain: every worker is back after {} ms; draining now", ms);
        }
        done.complete(null);
      } else if (now - start >= max.toNanos()) {
        log.warn("gateway drain: workers of {} still away after {} ms; draining anyway", nodes, ms);
        done.complete(null);
      } else {
        if (!waited) {
          log.info("gateway drain: the workers of {} are away (restarting?); serving on until they are back, at most {}",
              nodes, max);
        }
        scheduler.scheduleOnce(java.time.Duration.ofMillis(250), () -> poll(done, start, true), ec);
      }
    }
  }

  /**
   * Keeps each config this gateway serves out of the load balancer after a restart while the workers of its
   * journaled peers are away and another gateway of its pool answers its own probe for the config with 200
   * (the load balancer has it in rotation), at most {@code max} ({@link StartHold}); {@code away} is fed by
   * {@link WorkerPresence}; {@code probeOf} gives another gateway node's probe base URI from its addresses.
   * The production wiring calls it; tests may.
   */
  public void holdAfterRestart(ConfigSource views, AwayWorkers away, java.time.Duration max,
      java.util.function.BiFunction<String, ConfigView.GatewayAddresses, URI> probeOf) {
    if (probe == null) {
      return;
    }
    java.util.concurrent.atomic.AtomicReference<java.util.Map<String, ConfigView>> seen =
        new java.util.concurrent.atomic.AtomicReference<>(java.util.Map.of());
    java.util.function.Consumer<java.util.Map<String, ConfigView>> listener = seen::set;
    views.subscribe(listener);
    unsubscribeViews = () -> views.unsubscribe(listener);
    HttpClient http = HttpClient.newBuilder().connectTimeout(OTHER_PROBE_TIMEOUT).build();
    StartGate gate = new StartGate(node, board, away, new StartHold(max),
        uid -> otherGatewayServing(http, node, uid, seen.get(), probeOf), System::nanoTime);
    probe.holdWhile(gate::why);
  }

  private static final java.time.Duration OTHER_PROBE_TIMEOUT = java.time.Duration.ofMillis(500);

  /**
   * Whether a gateway node other than this one, of those the view lists for config {@code uid} (its pool),
   * answers its load balancer probe for the config with 200 now: what the load balancer goes by.
   */
  private static boolean otherGatewayServing(HttpClient http, String self, String uid, java.util.Map<String, ConfigView> views,
      java.util.function.BiFunction<String, ConfigView.GatewayAddresses, URI> probeOf) {
    for (ConfigView v : views.values()) {
      if (!v.uid().equals(uid)) {
        continue;
      }
      for (var e : new java.util.TreeMap<>(v.gateways()).entrySet()) {
        if (e.getKey().equals(self) || !e.getValue().complete()) {
          continue;
        }
        try {
          HttpResponse<Void> r = http.send(HttpRequest.newBuilder(probeOf.apply(e.getKey(), e.getValue()).resolve("/gw/" + uid))
              .timeout(OTHER_PROBE_TIMEOUT).build(), HttpResponse.BodyHandlers.discarding());
          if (r.statusCode() == 200) {
            return true;
          }
        } catch (java.io.IOException | RuntimeException ex) {
          log.debug("[{}] probe of gateway {} for config {}: {}", self, e.getKey(), uid, ex.toString());
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return false;
  }

  /**
   * The probe's hold after a restart ({@link StartHold}): a config the entity serves stays out while a worker
   * node owning its journaled peers has no worker member up and another gateway of its pool serves it, at most
   * {@code egress.gateway.drain.wait-for-workers}. Logs the hold and its end once per config.
   */
  private record StartGate(String node, HealthBoard board, AwayWorkers away, StartHold hold,
      java.util.function.Predicate<String> otherGatewayServing, java.util.function.LongSupplier clock) {
    String why(String uid) {
      if (hold.released(uid)) {
        return null;
      }
      try {
        java.util.Set<String> owners = board.recoveredOwners(uid);
        java.util.Set<String> up = owners.isEmpty() ? java.util.Set.of() : away.workersUp();
        // the other gateways' probes are asked over HTTP only when a worker is away (the probe's path stays local)
        boolean otherServing = !up.containsAll(owners) && otherGatewayServing.test(uid);
        StartHold.Verdict v = hold.ask(uid, owners, up, otherServing, clock.getAsLong());
        long ms = v.heldNanos() / 1_000_000;
        switch (v.change()) {
          case HELD -> log.info("[{}] config {} kept out of the load balancer after this restart: the workers of {} are away "
              + "(restarting?) and another gateway of the pool serves it meanwhile", node, uid, v.waitingFor());
          case BACK -> log.info("[{}] config {} back into the load balancer after {} ms: its workers are back", node, uid, ms);
          case ALONE -> log.info("[{}] config {} back into the load balancer after {} ms: no other gateway of the pool serves it",
              node, uid, ms);
          case TIMED_OUT -> log.warn("[{}] config {} back into the load balancer after {} ms with workers still away", node, uid, ms);
          default -> { }
        }
        return v.held() ? "held after a restart until the workers of " + v.waitingFor() + " are back" : null;
      } catch (RuntimeException e) {
        log.warn("[{}] the restart hold of config {} could not be decided, not holding: {}", node, uid, e.toString());
        return null;
      }
    }
  }

  /** Ends {@link #holdAfterRestart}'s subscription to the view. */
  private volatile Runnable unsubscribeViews = () -> { };

  @Override
  public void close() {
    keepAlive.cancel();
    unsubscribeViews.run();
    if (probe != null) {
      probe.close();
    }
  }
}
