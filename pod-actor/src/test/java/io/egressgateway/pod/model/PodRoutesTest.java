package io.egressgateway.pod.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.Ipv4Cidr;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PodRoutesTest {
  private static final String GW = "169.254.1.1";

  private static final List<Ipv4Cidr> EXCEPTIONS = List.of(Ipv4Cidr.parse("169.254.169.254/32"), Ipv4Cidr.parse("169.254.10.11/32"));

  /** The whole route list of static mode, for a config's CIDRs, the CNI's excludes and the exceptions. */
  static Stream<Arguments> staticMode() {
    return Stream.of(
        Arguments.of("everything into the tunnel except excludes and the ILB", List.of("198.18.20.0/24"),
            List.of("10.244.0.0/16", "198.18.20.0/24"), List.of(), List.of(
                Route.main("169.254.1.1/32", "", "eth0"),
                new Route("0.0.0.0/0", GW, "eth0", Route.REPLY_TABLE),
                Route.main("198.18.20.0/24", GW, "eth0"),
                Route.main("10.244.0.0/16", GW, "eth0"),
                Route.main("10.224.0.100/32", GW, "eth0"),
                Route.main("0.0.0.0/0", "inet6 fe80::1", "wg0"))),
        Arguments.of("the exceptions merged with the config's excludes once", List.of("198.18.20.0/24", "169.254.169.254/32"),
            List.of(), EXCEPTIONS, List.of(
                Route.main("169.254.1.1/32", "", "eth0"),
                new Route("0.0.0.0/0", GW, "eth0", Route.REPLY_TABLE),
                Route.main("169.254.169.254/32", GW, "eth0"),
                Route.main("169.254.10.11/32", GW, "eth0"),
                Route.main("198.18.20.0/24", GW, "eth0"),
                Route.main("10.224.0.100/32", GW, "eth0"),
                Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void staticMode(String what, List<String> cidrs, List<String> excludes, List<Ipv4Cidr> exceptions, List<Route> expected) {
    assertEquals(expected, PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, cidrs, excludes, exceptions, "10.224.0.100"));
  }

  /**
   * Azure networking mode: eth0 keeps the default route (no main-table default), the config's CIDRs go into
   * the tunnel, the CNI's excludes already use eth0 and are not routed again, the exceptions stay on eth0.
   */
  static Stream<Arguments> azureNetworking() {
    return Stream.of(
        Arguments.of("only the config's CIDRs are tunnelled", List.of("1.2.3.0/24"), List.of("10.0.0.0/8"), List.of(),
            List.of(Route.main("1.2.3.0/24", Route.TUNNEL_VIA, "wg0")),
            List.of("10.0.0.0/8"), List.of()),
        Arguments.of("the exceptions stay on eth0 inside a wider or the same tunnelled range", List.of("169.254.0.0/16", "169.254.10.11"),
            List.of(), EXCEPTIONS,
            List.of(Route.main("169.254.169.254/32", GW, "eth0"), Route.main("169.254.10.11/32", GW, "eth0"),
                Route.main("169.254.0.0/16", Route.TUNNEL_VIA, "wg0")),
            List.of(), List.of("169.254.10.11/32")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void azureNetworking(String what, List<String> cidrs, List<String> excludes, List<Ipv4Cidr> exceptions, List<Route> present,
      List<String> notRouted, List<String> notTunnelled) {
    List<Route> d = PodRoutes.desired(PodRoutes.AZURE_NETWORKING, GW, cidrs, excludes, exceptions, "10.224.0.100");
    for (Route r : present) {
      assertTrue(d.contains(r), r + " in " + d);
    }
    assertTrue(d.stream().noneMatch(r -> r.dst().equals("0.0.0.0/0") && r.table() == Route.MAIN), "eth0 keeps the default");
    for (String dst : notRouted) {
      assertTrue(d.stream().noneMatch(r -> r.dst().equals(dst)), dst + ": CNI excludes already use eth0");
    }
    for (String dst : notTunnelled) {
      assertTrue(d.stream().noneMatch(r -> r.dst().equals(dst) && r.dev().equals("wg0")), dst + ": the exception wins");
    }
  }

  @Test
  void exceptionCidrsAreParsedStrictly() {
    assertEquals("169.254.169.254/32", Ipv4Cidr.parse("169.254.169.254/32").toString());
    assertThrows(IllegalArgumentException.class, () -> Ipv4Cidr.parse(" 169.254.169.254/32 "), "no text around it");
    assertEquals("0.0.0.0/0", Ipv4Cidr.parse("0.0.0.0/0").toString());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Ipv4Cidr.parse("10.0.0.1/8")).getMessage()
        .contains("10.0.0.0/8"), "a CIDR with host bits names its network");
  }

  @ParameterizedTest
  @ValueSource(strings = {"169.254.169.254", "169.254.169/32", "169.254.169.256/32", "10.0.0.0/33", "10.0.0.1/8",
      "010.0.0.0/8", "a.b.c.d/8", "10.0.0.0/", ""})
  void badExceptionCidrsAreRefusedNamingThemselves(String bad) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ipv4Cidr.parse(bad), bad);
    assertTrue(e.getMessage().contains("'" + bad.trim() + "'"), e.getMessage());
  }

  @ParameterizedTest(name = "mode ''{0}'', gateway ''{1}''")
  @CsvSource({"sideways, 169.254.1.1", "staticEgressGateway, ''"})
  void badInputIsRefused(String mode, String gateway) {
    assertThrows(IllegalArgumentException.class, () -> PodRoutes.desired(mode, gateway, List.of(), List.of(), List.of(), ""));
  }

  @Test
  void planAddsMissingDeletesOnlyUnwantedOursAndMovesTheDefaultLast() {
    List<Route> desired = PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, List.of("198.18.20.0/24"), List.of(), List.of(), "");
    Route stale = Route.main("203.0.113.0/24", GW, "eth0");
    List<Route> observed = List.of(desired.get(0), stale);
    List<RouteAction> plan = PodRoutes.plan(desired, observed);
    assertEquals(new RouteAction.Delete(stale), plan.get(0));
    assertEquals(new RouteAction.Replace(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0")), plan.get(plan.size() - 1));
    assertTrue(plan.stream().noneMatch(a -> a.route().equals(desired.get(0))), "present routes are left alone");
    assertEquals(desired.size() - 1 + 1, plan.size());
  }

  @Test
  void planIsEmptyWhenConvergedAndReplacesAChangedRouteInPlace() {
    List<Route> desired = PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, List.of("198.18.20.0/24"), List.of(), List.of(), "");
    assertEquals(List.of(), PodRoutes.plan(desired, desired));
    Route old = Route.main("198.18.20.0/24", "169.254.9.9", "eth0");
    List<RouteAction> plan = PodRoutes.plan(desired, List.of(old));
    assertTrue(plan.stream().noneMatch(a -> a instanceof RouteAction.Delete), "same key: replaced, not deleted");
  }

  @Test
  void routeArgsAndNormalisation() {
    assertEquals(List.of("0.0.0.0/0", "via", "inet6", "fe80::1", "dev", "wg0", "table", "254", "proto", "77"),
        Route.main("default", Route.TUNNEL_VIA, "wg0").args());
    assertEquals(List.of("10.0.0.1/32", "dev", "eth0", "scope", "link", "table", "254", "proto", "77"),
        Route.main("10.0.0.1", "", "eth0").args());
  }
}
