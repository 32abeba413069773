package io.egressgateway.pod.model;

import java.time.Duration;

/**
 * The failover watchdog's decision for one pod tunnel, pure: what it knows about the tunnel between two
 * looks (this record), and what one look at the device's gateway peer calls for ({@link #step}). The
 * watchdog reads the device, asks {@link #step}, and does what the answer says; the reasons are its class
 * comment's.
 *
 * @param rx              received bytes at the last look; -1 before the first look of a session
 * @param tx              sent bytes at the last look
 * @param rxAt            when (monotonic nanoseconds) the received bytes last grew
 * @param unansweredSince first data sent after the last data received; 0: none outstanding
 * @param unansweredKicks consecutive kicks for unanswered data (backoff)
 * @param kickedAt        0: no fresh handshake pending
 * @param firstKickAt     first kick of this outage
 * @param retries         kicks since the last completed handshake (0: the device's own first handshake)
 */
public record TunnelWatch(long rx, long tx, long rxAt, long unansweredSince, int unansweredKicks, long kickedAt,
    long firstKickAt, int retries) {

  /** A tunnel not looked at yet. */
  public static final TunnelWatch NEW = new TunnelWatch(-1, -1, 0, 0, 0, 0, 0, 0);

  /**
   * The watch right after the watchdog forced a handshake outside an outage (pointing the peer back at the
   * ILB, {@link GatewayRoute}): without an answer within {@code retry} the next kick follows.
   */
  public static TunnelWatch forced(long now) {
    return new TunnelWatch(-1, -1, 0, 0, 0, now, now, 1);
  }

  /** A keepalive on the wire: a transport header and an empty, authenticated payload. */
  static final long KEEPALIVE_BYTES = 32;
  private static final Duration MAX_RETRY = Duration.ofSeconds(5);
  private static final Duration MAX_UNANSWERED_BACKOFF = Duration.ofSeconds(30);

  /** The watchdog's times (see its {@code Timing}). */
  public record Timing(Duration stall, Duration retry, Duration firstHandshakeRetry, Duration unansweredData) {}

  /** What the device says about the gateway peer. {@code latestHandshake}: epoch seconds, 0 for none. */
  public record Sample(long latestHandshake, long rxBytes, long txBytes, int keepaliveSeconds) {}

  /** What a look calls for. */
  public sealed interface Action {}

  /** Nothing to do. */
  public record Wait() implements Action {}

  /**
   * Drop the session and re-add the gateway peer with a keepalive ({@code why}); {@code after} is the watch
   * once that is done. {@code firstOfOutage}: the first kick since the last completed handshake.
   */
  public record Kick(String why, boolean firstOfOutage, TunnelWatch after) implements Action {}

  /**
   * A fresh session is up: turn the pod-side keepalive off ({@code endKeepalive}) and watch from here
   * ({@code after}); {@code attempts} kicks took {@code tookNanos} (0 attempts: nothing worth a log line).
   */
  public record SessionUp(boolean endKeepalive, int attempts, long tookNanos, TunnelWatch after) implements Action {}

  /**
   * One look's outcome: the watch as of this look ({@code null}: forget it), what to do, and whether the look
   * saw an established session (whose handshake age counts).
   */
  public record Step(TunnelWatch watch, Action action, boolean established) {}

  /** A tunnel's state for the metrics, from one look: a small fixed set. */
  public enum State {
    /** Nothing sent yet, so no handshake either. */
    IDLE,
    /** Its first handshake is under way. */
    HANDSHAKING,
    /** A session is up and answering. */
    ESTABLISHED,
    /**
     * The watchdog forced a fresh handshake (gateway gone, session lost, or a first handshake unanswered) and
     * none has completed since.
     */
    RECOVERING;

    /** The label value. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The state one look at {@code s} found, given what {@link #step} answered for it. */
  public State state(Sample s, Step step) {
    if (step.action() instanceof Kick) {
      return State.RECOVERING;
    }
    if (step.established() || step.action() instanceof SessionUp) {
      return State.ESTABLISHED;
    }
    if (kickedAt != 0 && retries > 0) {
      return State.RECOVERING;
    }
    return kickedAt == 0 && s.latestHandshake() == 0 && s.txBytes() == 0 ? State.IDLE : State.HANDSHAKING;
  }

  /** One look at {@code s} at {@code now} (monotonic nanoseconds). */
  public Step step(Sample s, long now, Timing timing) {
    if (kickedAt == 0 && s.latestHandshake() == 0) {
      if (s.txBytes() == 0) {
        return new Step(null, new Wait(), false); // nothing sent yet, so no handshake under way
      }
      // the first handshake is under way: retried after firstHandshakeRetry (the gateway the ILB picked may
      // not have the peer yet; WireGuard itself would try again only after 5 s)
      return new Step(new TunnelWatch(rx, tx, rxAt, unansweredSince, unansweredKicks, now, now, 0), new Wait(), false);
    }
    if (kickedAt != 0) {
      if (s.latestHandshake() != 0) {
        // the fresh session is up: stop the pod-side keepalive, start watching from here; the backoff for
        // unanswered data ends only when data comes back
        TunnelWatch fresh = new TunnelWatch(-1, -1, 0, 0, unansweredKicks, 0, 0, 0);
        return new Step(this, new SessionUp(s.keepaliveSeconds() != 0, retries, now - firstKickAt, fresh), false);
      }
      if (now - kickedAt >= retryDelay(retries, timing).toNanos()) {
        return new Step(this, kick(this, now, "no handshake answer yet"), false);
      }
      return new Step(this, new Wait(), false);
    }
    if (rx < 0) {
      return new Step(new TunnelWatch(s.rxBytes(), s.txBytes(), now, unansweredSince, unansweredKicks, kickedAt,
          firstKickAt, retries), new Wait(), true);
    }
    long drx = s.rxBytes() - rx;
    long dtx = s.txBytes() - tx;
    long lastRx = drx != 0 ? now : rxAt;
    // one keepalive, or two in one look: a pool's other gateway may hold a session the pod still accepts (its
    // previous one, after the ILB moved the flow) and send its keepalive in the same 100 ms. 64 bytes of data
    // would be an IP packet of at most 32 bytes, which the pod's traffic (TCP: 40 and more) does not answer with
    boolean dataIn = drx != 0 && drx != KEEPALIVE_BYTES && drx != 2 * KEEPALIVE_BYTES;
    boolean dataOut = dtx != 0 && dtx != KEEPALIVE_BYTES;
    long since = unansweredSince;
    int kicks = unansweredKicks;
    if (dataIn) {
      since = 0;
      kicks = 0;
    } else if (dataOut && since == 0) {
      since = now;
    }
    TunnelWatch seen = new TunnelWatch(s.rxBytes(), s.txBytes(), lastRx, since, kicks, kickedAt, firstKickAt, retries);
    if (now - lastRx >= timing.stall().toNanos()) {
      return new Step(seen, kick(seen, now, "nothing received for " + (now - lastRx) / 1_000_000 + " ms"), true);
    }
    if (since != 0 && now - since >= unansweredLimit(kicks, timing).toNanos()) {
      TunnelWatch counted = new TunnelWatch(s.rxBytes(), s.txBytes(), lastRx, since, kicks + 1, kickedAt, firstKickAt, retries);
      return new Step(counted, kick(counted, now, "data sent but only keepalives received for " + (now - since) / 1_000_000 + " ms"), true);
    }
    return new Step(seen, new Wait(), true);
  }

  private static Kick kick(TunnelWatch w, long now, String why) {
    TunnelWatch next = new TunnelWatch(-1, -1, 0, 0, w.unansweredKicks(), now, w.firstKickAt() == 0 ? now : w.firstKickAt(),
        w.retries() + 1);
    return new Kick(why, w.retries() == 0, next);
  }

  /** Wait after the {@code n}-th kick before the next one: {@code retry}, doubling, at most 5 s. */
  static Duration retryDelay(int n, Timing timing) {
    if (n == 0) {
      return timing.firstHandshakeRetry(); // the device's own first handshake, not one we forced
    }
    Duration d = timing.retry().multipliedBy(1L << Math.min(n - 1, 10));
    return d.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : d;
  }

  /** How long data may go unanswered before a kick: {@code stall}, doubling per kick in a row, at most 30 s. */
  static Duration unansweredLimit(int kicksInRow, Timing timing) {
    Duration d = timing.unansweredData().multipliedBy(1L << Math.min(kicksInRow, 10));
    return d.compareTo(MAX_UNANSWERED_BACKOFF) > 0 ? MAX_UNANSWERED_BACKOFF : d;
  }
}
