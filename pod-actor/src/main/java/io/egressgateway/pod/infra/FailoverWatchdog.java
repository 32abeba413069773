package io.egressgateway.pod.infra;

import io.egressgateway.gateway.infra.WireGuardBackend;
import io.egressgateway.gateway.infra.WgDevice;
import io.egressgateway.gateway.model.WgDump;
import io.egressgateway.gateway.model.WgPeer;
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
 * Fast failover for pod tunnels. Gateways send a keepalive to every pod peer every couple of seconds, so
 * a healthy tunnel always receives something. When a pod's tunnel has received nothing from its gateway
 * for {@code stall}, the gateway behind the ILB is gone (or the ILB moved the flow): the watchdog removes
 * and re-adds the gateway peer, which drops the old session so the next packet starts a fresh handshake,
 * and the ILB sends that to a healthy gateway (all gateways of the pool know the pod). Stock WireGuard
 * would only re-handshake after 15 s of silence.
 *
 * <p>It also moves running tunnels to a configuration's new gateway key ({@link #onViews}).
 *
 * <p>Owns nothing persistent: the set of watched tunnels is rebuilt by attach/detach.
 */
public final class FailoverWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FailoverWatchdog.class);

  /** A pod tunnel: its device (as moved into the pod) and its gateway peer. */
  public record Tunnel(WgDevice device, String gatewayPublicKey, String gatewayEndpoint) {}

  private record Progress(long rxBytes, long sinceNanos) {}

  private final WireGuardBackend wg;
  private final Duration stall;
  private final LongSupplier clock;
  private final Map<String, Tunnel> tunnels = new ConcurrentHashMap<>();
  private final Map<String, Progress> progress = new ConcurrentHashMap<>();
  private final AtomicLong kicks = new AtomicLong();
  private ScheduledExecutorService timer;

  public FailoverWatchdog(WireGuardBackend wg, Duration stall, LongSupplier nanoClock) {
    this.wg = wg;
    this.stall = stall;
    this.clock = nanoClock;
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
    progress.remove(deviceName);
  }

  public void forget(String deviceName) {
    tunnels.remove(deviceName);
    progress.remove(deviceName);
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
            wg.removePeer(t.device(), t.gatewayPublicKey());
            wg.setPeer(t.device(), new WgPeer(v.gatewayPublicKey(), List.of("0.0.0.0/0", "::/0"), endpoint, 0));
            tunnels.put(name, new Tunnel(t.device(), v.gatewayPublicKey(), endpoint));
            progress.remove(name);
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
    long now = clock.getAsLong();
    if (peer == null || peer.latestHandshake() == 0) {
      progress.remove(name); // no session yet: the first handshake is WireGuard's own business
      return;
    }
    long age = java.time.Instant.now().getEpochSecond() - peer.latestHandshake();
    oldestSeen = Math.max(oldestSeen, Math.max(0, age));
    Progress p = progress.get(name);
    if (p == null || peer.rxBytes() != p.rxBytes()) {
      progress.put(name, new Progress(peer.rxBytes(), now));
      return;
    }
    if (now - p.sinceNanos() >= stall.toNanos()) {
      wg.removePeer(t.device(), t.gatewayPublicKey());
      wg.setPeer(t.device(), new WgPeer(t.gatewayPublicKey(), List.of("0.0.0.0/0", "::/0"), t.gatewayEndpoint(), 0));
      kicks.incrementAndGet();
      progress.put(name, new Progress(-1, now));
      log.info("tunnel {}: nothing received from gateway {} for {} ms; forced a fresh handshake",
          name, t.gatewayEndpoint(), stall.toMillis());
    }
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
