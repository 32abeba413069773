package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.pod.model.GatewayRoute;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The watchdog acts on {@link GatewayRoute}: a stalled tunnel goes to a gateway's own address, then back to the ILB. */
class FailoverWatchdogRouteTest {
  private static final String GW = FailoverWatchdogTest.GW;
  private static final String ILB = "10.0.0.100:6000";
  private static final Duration SEC = Duration.ofSeconds(1);

  private static ConfigView view() {
    return new ConfigView("default/egw", "uid-egw", 1, "10.0.0.100", 6000, GW, "egw-key", List.of(), null, null,
        Map.of("gw1", new ConfigView.GatewayAddresses("10.0.0.5", "10.0.0.15"),
            "gw2", new ConfigView.GatewayAddresses("10.0.0.6", "10.0.0.16"),
            "gw3", new ConfigView.GatewayAddresses("10.0.0.7", "")), true);
  }

  @Test
  void aStalledTunnelHandshakesWithAGatewaysOwnAddressThenReturnsToTheIlb() {
    FailoverWatchdogTest.OneDevice wg = new FailoverWatchdogTest.OneDevice();
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), ILB, 0));
    AtomicLong now = new AtomicLong();
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), now::get)
        .returningToIlbAfter(Duration.ofSeconds(15));
    w.onViews(Map.of("default/egw", view()));
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, ILB));
    List<String> order = GatewayRoute.order("wgpod1", List.of("10.0.0.5:6000", "10.0.0.6:6000"));

    wg.handshake = 1000;
    w.checkAll();
    now.addAndGet(Duration.ofMillis(1300).toNanos()); // the gateway behind the ILB went quiet
    w.checkAll();
    assertEquals(1, w.kicks());
    assertEquals(order.get(0), wg.peers.get(GW).endpoint(), "the first forced handshake goes to the pod's first gateway");
    now.addAndGet(Duration.ofMillis(300).toNanos());
    w.checkAll();
    assertEquals(2, w.kicks());
    assertEquals(order.get(1), wg.peers.get(GW).endpoint(), "no answer: the next gateway (gw3 has no complete addresses)");

    wg.handshake = 2000; // it answered
    w.checkAll();
    assertEquals(order.get(1), wg.peers.get(GW).endpoint(), "turning the keepalive off keeps the gateway's address");
    assertEquals(0, wg.peers.get(GW).keepaliveSeconds());
    for (int i = 0; i < 14; i++) {
      now.addAndGet(SEC.toNanos());
      wg.rx += 32;
      w.checkAll();
    }
    assertEquals(order.get(1), wg.peers.get(GW).endpoint(), "not before return-to-ilb");
    now.addAndGet(SEC.toNanos());
    wg.rx += 32;
    w.checkAll();
    assertEquals(ILB, wg.peers.get(GW).endpoint(), "back to the ILB once the probe has caught up");
    assertEquals(1, wg.peers.get(GW).keepaliveSeconds(), "with a handshake at once");
    assertEquals(2, w.kicks(), "a return is not counted as a forced handshake of an outage");

    now.addAndGet(Duration.ofMillis(300).toNanos()); // the ILB still sends to the dead gateway
    w.checkAll();
    assertEquals(order.get(1), wg.peers.get(GW).endpoint(), "an unanswered return goes back to the gateway that served");
    wg.handshake = 3000;
    w.checkAll();
    assertTrue(wg.peers.get(GW).endpoint().equals(order.get(1)) && wg.peers.get(GW).keepaliveSeconds() == 0);
  }

  /**
   * A stopping gateway names the pods with a session there: the named tunnel gets a fresh handshake with the
   * pool's other gateway's own address at once; an unnamed one, or one already on another gateway's address,
   * is left alone; while the stopping gateway's word holds, later forced handshakes leave it out.
   */
  @Test
  void aTunnelNamedByAStoppingGatewayMovesToAnotherGatewayAtOnce() {
    FailoverWatchdogTest.OneDevice wg = new FailoverWatchdogTest.OneDevice();
    wg.ownKey = "UE9EUE9EUE9EUE9EUE9EUE9EUE9EUE9EUE9EUE9EUE8=";
    wg.setPeer(null, new WgPeer(GW, List.of("0.0.0.0/0"), ILB, 0));
    AtomicLong now = new AtomicLong(Duration.ofSeconds(1).toNanos()); // a kick at 0 would read as none
    FailoverWatchdog w = new FailoverWatchdog(wg, Duration.ofMillis(1300), Duration.ofMillis(300), now::get)
        .returningToIlbAfter(Duration.ofSeconds(15));
    w.onViews(Map.of("default/egw", view()));
    w.watch("wgpod1", new FailoverWatchdog.Tunnel(WgDevice.created("wgpod1", ""), GW, ILB));
    wg.handshake = 1000;
    w.checkAll();

    assertEquals(0, w.handOver("gw1", java.util.Set.of("T1RIRVJPVEhFUk9USEVST1RIRVJPVEhFUk9USEVSTz0=")), "not named: stays");
    assertEquals(ILB, wg.peers.get(GW).endpoint());
    assertEquals(0, wg.resets);

    assertEquals(1, w.handOver("gw1", java.util.Set.of(wg.ownKey)));
    assertEquals("10.0.0.6:6000", wg.peers.get(GW).endpoint(), "to the other gateway with complete addresses, not the ILB");
    assertEquals(1, wg.peers.get(GW).keepaliveSeconds(), "with a handshake at once");
    assertEquals(1, wg.resets);
    assertEquals(1, w.handedOver());

    wg.handshake = 2000; // gw2 answered
    w.checkAll();
    assertEquals(0, wg.peers.get(GW).keepaliveSeconds());
    assertEquals(0, w.handOver("gw1", java.util.Set.of(wg.ownKey)), "already on another gateway's own address");
    assertEquals("10.0.0.6:6000", wg.peers.get(GW).endpoint());

    w.checkAll(); // the new session's first look
    now.addAndGet(Duration.ofMillis(1300).toNanos()); // gw2 goes quiet while gw1's word holds
    w.checkAll();
    assertEquals(ILB, wg.peers.get(GW).endpoint(), "the stopping gateway is left out: the ILB is next");
    now.addAndGet(Duration.ofMillis(300).toNanos());
    w.checkAll();
    assertEquals("10.0.0.6:6000", wg.peers.get(GW).endpoint(), "then the gateway that served, never the stopping one");

    now.addAndGet(FailoverWatchdog.LEAVING_FOR.toNanos()); // its word has lapsed (it is back, or gone for good)
    for (int i = 0; i < 4 && !wg.peers.get(GW).endpoint().equals("10.0.0.5:6000"); i++) {
      now.addAndGet(Duration.ofSeconds(5).toNanos());
      w.checkAll();
    }
    assertEquals("10.0.0.5:6000", wg.peers.get(GW).endpoint(), "a candidate again once its word lapsed");
  }
}
