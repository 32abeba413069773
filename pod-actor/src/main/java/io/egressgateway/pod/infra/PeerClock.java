package io.egressgateway.pod.infra;

import java.util.function.LongSupplier;

/**
 * This worker node's peer sequence: the numbers that order its {@code AddPeer}s and its lists of live
 * tunnels ({@code PeersOfNode}) on the gateways. Strictly increasing within an agent; wall-clock
 * microseconds (advanced by one where two numbers fall in the same microsecond), so an agent that restarts
 * continues above its predecessor as long as the node's clock does not step back by more than the restart
 * took. If it does, a gateway reads the new lists as older ones and keeps peers a little longer: it never
 * drops a live one for it. Thread-safe.
 */
public final class PeerClock {
  private final LongSupplier millis;
  private long last;

  public PeerClock() {
    this(System::currentTimeMillis);
  }

  public PeerClock(LongSupplier millis) {
    this.millis = millis;
  }

  public synchronized long next() {
    last = Math.max(last + 1, millis.getAsLong() * 1000);
    return last;
  }
}
