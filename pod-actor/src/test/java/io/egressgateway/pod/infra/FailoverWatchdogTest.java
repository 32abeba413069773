package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class FailoverWatchdogTest {
  static final String GW = "R1VHV0dXR1dHV0dXR1dHV0dXR1dHV0dXR1dHV0dXR1c=";

  /** A one-device backend that keeps the gateway peer's counters and counts session resets. */
  static final class OneDevice implements WireGuardBackend {
    long handshake;
    long rx;
    long tx;
    int resets;
    int port;
    /** The device's own (the pod's) public key. */
    String ownKey = "";
    final Map<String, WgPeer> peers = new HashMap<>();

    @Override
    public WgDump dump(WgDevice device) {
      Map<String, WgDump.Peer> out = new HashMap<>();
      peers.forEach((k, p) -> out.put(k, new WgDump.Peer(k, p.endpoint(), p.allowedIps(), handshake, rx, tx, p.keepaliveSeconds())));
      return new WgDump(ownKey, port, out);
    }

    @Override
    public void removePeer(WgDevice device, String publicKey) {
      peers.remove(publicKey);
      handshake = 0;
      rx = 0;
      tx = 0;
      resets++;
    }

    @Override
    public void setPeer(WgDevice device, WgPeer peer) {
      peers.put(peer.publicKey(), peer);
    }

    @Override public String kind() { return "fake"; }
    @Override public WgDevice create(String hostNetns, String name) { throw new UnsupportedOperationException(); }
    @Override public WgDevice moveInto(WgDevice d, String netns, String ifname) { throw new UnsupportedOperationException(); }
    @Override public void configure(WgDevice d, WgConfig c) { throw new UnsupportedOperationException(); }
    @Override public void sync(WgDevice d, WgConfig c) { throw new UnsupportedOperationException(); }
    @Override public String privateKey(WgDevice d) { throw new UnsupportedOperationException(); }
    @Override public boolean alive(WgDevice d) { return true; }
    @Override public void delete(WgDevice d) { }
    @Override public void onDeviceLost(Consumer<String> l) { }
  }

  private static final Duration SEC = Duration.ofSeconds(1);

  private static void advance(AtomicLong now, Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void whileTheRunningTunnelsAreBeingFoundTheGuardIsNotToldThereAreNone() {
    OneDevice wg = new OneDevice();
    wg.port = 51000;
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    List<List<Integer>> told = new java.util.ArrayList<>();
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), () -> 1)
        .guardedBy(ports -> told.add(List.copyOf(ports))).awaitingRunning();
    w.checkAll();
    assertEquals(List.of(), told, "no tunnel watched yet: the guard an earlier agent left stays");
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    assertEquals(List.of(List.of(51000)), told, "a running tunnel found: its port");
    w.forget("wgpod1");
    w.checkAll();
    assertEquals(List.of(List.of(51000)), told, "still looking: not told there are none");
    w.runningWatched();
    w.checkAll();
    assertEquals(List.of(List.of(51000), List.of()), told, "the look is done: none is none");
  }

  @Test
  void theGuardIsToldTheDevicesPortsWhenTheyChangeAndAgainAfterItFailed() {
    OneDevice wg = new OneDevice();
    wg.port = 51000;
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong();
    List<List<Integer>> told = new java.util.ArrayList<>();
    java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), now::get)
        .guardedBy(ports -> {
          told.add(List.copyOf(ports));
          if (failing.get()) {
            throw new IllegalStateException("nft: no such file");
          }
        });
    w.checkAll(); // nothing watched: told so once (a table left by an earlier agent goes)
    w.checkAll();
    assertEquals(List.of(List.of()), told);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    w.checkAll();
    assertEquals(List.of(List.of(), List.of(51000)), told, "told once per change");
    wg.port = 51001; // the device made again
    failing.set(true);
    w.checkAll();
    w.checkAll();
    assertEquals(2, w.guardFailures());
    assertEquals(List.of(51001), told.get(told.size() - 1));
    failing.set(false);
    w.checkAll();
    int n = told.size();
    w.checkAll();
    assertEquals(n, told.size(), "taken: not told again");
    w.forget("wgpod1");
    w.checkAll();
    assertEquals(List.of(), told.get(told.size() - 1));
  }

  @Test
  void theHandshakeAgeIsReadFromTheInjectedWallClock() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    wg.handshake = 1000;
    AtomicLong now = new AtomicLong();
    AtomicLong wall = new AtomicLong(1042);
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), now::get, wall::get);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    assertEquals(42, w.oldestHandshakeSeconds());
    wall.set(1100);
    w.checkAll();
    assertEquals(100, w.oldestHandshakeSeconds());
  }

  @Test
  void aSilentTunnelGetsAFreshHandshakeRetriedUntilItCompletesAndABusyOneIsLeftAlone() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong();
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), now::get);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));

    w.checkAll(); // no handshake yet: WireGuard's own first handshake, nothing to do
    advance(now, Duration.ofSeconds(10));
    w.checkAll();
    assertEquals(0, w.kicks());

    wg.handshake = 1000;
    for (int i = 0; i < 20; i++) { // busy: keepalives keep arriving every second
      wg.rx += 32;
      w.checkAll();
      advance(now, SEC);
    }
    assertEquals(0, w.kicks(), "a tunnel that receives is left alone");

    // the gateway died right after the last keepalive; the loop already advanced the clock 1 s past it
    w.checkAll();
    advance(now, Duration.ofMillis(200));
    w.checkAll();
    assertEquals(0, w.kicks(), "not before the stall time");
    advance(now, Duration.ofMillis(100));
    w.checkAll();
    assertEquals(1, w.kicks());
    assertEquals(1, wg.resets);
    assertEquals("10.0.0.100:6000", wg.peers.get(GW).endpoint(), "the gateway peer is back, same endpoint");
    assertEquals(1, wg.peers.get(GW).keepaliveSeconds(), "re-added with a keepalive, so the handshake starts at once");

    advance(now, Duration.ofMillis(200));
    w.checkAll();
    assertEquals(1, w.kicks(), "the handshake gets its retry time");
    advance(now, Duration.ofMillis(100));
    w.checkAll();
    assertEquals(2, w.kicks(), "no answer within retry: tried again (the ILB may not have moved the flow yet)");
    advance(now, Duration.ofMillis(500));
    w.checkAll();
    assertEquals(2, w.kicks(), "the second retry waits twice as long");
    advance(now, Duration.ofMillis(100));
    w.checkAll();
    assertEquals(3, w.kicks());

    wg.handshake = 2000; // a healthy gateway answered
    w.checkAll();
    assertEquals(0, wg.peers.get(GW).keepaliveSeconds(), "the pod-side keepalive is turned off again");
    for (int i = 0; i < 5; i++) {
      wg.rx += 32;
      w.checkAll();
      advance(now, SEC);
    }
    assertEquals(3, w.kicks(), "the new session is watched like any other");

    w.forget("wgpod1");
    advance(now, Duration.ofSeconds(60));
    w.checkAll();
    w.checkAll();
    assertEquals(3, w.kicks(), "forgotten tunnels are not watched");
  }

  @Test
  void aFirstHandshakeWithoutAnswerIsRetriedSoonNotAfterFiveSeconds() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong();
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), now::get);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    advance(now, Duration.ofSeconds(3));
    w.checkAll();
    assertEquals(0, w.kicks(), "an idle new tunnel has nothing to retry");

    wg.tx = 148; // the pod sent its first packet: a handshake initiation went out
    w.checkAll();
    advance(now, Duration.ofMillis(200));
    w.checkAll();
    assertEquals(0, w.kicks(), "a handshake gets its retry time");
    advance(now, Duration.ofMillis(100));
    w.checkAll();
    assertEquals(1, w.kicks(), "unanswered after 300 ms: a new initiation (the gateway may have the peer by now)");
    assertEquals(1, wg.peers.get(GW).keepaliveSeconds());

    wg.handshake = 1000;
    w.checkAll();
    assertEquals(0, wg.peers.get(GW).keepaliveSeconds());

    // a first handshake that completes at once costs nothing
    OneDevice quick = new OneDevice();
    quick.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    FailoverWatchdog q = new FailoverWatchdog(quick, Duration.ofMillis(1300), Duration.ofMillis(300), now::get);
    q.watch("wgpod2", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod2", ""), GW, "10.0.0.100:6000"));
    quick.tx = 148;
    q.checkAll();
    quick.handshake = 1000;
    quick.rx = 92;
    advance(now, Duration.ofMillis(100));
    q.checkAll();
    for (int i = 0; i < 10; i++) {
      quick.rx += 32;
      advance(now, SEC);
      q.checkAll();
    }
    assertEquals(0, q.kicks());
    assertEquals(0, quick.resets);
  }

  @Test
  void dataAnsweredOnlyByKeepalivesForcesAHandshakeWithBackoffAndAnsweredDataNever() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong();
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), now::get);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    wg.handshake = 1000;
    Duration tick = Duration.ofMillis(100);
    // requests and replies: never a kick
    for (int i = 0; i < 50; i++) {
      wg.tx += 96;
      wg.rx += i % 10 == 0 ? 32 : 128;
      w.checkAll();
      advance(now, tick);
    }
    assertEquals(0, w.kicks());

    // the flow now reaches a gateway without the session: requests go out, only another gateway's keepalives come in
    long[] kicksAt = new long[3];
    int seen = 0;
    long start = now.get();
    for (int i = 0; i < 400 && seen < 3; i++) {
      if (wg.handshake == 0) {
        wg.handshake = 3000; // every fresh handshake completes at once ...
      }
      wg.tx += 96; // ... but the data still goes unanswered (a pod that only sends)
      if (i % 10 == 0) {
        wg.rx += 32;
      }
      w.checkAll();
      if (w.kicks() > seen) {
        kicksAt[seen++] = now.get();
      }
      advance(now, tick);
    }
    assertEquals(3, seen, "unanswered data leads to fresh handshakes");
    assertTrue(kicksAt[0] - start <= Duration.ofMillis(1500).toNanos(), "the first within about the stall time: " + (kicksAt[0] - start));
    long gap1 = kicksAt[1] - kicksAt[0];
    long gap2 = kicksAt[2] - kicksAt[1];
    assertTrue(gap2 > gap1 + Duration.ofMillis(800).toNanos(), "backs off: " + gap1 / 1_000_000 + " ms then " + gap2 / 1_000_000 + " ms");
  }

  @Test
  void aNewGatewayKeyInTheViewReplacesThePeerOfRunningTunnels() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), System::nanoTime);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    String newKey = "TkVXS0VZTkVXS0VZTkVXS0VZTkVXS0VZTkVXS0VZTkU=";
    var other = new io.egressgateway.core.view.ConfigView("ns/other", "u2", 1, "10.0.0.100", 6001, "T1RIRVI=", "s2",
        List.of(), null, "", Map.of(), true);
    var same = new io.egressgateway.core.view.ConfigView("ns/sgc", "u1", 2, "10.0.0.100", 6000, GW, "s1",
        List.of(), null, "", Map.of(), true);
    w.onViews(Map.of("ns/other", other, "ns/sgc", same));
    assertEquals(java.util.Set.of(GW), wg.peers.keySet(), "unchanged key, other config: nothing to do");

    w.onViews(Map.of("ns/sgc", new io.egressgateway.core.view.ConfigView("ns/sgc", "u1", 3, "10.0.0.100", 6000, newKey,
        "s1", List.of(), null, "", Map.of(), true)));
    assertEquals(java.util.Set.of(newKey), wg.peers.keySet(), "the old gateway peer is replaced by the new key");
    assertEquals("10.0.0.100:6000", wg.peers.get(newKey).endpoint());
  }

  @Test
  void aHostileGatewayKeyInTheViewLeavesTheRunningPeerAlone() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), System::nanoTime);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    for (String bad : List.of(GW + "\nendpoint=10.9.9.9:1", GW.substring(1) + " ", "not a key", GW + "\u0000")) {
      w.onViews(Map.of("ns/sgc", new io.egressgateway.core.view.ConfigView("ns/sgc", "u1", 3, "10.0.0.100", 6000, bad,
          "s1", List.of(), null, "", Map.of(), true)));
      assertEquals(java.util.Set.of(GW), wg.peers.keySet(), "refused, and the working peer kept: " + bad);
      assertEquals(0, wg.resets);
    }
  }

  @Test
  void eachPassCountsTheTunnelsOfEachConfigurationByStateIntoTheMetrics() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong(1);
    AtomicLong wall = new AtomicLong(2000);
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), now::get, wall::get);
    io.egressgateway.core.metrics.Metrics m = io.egressgateway.core.metrics.Metrics.standalone();
    w.onCensus(new TunnelMetrics(m, "node-1"));
    w.onViews(Map.of("team-a/sgc", new io.egressgateway.core.view.ConfigView("team-a/sgc", "u1", 1, "10.0.0.100", 6000, GW, "s",
        List.of(), "staticEgressGateway", "", Map.of(), true)));
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    var tunnels = m.gauge("egress_pod_tunnels", "", "config", "node", "state");
    var oldest = m.gauge("egress_pod_config_oldest_handshake_seconds", "", "config", "node");

    w.checkAll();
    assertEquals(1, tunnels.value("team-a/sgc", "node-1", "idle"), "nothing sent yet");
    assertEquals(0, tunnels.value("team-a/sgc", "node-1", "established"));
    assertTrue(Double.isNaN(oldest.value("team-a/sgc", "node-1")), "no handshake, no age");

    wg.tx = 148;
    w.checkAll();
    assertEquals(1, tunnels.value("team-a/sgc", "node-1", "handshaking"));

    wg.handshake = 1990;
    wg.rx = 92;
    w.checkAll();
    w.checkAll();
    assertEquals(1, tunnels.value("team-a/sgc", "node-1", "established"));
    assertEquals(0, tunnels.value("team-a/sgc", "node-1", "handshaking"));
    assertEquals(10, oldest.value("team-a/sgc", "node-1"));

    advance(now, Duration.ofSeconds(2)); // nothing received for 2 s: the gateway is gone
    w.checkAll();
    assertEquals(1, tunnels.value("team-a/sgc", "node-1", "recovering"));
    assertEquals(0, tunnels.value("team-a/sgc", "node-1", "established"));

    w.forget("wgpod1");
    w.checkAll();
    assertTrue(Double.isNaN(tunnels.value("team-a/sgc", "node-1", "recovering")), "no tunnels of the config: no series");
    String text = m.scrape();
    assertTrue(!text.contains("wgpod1") && !text.contains(GW), "no pod or key in any label");
  }

  @Test
  void aTunnelToAnEndpointNoConfigurationHasCountsAsUnknown() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), () -> 1, () -> 0);
    java.util.List<io.egressgateway.pod.model.TunnelCensus> seen = new java.util.ArrayList<>();
    w.onCensus(seen::add);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    assertEquals(1, seen.get(0).tunnels().get(io.egressgateway.pod.model.TunnelCensus.UNKNOWN)
        .get(io.egressgateway.pod.model.TunnelWatch.State.IDLE));
  }

  @Test
  void aFailingCensusListenerDoesNotEndThePass() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    wg.handshake = 1000;
    AtomicLong now = new AtomicLong(1);
    FailoverWatchdog w = new FailoverWatchdog(wg, new FailoverWatchdog.Timing(SEC, SEC, SEC, SEC), now::get, () -> 1010);
    w.onCensus(c -> {
      throw new IllegalArgumentException("bad labels");
    });
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));
    w.checkAll();
    assertEquals(10, w.oldestHandshakeSeconds());
    advance(now, Duration.ofSeconds(2));
    w.checkAll();
    assertEquals(1, w.kicks(), "the watchdog still acts");
  }
}
