package io.egressgateway.pod.infra;

import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
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
 * <p>It also moves running tunnels to a configuration's new gateway key ({@link #onViews}).
 *
 * <p>Owns nothing persistent: the set of watched tunnels is rebuilt by attach/detach.
 */
public final class FailoverWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FailoverWatchdog.class);
  /** A keepalive on the wire: a transport header and an empty, authenticated payload. */
  private static final long KEEPALIVE_BYTES = 32;
  private static final Duration MAX_RETRY = Duration.ofSeconds(5);
  private static final Duration MAX_UNANSWERED_BACKOFF = Duration.ofSeconds(30);

  /** A pod tunnel: its device (as moved into the pod) and its gateway peer. */
  public record Tunnel(WgDevice device, String gatewayPublicKey, String gatewayEndpoint) {}

  /** What the watchdog knows about one tunnel between checks. */
  private static final class Watch {
    long rx = -1;
    long tx = -1;
    long rxAt;             // when rx last grew
    long unansweredSince;  // first data sent after the last data received; 0: none outstanding
    int unansweredKicks;   // consecutive kicks for unanswered data (backoff)
    long kickedAt;         // 0: no fresh handshake pending
    long firstKickAt;      // first kick of this outage
    int retries;           // kicks since the last completed handshake (0: the device's own first handshake)
  }

  /**
   * The watchdog's times: {@code stall} without anything received; {@code retry} after a forced handshake
   * without answer (doubling); {@code firstHandshakeRetry} for a tunnel's very first handshake (which the
   * device started itself; a retry drops the packets it holds, so not too eagerly); {@code unansweredData}
   * of data answered only by keepalives (doubling per kick in a row).
   */
  public record Timing(Duration stall, Duration retry, Duration firstHandshakeRetry, Duration unansweredData) {}

  private final WireGuardBackend wg;
  private final Duration stall;
  private final Duration retry;
  private final Duration firstRetry;
  private final Duration unanswered;
  private final LongSupplier clock;
  /** Wall-clock seconds, for the age of a handshake (WireGuard reports when it happened, in epoch seconds). */
  private final LongSupplier epochSeconds;
  private final Map<String, Tunnel> tunnels = new ConcurrentHashMap<>();
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();
  private final AtomicLong kicks = new AtomicLong();
  private ScheduledExecutorService timer;

  public FailoverWatchdog(WireGuardBackend wg, Timing timing, LongSupplier nanoClock) {
    this(wg, timing, nanoClock, () -> java.time.Instant.now().getEpochSecond());
  }

  /** With the wall clock given too ({@code epochSeconds}), so that every time it reads is injected. */
  public FailoverWatchdog(WireGuardBackend wg, Timing timing, LongSupplier nanoClock, LongSupplier epochSeconds) {
    this.wg = wg;
    this.epochSeconds = epochSeconds;
    this.stall = timing.stall();
    this.retry = timing.retry();
    this.firstRetry = timing.firstHandshakeRetry();
    this.unanswered = timing.unansweredData();
    this.clock = nanoClock;
  }

  /** Same times for a first handshake as for a forced one, and {@code stall} for unanswered data. */
  public FailoverWatchdog(WireGuardBackend wg, Duration stall, Duration retry, LongSupplier nanoClock) {
    this(wg, new Timing(stall, retry, retry, stall), nanoClock);
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
  }

  public void forget(String deviceName) {
    tunnels.remove(deviceName);
    watches.remove(deviceName);
  }

  /**
   * Follows the replicated view: when a configuration's gateway key changed (its key Secret was deleted
   * and a new pair made), every tunnel to that configuration's endpoint gets the new gateway peer at once,
   * so running pods keep working without a restart.
   */
  public void onViews(Map<String, io.egressgateway.core.view.ConfigView> views) {
    for (io.egressgateway.core.view.ConfigView v : views.values()) {
      if (v.ilbIp().isEmpty() || v.port() <= 0 || v.gatewayPublicKey().isEmpty()) {
        continue;
      }
      String endpoint = v.ilbIp() + ":" + v.port();
      tunnels.forEach((name, t) -> {
        if (t.gatewayEndpoint().equals(endpoint) && !t.gatewayPublicKey().equals(v.gatewayPublicKey())) {
          try {
            Tunnel replaced = new Tunnel(t.device(), v.gatewayPublicKey(), endpoint);
            wg.removePeer(t.device(), t.gatewayPublicKey());
            wg.setPeer(t.device(), gatewayPeer(replaced, 0));
            tunnels.put(name, replaced);
            watches.remove(name);
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

  /** One pass over every watched tunnel (the timer calls it; tests call it directly). */
  public void checkAll() {
    oldestSeen = 0;
    tunnels.forEach((name, t) -> {
      try {
        check(name, t);
      } catch (RuntimeException e) {
        // a tunnel being torn down or a device already gone: its detach (or repair) takes care of it
        log.debug("failover check of {} skipped: {}", name, e.getMessage());
      }
    });
    oldestHandshakeSeconds = oldestSeen;
  }

  private long oldestSeen;

  private void check(String name, Tunnel t) {
    WgDump.Peer peer = wg.dump(t.device()).peers().get(t.gatewayPublicKey());
    if (peer == null) {
      return; // being replaced right now (new key or repair)
    }
    long now = clock.getAsLong();
    Watch w = watches.computeIfAbsent(name, k -> new Watch());
    if (w.kickedAt == 0 && peer.latestHandshake() == 0) {
      if (peer.txBytes() == 0) {
        watches.remove(name); // nothing sent yet, so no handshake under way
        return;
      }
      // the first handshake is under way: retried after firstHandshakeRetry (the gateway the ILB picked
      // may not have the peer yet; WireGuard itself would try again only after 5 s)
      w.kickedAt = now;
      w.firstKickAt = now;
      w.retries = 0;
      return;
    }
    if (w.kickedAt != 0) {
      if (peer.latestHandshake() != 0) {
        // the fresh session is up: stop the pod-side keepalive, start watching from here
        if (peer.keepaliveSeconds() != 0) {
          wg.setPeer(t.device(), gatewayPeer(t, 0));
        }
        if (w.retries > 0) {
          log.info("tunnel {}: new session with a gateway behind {} after {} ms ({} attempt(s))", name,
              t.gatewayEndpoint(), (now - w.firstKickAt) / 1_000_000, w.retries);
        }
        Watch fresh = new Watch();
        fresh.unansweredKicks = w.unansweredKicks; // the backoff ends only when data comes back
        watches.put(name, fresh);
      } else if (now - w.kickedAt >= retryDelay(w.retries).toNanos()) {
        kick(name, t, w, now, "no handshake answer yet");
      }
      return;
    }
    long age = epochSeconds.getAsLong() - peer.latestHandshake();
    oldestSeen = Math.max(oldestSeen, Math.max(0, age));
    if (w.rx < 0) {
      w.rx = peer.rxBytes();
      w.tx = peer.txBytes();
      w.rxAt = now;
      return;
    }
    long drx = peer.rxBytes() - w.rx;
    long dtx = peer.txBytes() - w.tx;
    w.rx = peer.rxBytes();
    w.tx = peer.txBytes();
    if (drx != 0) {
      w.rxAt = now;
    }
    boolean dataIn = drx != 0 && drx != KEEPALIVE_BYTES;
    boolean dataOut = dtx != 0 && dtx != KEEPALIVE_BYTES;
    if (dataIn) {
      w.unansweredSince = 0;
      w.unansweredKicks = 0;
    } else if (dataOut && w.unansweredSince == 0) {
      w.unansweredSince = now;
    }
    if (now - w.rxAt >= stall.toNanos()) {
      kick(name, t, w, now, "nothing received for " + (now - w.rxAt) / 1_000_000 + " ms");
    } else if (w.unansweredSince != 0 && now - w.unansweredSince >= unansweredLimit(w.unansweredKicks).toNanos()) {
      w.unansweredKicks++;
      kick(name, t, w, now, "data sent but only keepalives received for " + (now - w.unansweredSince) / 1_000_000 + " ms");
    }
  }

  /** Drops the session and re-adds the gateway peer with a keepalive, which starts a handshake at once. */
  private void kick(String name, Tunnel t, Watch w, long now, String why) {
    wg.removePeer(t.device(), t.gatewayPublicKey());
    wg.setPeer(t.device(), gatewayPeer(t, 1));
    kicks.incrementAndGet();
    int unanswered = w.unansweredKicks;
    Watch next = new Watch();
    next.kickedAt = now;
    next.firstKickAt = w.firstKickAt == 0 ? now : w.firstKickAt;
    next.retries = w.retries + 1;
    next.unansweredKicks = unanswered;
    watches.put(name, next);
    if (w.retries == 0) {
      log.info("tunnel {}: {} from gateway {}; forced a fresh handshake", name, why, t.gatewayEndpoint());
    } else {
      log.debug("tunnel {}: {}; handshake attempt {}", name, why, next.retries);
    }
  }

  private static WgPeer gatewayPeer(Tunnel t, int keepaliveSeconds) {
    return HostPodDatapath.gatewayPeer(t.gatewayPublicKey(), t.gatewayEndpoint(), keepaliveSeconds);
  }

  /** Wait after the {@code n}-th kick before the next one: {@code retry}, doubling, at most 5 s. */
  private Duration retryDelay(int n) {
    if (n == 0) {
      return firstRetry; // the device's own first handshake, not one we forced
    }
    Duration d = retry.multipliedBy(1L << Math.min(n - 1, 10));
    return d.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : d;
  }

  /** How long data may go unanswered before a kick: {@code stall}, doubling per kick in a row, at most 30 s. */
  private Duration unansweredLimit(int kicksInRow) {
    Duration d = unanswered.multipliedBy(1L << Math.min(kicksInRow, 10));
    return d.compareTo(MAX_UNANSWERED_BACKOFF) > 0 ? MAX_UNANSWERED_BACKOFF : d;
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
