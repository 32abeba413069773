package io.egressgateway.pod.infra;

import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.pod.model.GatewayRoute;
import io.egressgateway.pod.model.TunnelCensus;
import io.egressgateway.pod.model.TunnelWatch;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fast failover for pod tunnels. Gateways send a keepalive to every pod peer every second, so a healthy
 * tunnel always receives something. Two signs say the gateway behind the ILB is gone or the ILB moved the
 * flow to a gateway without our session:
 *
 * <ul>
 *   <li>nothing received from the gateway for {@code stall} (the gateway died);
 *   <li>data sent but only keepalives received for {@code stall} (the flow now reaches a gateway that does
 *       not know the session, e.g. a dead gateway came back and the ILB hashes the flow to it again, while
 *       the other gateway's keepalives still arrive). This one backs off (doubling, up to 30 s), so a pod that
 *       only ever sends one-way UDP is not re-handshaken more than now and then.
 * </ul>
 *
 * <p>A first handshake that gets no answer within {@code retry} is treated the same way.
 *
 * <p>Then the watchdog removes and re-adds the gateway peer with a 1 s keepalive: the old session is gone
 * and the re-added peer sends a handshake at once (no need to wait for the pod's next packet), which the
 * ILB sends to a healthy gateway (all gateways of the pool know the pod). If no handshake completes within
 * {@code retry} it does so again (doubling up to 5 s); WireGuard itself would retry only after 5 s, and
 * stock WireGuard would only notice the dead gateway after 15 s. Once the new session is up the pod-side
 * keepalive is turned off again.
 *
 * <p>Where a forced handshake goes is {@link GatewayRoute}'s choice: a live gateway's own address (the ILB
 * would keep sending the flow to a dead gateway until its health probe notices), back to the ILB frontend
 * after {@link #returningToIlbAfter}.
 *
 * <p>It also moves running tunnels to a configuration's new gateway key ({@link #onViews}), and the tunnels
 * whose session is with a gateway that is about to stop to another gateway at once ({@link #handOver}).
 *
 * <p>Owns nothing persistent: the set of watched tunnels is rebuilt by attach/detach. What a look at a device
 * calls for is decided by the pure {@link TunnelWatch}; this class reads the devices, keeps the watches and
 * acts, with both its clocks (monotonic, and wall for a handshake's age) given to it.
 */
public final class FailoverWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FailoverWatchdog.class);

  /** A pod tunnel: its device (as moved into the pod) and its gateway peer. */
  public record Tunnel(WgDevice device, String gatewayPublicKey, String gatewayEndpoint) {}

  /**
   * The watchdog's times: {@code stall} without anything received; {@code retry} after a forced handshake
   * without answer (doubling); {@code firstHandshakeRetry} for a tunnel's very first handshake (which the
   * device started itself; a retry drops the packets it holds, so not too eagerly); {@code unansweredData}
   * of data answered only by keepalives (doubling per kick in a row).
   */
  public record Timing(Duration stall, Duration retry, Duration firstHandshakeRetry, Duration unansweredData) {}

  private final WireGuardBackend wg;
  private final TunnelWatch.Timing timing;
  private final LongSupplier clock;
  /** Wall-clock seconds, for the age of a handshake (WireGuard reports when it happened, in epoch seconds). */
  private final LongSupplier epochSeconds;
  private final Map<String, Tunnel> tunnels = new ConcurrentHashMap<>();
  private final Map<String, TunnelWatch> watches = new ConcurrentHashMap<>();
  private final AtomicLong kicks = new AtomicLong();
  private final Map<String, GatewayRoute> routes = new ConcurrentHashMap<>();
  /** ILB endpoint ({@code ip:port}) to the own endpoints of that configuration's gateways, from the view. */
  private volatile Map<String, List<String>> gatewaysByIlb = Map.of();
  private volatile Duration returnAfter = Duration.ofSeconds(15);
  private ScheduledExecutorService timer;
  /** Gateway endpoint ({@code ilb:port}) to the key of its configuration, from the last view. */
  private volatile Map<String, String> configByEndpoint = Map.of();
  private volatile java.util.function.Consumer<TunnelCensus> censusListener = c -> {};
  private TunnelCensus.Builder census = new TunnelCensus.Builder();
  /** Told the pod devices' UDP ports when they change ({@link #guardedBy}); may throw (tried again next pass). */
  private volatile java.util.function.Consumer<java.util.SortedSet<Integer>> portGuard;
  /** The ports the guard last took; null: not told yet, or its last attempt failed. */
  private java.util.SortedSet<Integer> guardedPorts;
  private java.util.SortedSet<Integer> portsSeen = new java.util.TreeSet<>();
  private final AtomicLong guardFailures = new AtomicLong();
  /**
   * False while the tunnels already running on the node are being found ({@link #awaitingRunning}): the guard is
   * not told an empty set then, so the table an earlier agent left keeps guarding those tunnels meanwhile.
   */
  private volatile boolean runningWatched = true;
  /** Gateway node to its own endpoints ({@code ip:port}, one per configuration it serves), from the view. */
  private volatile Map<String, java.util.Set<String>> ownEndpointsByNode = Map.of();
  /** Own endpoints of gateways that said they are stopping ({@link #handOver}), to when (monotonic ns) that lapses. */
  private final Map<String, Long> leaving = new ConcurrentHashMap<>();
  /** How long a stopping gateway's own endpoints are left out of forced handshakes: its drain, with room. */
  static final Duration LEAVING_FOR = Duration.ofSeconds(30);
  /** The pod (device) public key of each watched tunnel, as its last look read it. */
  private final Map<String, String> podKeys = new ConcurrentHashMap<>();
  private final AtomicLong handedOver = new AtomicLong();

  public FailoverWatchdog(WireGuardBackend wg, Timing timing, LongSupplier nanoClock) {
    this(wg, timing, nanoClock, () -> java.time.Instant.now().getEpochSecond());
  }

  /** With the wall clock given too ({@code epochSeconds}), so that every time it reads is injected. */
  public FailoverWatchdog(WireGuardBackend wg, Timing timing, LongSupplier nanoClock, LongSupplier epochSeconds) {
    this.wg = wg;
    this.epochSeconds = epochSeconds;
    this.timing = new TunnelWatch.Timing(timing.stall(), timing.retry(), timing.firstHandshakeRetry(), timing.unansweredData());
    this.clock = nanoClock;
  }

  /** Same times for a first handshake as for a forced one, and {@code stall} for unanswered data. */
  public FailoverWatchdog(WireGuardBackend wg, Duration stall, Duration retry, LongSupplier nanoClock) {
    this(wg, new Timing(stall, retry, retry, stall), nanoClock);
  }

  /** After how long a session through a gateway's own address goes back to the ILB (0: never). */
  public FailoverWatchdog returningToIlbAfter(Duration d) {
    this.returnAfter = d;
    return this;
  }

  /** Checks every {@code interval} on a thread of its own. */
  public FailoverWatchdog start(Duration interval) {
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pod-failover-watchdog");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::checkAll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Hands view changes to the watchdog's own thread (view listeners must not block). */
  public void offerViews(Map<String, io.egressgateway.core.view.ConfigView> views) {
    if (timer != null) {
      timer.execute(() -> onViews(views));
    }
  }

  public void watch(String deviceName, Tunnel tunnel) {
    tunnels.put(deviceName, tunnel);
    watches.remove(deviceName);
    routes.remove(deviceName);
    podKeys.remove(deviceName);
  }

  /** The tunnel watched under {@code deviceName}, if any. */
  public java.util.Optional<Tunnel> watching(String deviceName) {
    return java.util.Optional.ofNullable(tunnels.get(deviceName));
  }

  public void forget(String deviceName) {
    tunnels.remove(deviceName);
    watches.remove(deviceName);
    routes.remove(deviceName);
    podKeys.remove(deviceName);
  }

  /** Hands {@link #handOver} to the watchdog's own thread (message handlers must not block). */
  public void offerHandover(String gatewayNode, java.util.Collection<String> podPublicKeys) {
    if (timer != null) {
      java.util.Set<String> keys = java.util.Set.copyOf(podPublicKeys);
      timer.execute(() -> handOver(gatewayNode, keys));
    }
  }

  /**
   * Gateway node {@code gatewayNode} is about to stop and names the pod tunnels of this node that hold a
   * session with it ({@code podPublicKeys}, the pods' own keys): each of them that points at the ILB or at that
   * gateway's own address gets a fresh handshake with another gateway of its pool at once, through that
   * gateway's own address (the ILB would keep sending the flow to the stopping gateway until its probe
   * notices, then to one without the session). The route goes back to the ILB after {@link #returningToIlbAfter},
   * as after a failover; until {@link #LEAVING_FOR} has passed, forced handshakes leave the stopping gateway out.
   * A tunnel with nowhere else to go (no other gateway with complete addresses in the view) is left as it is.
   * Returns how many tunnels were moved. Runs on the watchdog's thread ({@link #offerHandover}); tests call it.
   */
  public int handOver(String gatewayNode, java.util.Set<String> podPublicKeys) {
    java.util.Set<String> own = ownEndpointsByNode.getOrDefault(gatewayNode, java.util.Set.of());
    long now = clock.getAsLong();
    own.forEach(e -> leaving.put(e, now + LEAVING_FOR.toNanos()));
    int moved = 0;
    int left = 0;
    for (Map.Entry<String, Tunnel> e : tunnels.entrySet()) {
      String name = e.getKey();
      Tunnel t = e.getValue();
      try {
        String key = podKeys.computeIfAbsent(name, n -> wg.dump(t.device()).publicKey());
        GatewayRoute route = routes.getOrDefault(name, GatewayRoute.viaIlb(t.gatewayEndpoint()));
        if (!podPublicKeys.contains(key) || (route.direct() && !own.contains(route.endpoint()))) {
          continue; // not with that gateway, or already pointed at another gateway's own address
        }
        List<String> others = candidates(t, own, now);
        if (others.isEmpty()) {
          left++;
          continue;
        }
        rehandshake(name, t, route.onKick(t.gatewayEndpoint(), GatewayRoute.order(name, others)), TunnelWatch.forced(now));
        moved++;
      } catch (RuntimeException ex) {
        // a tunnel being torn down or a device already gone: its detach (or repair) takes care of it
        log.warn("tunnel {}: not moved off stopping gateway {}: {}", name, gatewayNode, ex.getMessage());
      }
    }
    handedOver.addAndGet(moved);
    log.info("gateway {} is stopping: {} of this node's {} tunnel(s) it named moved to another gateway{}", gatewayNode,
        moved, podPublicKeys.size(), left > 0 ? " (" + left + " had no other gateway in the view and stay)" : "");
    return moved;
  }

  /** Tunnels moved off a stopping gateway since start ({@link #handOver}). */
  public long handedOver() {
    return handedOver.get();
  }

  /**
   * The own endpoints of {@code t}'s configuration's gateways that a forced handshake may go to: without
   * {@code excluded} and, while others remain, without those of gateways that said they are stopping.
   */
  private List<String> candidates(Tunnel t, java.util.Set<String> excluded, long now) {
    leaving.values().removeIf(until -> until - now <= 0);
    List<String> all = gatewaysByIlb.getOrDefault(t.gatewayEndpoint(), List.of()).stream().filter(e -> !excluded.contains(e)).toList();
    List<String> live = all.stream().filter(e -> !leaving.containsKey(e)).toList();
    return live.isEmpty() ? all : live;
  }

  /**
   * Follows the replicated view: when a configuration's gateway key changed (its key Secret was deleted
   * and a new pair made), every tunnel to that configuration's endpoint gets the new gateway peer at once,
   * so running pods keep working without a restart.
   */
  public void onViews(Map<String, io.egressgateway.core.view.ConfigView> views) {
    gatewaysByIlb = HostPodDatapath.gatewayEndpoints(views);
    Map<String, java.util.Set<String>> byNode = new java.util.HashMap<>();
    views.values().stream().filter(v -> !v.ilbIp().isEmpty() && v.port() > 0).forEach(v -> v.gateways().forEach((node, a) -> {
      if (a.complete()) {
        byNode.computeIfAbsent(node, n -> new java.util.HashSet<>()).add(a.primaryIp() + ":" + v.port());
      }
    }));
    ownEndpointsByNode = Map.copyOf(byNode);
    Map<String, String> endpoints = new java.util.HashMap<>();
    views.values().stream().filter(v -> !v.ilbIp().isEmpty() && v.port() > 0)
        .forEach(v -> endpoints.put(v.ilbIp() + ":" + v.port(), v.key()));
    configByEndpoint = Map.copyOf(endpoints);
    for (io.egressgateway.core.view.ConfigView v : views.values()) {
      if (v.ilbIp().isEmpty() || v.port() <= 0 || v.gatewayPublicKey().isEmpty()) {
        continue;
      }
      String endpoint = v.ilbIp() + ":" + v.port();
      tunnels.forEach((name, t) -> {
        if (t.gatewayEndpoint().equals(endpoint) && !t.gatewayPublicKey().equals(v.gatewayPublicKey())) {
          try {
            Tunnel replaced = new Tunnel(t.device(), v.gatewayPublicKey(), endpoint);
            // the new peer is parsed (key, endpoint) before the old one goes: a bad value leaves the tunnel as it is
            WgPeer peer = gatewayPeer(replaced, 0);
            wg.removePeer(t.device(), t.gatewayPublicKey());
            wg.setPeer(t.device(), peer);
            tunnels.put(name, replaced);
            watches.remove(name);
            routes.remove(name);
            log.info("tunnel {}: gateway key of {} changed; peer replaced", name, v.key());
          } catch (RuntimeException e) {
            log.warn("tunnel {}: could not replace the gateway key of {}: {}", name, v.key(), e.getMessage());
          }
        }
      });
    }
  }

  /** How many times a tunnel was forced to re-handshake. */
  public long kicks() {
    return kicks.get();
  }

  private volatile long oldestHandshakeSeconds;

  /** Age of the oldest latest-handshake among this node's tunnels, in seconds (0 when none). */
  public long oldestHandshakeSeconds() {
    return oldestHandshakeSeconds;
  }

  /**
   * Told the census of every pass ({@link TunnelCensus}: tunnels by configuration and state, oldest
   * handshake), on the watchdog's thread; for the metrics. Must be quick.
   */
  public void onCensus(java.util.function.Consumer<TunnelCensus> listener) {
    censusListener = listener;
  }

  /**
   * Tells {@code guard} the UDP ports of the watched tunnels' devices (on the node's host namespace, where
   * their sockets are) whenever that set changes, on the watchdog's thread: the datapath keeps gateways from
   * starting handshakes to those ports ({@link HostPodDatapath#guardPorts}). Why: every gateway of a pool has
   * the same key, so a pod's device takes a handshake that a gateway it left starts (a gateway with the pod's
   * endpoint and its keepalive on does so when its old session runs out, or 15 s after it sent data the pod
   * did not answer) as one with its gateway peer: the pod's session and, by WireGuard's roaming, its endpoint
   * move to that gateway, while the ILB keeps hashing the pod's packets to the gateway it chose, which cannot
   * read them. Only the pod starts handshakes (through the endpoint the watchdog set), so the session is always
   * with the gateway its packets reach. A failure is logged once and tried again on the next pass.
   */
  public FailoverWatchdog guardedBy(java.util.function.Consumer<java.util.SortedSet<Integer>> guard) {
    this.portGuard = guard;
    return this;
  }

  /**
   * The agent is about to look for the tunnels already running on the node ({@link #runningWatched} when done):
   * until then an empty set of ports is not passed to the guard, which would remove the guard an earlier agent
   * left for them (before, the table was gone for the seconds the look took at a worker's start).
   */
  public FailoverWatchdog awaitingRunning() {
    runningWatched = false;
    return this;
  }

  /** The tunnels already running on the node are watched: the guard follows the watched set from now on. */
  public void runningWatched() {
    runningWatched = true;
  }

  /** How many times telling the port guard failed (each is tried again on the next pass). */
  public long guardFailures() {
    return guardFailures.get();
  }

  private void guardPorts(java.util.SortedSet<Integer> ports) {
    java.util.function.Consumer<java.util.SortedSet<Integer>> guard = portGuard;
    if (guard == null || ports.equals(guardedPorts) || (ports.isEmpty() && !runningWatched)) {
      return;
    }
    try {
      guard.accept(java.util.Collections.unmodifiableSortedSet(ports));
      if (guardedPorts == null && guardFailures.get() > 0) {
        log.info("pod tunnel ports guarded again: {}", ports);
      }
      guardedPorts = ports;
    } catch (RuntimeException e) {
      if (guardedPorts != null || guardFailures.get() == 0) {
        log.warn("pod tunnel ports {} not guarded against gateway-started handshakes (tried again): {}", ports, e.toString());
      }
      guardedPorts = null;
      guardFailures.incrementAndGet();
    }
  }

  /** One pass over every watched tunnel (the timer calls it; tests call it directly). */
  public void checkAll() {
    oldestSeen = 0;
    census = new TunnelCensus.Builder();
    portsSeen = new java.util.TreeSet<>();
    tunnels.forEach((name, t) -> {
      try {
        check(name, t);
      } catch (RuntimeException e) {
        // a tunnel being torn down or a device already gone: its detach (or repair) takes care of it
        log.debug("failover check of {} skipped: {}", name, e.getMessage());
      }
    });
    oldestHandshakeSeconds = oldestSeen;
    guardPorts(portsSeen);
    try {
      censusListener.accept(census.build());
    } catch (RuntimeException e) {
      // the metrics must never end the watchdog (an exception here would cancel its schedule)
      log.warn("tunnel census not published: {}", e.toString());
    }
  }

  private long oldestSeen;

  private void check(String name, Tunnel t) {
    WgDump dump = wg.dump(t.device());
    if (!dump.publicKey().isEmpty()) {
      podKeys.put(name, dump.publicKey());
    }
    if (dump.listenPort() > 0) {
      portsSeen.add(dump.listenPort());
    }
    WgDump.Peer peer = dump.peers().get(t.gatewayPublicKey());
    if (peer == null) {
      return; // being replaced right now (new key or repair)
    }
    long now = clock.getAsLong();
    TunnelWatch before = watches.getOrDefault(name, TunnelWatch.NEW);
    TunnelWatch.Sample sample = new TunnelWatch.Sample(peer.latestHandshake(), peer.rxBytes(), peer.txBytes(), peer.keepaliveSeconds());
    TunnelWatch.Step step = before.step(sample, now, timing);
    long age = epochSeconds.getAsLong() - peer.latestHandshake();
    if (step.established()) {
      oldestSeen = Math.max(oldestSeen, Math.max(0, age));
    }
    census.add(configByEndpoint.get(t.gatewayEndpoint()), before.state(sample, step), age);
    if (step.watch() == null) {
      watches.remove(name);
      return;
    }
    watches.put(name, step.watch());
    GatewayRoute route = routes.getOrDefault(name, GatewayRoute.viaIlb(t.gatewayEndpoint()));
    if (step.action() instanceof TunnelWatch.Kick k) {
      kick(name, t, k, route);
    } else if (step.action() instanceof TunnelWatch.SessionUp up) {
      routes.put(name, route.onSessionUp(now));
      if (up.endKeepalive()) {
        wg.setPeer(t.device(), gatewayPeer(t, route.endpoint(), 0));
      }
      if (up.attempts() > 0) {
        log.info("tunnel {}: new session through {} after {} ms ({} attempt(s))", name,
            route.endpoint(), up.tookNanos() / 1_000_000, up.attempts());
      }
      watches.put(name, up.after());
    } else if (step.established() && route.returnDue(now, returnAfter)) {
      // the load balancer has had time to catch up: back to the ILB, with a fresh handshake through it
      rehandshake(name, t, route.onReturn(t.gatewayEndpoint()), TunnelWatch.forced(now));
      log.info("tunnel {}: back from gateway {} to {}", name, route.endpoint(), t.gatewayEndpoint());
    }
  }

  /** A forced handshake of an outage, through the next gateway the route picks ({@link #rehandshake}). */
  private void kick(String name, Tunnel t, TunnelWatch.Kick k, GatewayRoute route) {
    GatewayRoute next = route.onKick(t.gatewayEndpoint(),
        GatewayRoute.order(name, candidates(t, java.util.Set.of(), clock.getAsLong())));
    rehandshake(name, t, next, k.after());
    kicks.incrementAndGet();
    if (k.firstOfOutage()) {
      log.info("tunnel {}: {} from {}; forced a fresh handshake through {}", name, k.why(), route.endpoint(), next.endpoint());
    } else {
      log.debug("tunnel {}: {}; handshake attempt {} through {}", name, k.why(), k.after().retries(), next.endpoint());
    }
  }

  /**
   * Drops the session and re-adds the gateway peer through {@code next}'s endpoint with a keepalive, which starts
   * a handshake at once; the tunnel is watched from {@code watch} on.
   */
  private void rehandshake(String name, Tunnel t, GatewayRoute next, TunnelWatch watch) {
    wg.removePeer(t.device(), t.gatewayPublicKey());
    wg.setPeer(t.device(), gatewayPeer(t, next.endpoint(), 1));
    routes.put(name, next);
    watches.put(name, watch);
  }

  private static WgPeer gatewayPeer(Tunnel t, int keepaliveSeconds) {
    return gatewayPeer(t, t.gatewayEndpoint(), keepaliveSeconds);
  }

  private static WgPeer gatewayPeer(Tunnel t, String endpoint, int keepaliveSeconds) {
    return HostPodDatapath.gatewayPeer(t.gatewayPublicKey(), endpoint, keepaliveSeconds);
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
