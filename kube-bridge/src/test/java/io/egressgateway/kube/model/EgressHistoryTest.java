package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.kube.model.EgressHistory.Egress;
import io.egressgateway.kube.model.EgressHistory.NodeProfile;
import io.egressgateway.kube.model.EgressHistory.PodUse;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EgressHistoryTest {
  private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

  @ParameterizedTest(name = "{0} through prefix {1} / secondary {2}: {3}")
  @CsvSource(delimiter = '|', value = {
      "20.1.2.0     | 20.1.2.0/31           | 10.0.1.5 | true",
      "20.1.2.1     | 20.1.2.0/31           | 10.0.1.5 | true",
      "20.1.2.2     | 20.1.2.0/31           | 10.0.1.5 | false",
      "10.0.1.5     | 20.1.2.0/31           | 10.0.1.5 | true",
      "10.0.1.6     | 10.0.1.5,10.0.1.6     | 10.0.1.5 | true",
      "10.0.1.7     | 10.0.1.5,10.0.1.6     | 10.0.1.5 | false",
      "8.8.8.8      | 0.0.0.0/0             | 10.0.1.5 | true",
      "20.1.2.1     | 20.1.2.0/33           | 10.0.1.5 | false",
      "20.1.2.1     | not-a-prefix          | 10.0.1.5 | false",
      "20.1.2.256   | 20.1.2.0/24           | 10.0.1.5 | false",
      "20.1.2       | 20.1.2.0/24           | 10.0.1.5 | false",
      "'20.1.2.1\n' | 20.1.2.0/24           | 10.0.1.5 | false",
  })
  void anAddressIsAnEgressWhenItsPrefixOrSecondaryIpHoldsIt(String address, String prefix, String secondary, boolean expected) {
    Egress e = new Egress("apps/gw", "uid", "gw-0", secondary, prefix, T0, null);
    assertEquals(expected, e.couldUse(address));
  }

  @ParameterizedTest(name = "prefix ''{0}'' with nodes {1}: {2} egresses")
  @CsvSource(delimiter = '|', value = {
      "20.1.2.0/31 | gw-0=10.0.1.5;gw-1=10.0.1.6 | 2",
      "20.1.2.0/31 | gw-0=10.0.1.5;gw-1=         | 1",
      "''          | gw-0=10.0.1.5               | 0",
      "20.1.2.0/31 | ''                          | 0",
  })
  void aStatusNamesOneEgressPerGatewayNodeWithASecondaryIpOnceItHasAPrefix(String prefix, String nodes, int expected) {
    List<NodeProfile> profiles = nodes == null || nodes.isBlank() ? List.of() : java.util.Arrays.stream(nodes.split(";"))
        .map(n -> new NodeProfile(n.substring(0, n.indexOf('=')), n.substring(n.indexOf('=') + 1)))
        .toList();
    assertEquals(expected, EgressHistory.egressesOf("apps/gw", "uid", prefix, profiles).size());
  }

  @ParameterizedTest(name = "use {0}..{1} asked at {2}: {3}")
  @CsvSource(delimiter = '|', value = {
      "0  | 10   | 5  | true",
      "0  | 10   | 10 | true",
      "0  | 10   | 11 | false",
      "5  |      | 99 | true",
      "5  |      | 4  | false",
  })
  void aPodIsBehindAnEgressOnlyWhileBothLast(int from, Integer to, int at, boolean expected) {
    Egress e = new Egress("apps/gw", "uid", "gw-0", "10.0.1.5", "20.1.2.0/31", T0, null);
    PodUse u = new PodUse("uid-p", "apps", "p", "10.244.0.7", "apps/gw", T0.plusSeconds(from),
        to == null ? null : T0.plusSeconds(to));
    assertEquals(expected ? 1 : 0, EgressHistory.podsBehind(List.of(e), List.of(u), T0.plusSeconds(at)).size());
    PodUse elsewhere = new PodUse("uid-q", "apps", "q", "10.244.0.8", "apps/other", T0, null);
    assertEquals(0, EgressHistory.podsBehind(List.of(e), List.of(elsewhere), T0.plusSeconds(at)).size(),
        "a pod of another configuration is never behind it");
  }
}
