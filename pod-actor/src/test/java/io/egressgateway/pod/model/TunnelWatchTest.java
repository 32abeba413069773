package io.egressgateway.pod.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TunnelWatchTest {
  private static final TunnelWatch.Timing TIMING = new TunnelWatch.Timing(Duration.ofMillis(1300), Duration.ofMillis(300),
      Duration.ofMillis(300), Duration.ofMillis(1300));
  private static final long MS = 1_000_000;
  /** Any start; 0 would read as "no kick pending". */
  private static final long T0 = 1000 * MS;

  private static TunnelWatch.Sample sample(long handshake, long rx, long tx) {
    return new TunnelWatch.Sample(handshake, rx, tx, 0);
  }

  @Test
  void aTunnelThatSentNothingIsNotWatched() {
    TunnelWatch.Step step = TunnelWatch.NEW.step(sample(0, 0, 0), 0, TIMING);
    assertNull(step.watch());
    assertInstanceOf(TunnelWatch.Wait.class, step.action());
  }

  @Test
  void anUnansweredFirstHandshakeIsRetriedAfterItsDelayThenTheSessionEndsTheOutage() {
    TunnelWatch w = TunnelWatch.NEW.step(sample(0, 0, 148), T0, TIMING).watch();
    assertEquals(T0, w.kickedAt(), "the device's own first handshake counts from the first look");
    assertInstanceOf(TunnelWatch.Wait.class, w.step(sample(0, 0, 148), T0 + 299 * MS, TIMING).action());
    TunnelWatch.Kick kick = (TunnelWatch.Kick) w.step(sample(0, 0, 148), T0 + 300 * MS, TIMING).action();
    assertTrue(kick.firstOfOutage());
    assertEquals(1, kick.after().retries());
    TunnelWatch.SessionUp up = (TunnelWatch.SessionUp) kick.after().step(new TunnelWatch.Sample(1000, 92, 148, 1), T0 + 400 * MS, TIMING).action();
    assertTrue(up.endKeepalive());
    assertEquals(1, up.attempts());
    assertEquals(TunnelWatch.NEW, up.after());
  }

  @Test
  void silenceForStallKicksAndKeepalivesAloneDoNotCountAsAnAnswer() {
    TunnelWatch w = TunnelWatch.NEW.step(sample(1000, 100, 100), T0, TIMING).watch();
    TunnelWatch.Step keepalive = w.step(sample(1000, 132, 100), T0 + 1000 * MS, TIMING);
    assertTrue(keepalive.established());
    assertInstanceOf(TunnelWatch.Wait.class, keepalive.action(), "a keepalive arrived: not silent");
    TunnelWatch.Step silent = keepalive.watch().step(sample(1000, 132, 100), T0 + 2300 * MS, TIMING);
    TunnelWatch.Kick kick = (TunnelWatch.Kick) silent.action();
    assertTrue(kick.why().startsWith("nothing received for 1300 ms"), kick.why());
    TunnelWatch unanswered = keepalive.watch().step(sample(1000, 164, 500), T0 + 2000 * MS, TIMING).watch();
    assertEquals(T0 + 2000 * MS, unanswered.unansweredSince(), "data went out, only a keepalive came back");
    TunnelWatch.Kick again = (TunnelWatch.Kick) unanswered.step(sample(1000, 196, 900), T0 + 3300 * MS, TIMING).action();
    assertEquals(1, again.after().unansweredKicks(), "the backoff for unanswered data grows");
  }

  @Test
  void twoGatewaysKeepalivesInOneLookAreNoAnswerEither() {
    TunnelWatch w = TunnelWatch.NEW.step(sample(1000, 100, 100), T0, TIMING).watch();
    w = w.step(sample(1000, 100, 500), T0 + 100 * MS, TIMING).watch();
    assertEquals(T0 + 100 * MS, w.unansweredSince(), "data went out");
    // each look: keepalives of two gateways (64 bytes), more data out
    long rx = 100;
    long tx = 500;
    TunnelWatch.Action last = null;
    for (long t = 200; t <= 1400; t += 100) {
      rx += 2 * TunnelWatch.KEEPALIVE_BYTES;
      tx += 400;
      TunnelWatch.Step step = w.step(sample(1000, rx, tx), T0 + t * MS, TIMING);
      w = step.watch();
      last = step.action();
      if (last instanceof TunnelWatch.Kick) {
        break;
      }
    }
    TunnelWatch.Kick kick = assertInstanceOf(TunnelWatch.Kick.class, last, "data answered only by keepalives");
    assertTrue(kick.why().startsWith("data sent but only keepalives received for 1300 ms"), kick.why());
    // a real answer (a TCP segment: 80 bytes and more on the wire) ends the count
    TunnelWatch v = TunnelWatch.NEW.step(sample(1000, 100, 100), T0, TIMING).watch();
    v = v.step(sample(1000, 100, 500), T0 + 100 * MS, TIMING).watch();
    assertEquals(0, v.step(sample(1000, 180, 900), T0 + 200 * MS, TIMING).watch().unansweredSince());
  }

  @Test
  void eachLookNamesTheTunnelsStateForTheMetrics() {
    TunnelWatch.Sample idle = sample(0, 0, 0);
    assertEquals(TunnelWatch.State.IDLE, TunnelWatch.NEW.state(idle, TunnelWatch.NEW.step(idle, T0, TIMING)));

    TunnelWatch.Sample sending = sample(0, 0, 148);
    TunnelWatch.Step first = TunnelWatch.NEW.step(sending, T0, TIMING);
    assertEquals(TunnelWatch.State.HANDSHAKING, TunnelWatch.NEW.state(sending, first));
    TunnelWatch w = first.watch();
    assertEquals(TunnelWatch.State.HANDSHAKING, w.state(sending, w.step(sending, T0 + 100 * MS, TIMING)), "still its own first");
    TunnelWatch.Step retry = w.step(sending, T0 + 300 * MS, TIMING);
    assertEquals(TunnelWatch.State.RECOVERING, w.state(sending, retry), "forced a fresh handshake");
    TunnelWatch kicked = ((TunnelWatch.Kick) retry.action()).after();
    assertEquals(TunnelWatch.State.RECOVERING, kicked.state(sample(0, 0, 0), kicked.step(sample(0, 0, 0), T0 + 400 * MS, TIMING)));

    TunnelWatch.Sample up = sample(1000, 92, 148);
    assertEquals(TunnelWatch.State.ESTABLISHED, kicked.state(up, kicked.step(up, T0 + 500 * MS, TIMING)));
    TunnelWatch.Step seen = TunnelWatch.NEW.step(up, T0, TIMING);
    assertEquals(TunnelWatch.State.ESTABLISHED, TunnelWatch.NEW.state(up, seen));
    TunnelWatch.Step stalled = seen.watch().step(up, T0 + 2000 * MS, TIMING);
    assertEquals(TunnelWatch.State.RECOVERING, seen.watch().state(up, stalled), "nothing received: kicked");
    assertEquals("recovering", TunnelWatch.State.RECOVERING.label());
  }
}
