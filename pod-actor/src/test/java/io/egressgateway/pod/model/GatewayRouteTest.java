package io.egressgateway.pod.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GatewayRouteTest {
  private static final String ILB = "10.0.0.100:6000";
  private static final String A = "10.0.0.5:6000";
  private static final String B = "10.0.0.6:6000";
  private static final String C = "10.0.0.7:6000";
  private static final long S = 1_000_000_000L;

  /** Where each forced handshake of one outage goes, from a route, for the gateways in the pod's order. */
  static Stream<Arguments> kicks() {
    GatewayRoute onA = GatewayRoute.viaIlb(ILB).onKick(ILB, List.of(A, B)).onSessionUp(S);
    return Stream.of(
        Arguments.of("through the ILB: the pod's order, then the ILB", GatewayRoute.viaIlb(ILB), List.of(A, B),
            List.of(A, B, ILB, A)),
        Arguments.of("no gateway known: the ILB only (as without this design)", GatewayRoute.viaIlb(ILB), List.of(),
            List.of(ILB, ILB)),
        Arguments.of("on gateway A, which went quiet: the others, the ILB, A last", onA, List.of(A, B, C),
            List.of(B, C, ILB, A, B)),
        Arguments.of("a failed return to the ILB: the gateway that served first", onA.onReturn(ILB), List.of(B, A),
            List.of(A, B, ILB, A)),
        Arguments.of("the gateway that served has left the view: not tried", onA.onReturn(ILB), List.of(B, C),
            List.of(B, C, ILB)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kicks")
  void forcedHandshakesOfAnOutageGoInThisOrder(String why, GatewayRoute start, List<String> ordered, List<String> expected) {
    List<String> seen = new ArrayList<>();
    GatewayRoute r = start;
    for (int i = 0; i < expected.size(); i++) {
      r = r.onKick(ILB, ordered);
      seen.add(r.endpoint());
      assertEquals(!r.endpoint().equals(ILB), r.direct(), "direct exactly when not the ILB");
    }
    assertEquals(expected, seen, why);
  }

  /** When the peer goes back to the ILB after a session through a gateway's own address. */
  static Stream<Arguments> returns() {
    GatewayRoute direct = GatewayRoute.viaIlb(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S);
    GatewayRoute afterTwoFailed = direct.onReturn(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S)
        .onReturn(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S);
    return Stream.of(
        Arguments.of("not before returnAfter", direct, 24 * S, 15, false),
        Arguments.of("at returnAfter", direct, 25 * S, 15, true),
        Arguments.of("never with 0", direct, 1000 * S, 0, false),
        Arguments.of("never through the ILB", GatewayRoute.viaIlb(ILB).onSessionUp(S), 1000 * S, 15, false),
        Arguments.of("not while the direct handshake is pending", GatewayRoute.viaIlb(ILB).onKick(ILB, List.of(A)), 1000 * S, 15, false),
        Arguments.of("two failed returns: four times the wait", afterTwoFailed, 69 * S, 15, false),
        Arguments.of("two failed returns: due at four times", afterTwoFailed, 70 * S, 15, true),
        Arguments.of("the doubling stops at 16 times", afterTwoFailed.onReturn(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S)
            .onReturn(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S).onReturn(ILB).onKick(ILB, List.of(A)).onSessionUp(10 * S),
            250 * S, 15, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("returns")
  void theRouteReturnsToTheIlbOnceTheProbeHasCaughtUp(String why, GatewayRoute r, long now, int returnAfterSeconds, boolean due) {
    assertEquals(due, r.returnDue(now, Duration.ofSeconds(returnAfterSeconds)), why);
  }

  @Test
  void aSessionThroughTheIlbClearsTheFailedReturns() {
    GatewayRoute back = GatewayRoute.viaIlb(ILB).onKick(ILB, List.of(A)).onSessionUp(S).onReturn(ILB);
    assertEquals(1, back.failedReturns());
    assertEquals(ILB, back.endpoint());
    assertFalse(back.direct());
    assertEquals(GatewayRoute.viaIlb(ILB), back.onSessionUp(2 * S));
  }

  @Test
  void theOrderSpreadsPodsAndMovesOnlyTheLeavingGatewaysPods() {
    Map<String, Integer> firsts = new HashMap<>();
    int moved = 0;
    for (int i = 0; i < 3000; i++) {
      String pod = "wgp" + Integer.toHexString(i * 7919);
      List<String> three = GatewayRoute.order(pod, List.of(C, A, B));
      assertEquals(three, GatewayRoute.order(pod, List.of(B, C, A)), "the order depends on the pod, not the input's");
      firsts.merge(three.get(0), 1, Integer::sum);
      List<String> two = GatewayRoute.order(pod, List.of(A, B));
      assertEquals(three.stream().filter(e -> !e.equals(C)).toList(), two, "a leaving gateway keeps the others' order");
      if (!two.get(0).equals(three.get(0))) {
        moved++;
        assertEquals(C, three.get(0));
      }
    }
    for (String e : List.of(A, B, C)) {
      assertTrue(firsts.getOrDefault(e, 0) > 800, e + " first for " + firsts.get(e) + " of 3000 pods");
    }
    assertNotEquals(0, moved);
    assertEquals(firsts.get(C), moved, "only the pods that preferred the leaving gateway move");
  }
}
