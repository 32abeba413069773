package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.gateway.infra.WgDevice;
import io.egressgateway.gateway.infra.WireGuardBackend;
import io.egressgateway.gateway.model.WgConfig;
import io.egressgateway.gateway.model.WgDump;
import io.egressgateway.gateway.model.WgPeer;
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
    int resets;
    final Map<String, WgPeer> peers = new HashMap<>();

    @Override
    public WgDump dump(WgDevice device) {
      Map<String, WgDump.Peer> out = new HashMap<>();
      peers.forEach((k, p) -> out.put(k, new WgDump.Peer(k, p.endpoint(), p.allowedIps(), handshake, rx, 0, 0)));
      return new WgDump("", 0, out);
    }

    @Override
    public void removePeer(WgDevice device, String publicKey) {
      peers.remove(publicKey);
      handshake = 0;
      rx = 0;
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
    @Override public boolean alive(WgDevice d) { return true; }
    @Override public void delete(WgDevice d) { }
    @Override public void onDeviceLost(Consumer<String> l) { }
  }

  @Test
  void aSilentTunnelIsForcedIntoANewHandshakeOnceAndABusyOneNever() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    AtomicLong now = new AtomicLong();
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(2500), now::get);
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, "10.0.0.100:6000"));

    w.checkAll(); // no handshake yet: WireGuard's own first handshake, nothing to do
    now.addAndGet(Duration.ofSeconds(10).toNanos());
    w.checkAll();
    assertEquals(0, w.kicks());

    wg.handshake = 1000;
    for (int i = 0; i < 20; i++) { // busy: keepalives keep arriving every second
      wg.rx += 32;
      w.checkAll();
      now.addAndGet(Duration.ofSeconds(1).toNanos());
    }
    assertEquals(0, w.kicks(), "a tunnel that receives is left alone");

    // the gateway died right after the last keepalive; the loop already advanced the clock 1 s past it
    w.checkAll();
    now.addAndGet(Duration.ofMillis(1400).toNanos());
    w.checkAll();
    assertEquals(0, w.kicks(), "not before the stall time");
    now.addAndGet(Duration.ofMillis(200).toNanos());
    w.checkAll();
    assertEquals(1, w.kicks());
    assertEquals(1, wg.resets);
    assertEquals("10.0.0.100:6000", wg.peers.get(GW).endpoint(), "the gateway peer is back, same endpoint");

    w.checkAll(); // no session yet after the reset: no second kick while the new handshake is pending
    assertEquals(1, w.kicks());

    w.forget("wgpod1");
    wg.handshake = 5;
    now.addAndGet(Duration.ofSeconds(60).toNanos());
    w.checkAll();
    w.checkAll();
    assertEquals(1, w.kicks(), "forgotten tunnels are not watched");
  }

  @Test
  void aNewGatewayKeyInTheViewReplacesThePeerOfRunningTunnels() {
    OneDevice wg = new OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), "10.0.0.100:6000", 0));
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1600), System::nanoTime);
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
}
