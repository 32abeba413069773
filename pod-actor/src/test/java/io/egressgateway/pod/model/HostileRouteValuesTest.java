package io.egressgateway.pod.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every value that becomes a pod route (and so a line of {@code ip -batch}) is parsed where the routes are
 * made: the config's {@code excludeCidrs} from the replicated view, the CNI configuration's
 * {@code excludedCIDRs}, the pod's eth0 gateway and the ILB address. A hostile one is a clear error, never a
 * route.
 */
class HostileRouteValuesTest {
  private static final String GW = "169.254.1.1";

  /** Shapes of a value carrying more than one word or line, around a valid {@code v}. */
  static List<String> hostile(String v) {
    return List.of(v + "\nnetns exec egwt-x touch /tmp/pwned", v + "\n", "\n" + v, v + "\r", v + "\u0000", v + " ",
        " " + v, v + "\t", v + " dev eth0", v + ";reboot", v + "|id", v + "$(id)", "../" + v, "-" + v, v + "\u00a0",
        v.repeat(30), "", "default", "0" + v);
  }

  record Field(String name, Function<String, List<Route>> routesWith, String valid) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Field> fields() {
    return List.of(
        new Field("config excludeCidrs", v -> PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, List.of(v), List.of(), List.of(), "10.224.0.100"), "198.18.20.0/24"),
        new Field("config excludeCidrs (azureNetworking)", v -> PodRoutes.desired(PodRoutes.AZURE_NETWORKING, GW, List.of(v), List.of(), List.of(), "10.224.0.100"), "198.18.20.0/24"),
        new Field("CNI excludedCIDRs", v -> PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, List.of(), List.of(v), List.of(), "10.224.0.100"), "10.244.0.0/16"),
        new Field("eth0 gateway", v -> PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, v, List.of(), List.of(), List.of(), "10.224.0.100"), GW),
        new Field("ILB address", v -> PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, GW, List.of(), List.of(), List.of(), v), "10.224.0.100"));
  }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (Field f : fields()) {
      for (String bad : hostile(f.valid())) {
        if (f.name().equals("ILB address") && bad.isEmpty()) {
          continue; // no ILB address: no route for it, nothing to refuse
        }
        out.add(Arguments.of(f, bad));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("cases")
  void hostileValuesNeverBecomeRoutes(Field f, String bad) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.routesWith().apply(bad), f + " " + bad);
    assertFalse(e.getMessage().contains("\n"), "the CNI error names the value without its newline: " + e.getMessage());
  }

  static Stream<Arguments> valid() {
    return fields().stream().map(f -> Arguments.of(f, f.valid()));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("valid")
  void validValuesStillMakeTheirRoutes(Field f, String good) {
    for (Route r : f.routesWith().apply(good)) {
      r.args().forEach(w -> assertFalse(w.isEmpty() || w.chars().anyMatch(c -> c <= ' '), "one word: '" + w + "'"));
    }
  }

  @org.junit.jupiter.api.Test
  void aRouteIsMadeOfParsedWordsOnly() {
    for (String bad : hostile("10.0.0.0/8")) {
      if (!bad.equals("default")) {
        assertThrows(IllegalArgumentException.class, () -> Route.main(bad, GW, "eth0"), bad);
      }
    }
    for (String bad : hostile(GW)) {
      if (!bad.isEmpty()) {
        assertThrows(IllegalArgumentException.class, () -> Route.main("10.0.0.0/8", bad, "eth0"), bad);
      }
    }
    for (String bad : hostile("eth0")) {
      if (bad.equals("default") || bad.equals("0eth0")) {
        continue; // link names both
      }
      assertThrows(IllegalArgumentException.class, () -> Route.main("10.0.0.0/8", GW, bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> new Route("10.0.0.0/8", GW, "eth0", 0));
    assertEquals("10.0.0.1/32", Route.main("10.0.0.1", "", "eth0").dst(), "a bare address is still its /32");
    assertEquals("0.0.0.0/0", Route.main("default", Route.TUNNEL_VIA, "wg0").dst());
  }
}
