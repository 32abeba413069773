package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.IpBatch;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.pod.model.Route;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pod datapath's own uses of values: namespace paths that become names, the gateway peer, the batch
 * lines from routes, the routes it reads back, and the namespaces file for the plugin. Hostile values are
 * refused (or left out) before a command or a file sees them.
 */
class HostileInfraValuesTest {
  private static final String KEY = WgKeys.generate().publicKey();

  static List<String> hostile(String v) {
    return List.of(v + "\nnetns exec egwt-x id", v + "\n", v + "\r", v + "\u0000", v + " ", " " + v, v + "\t",
        v + ";id", v + "$(id)", "../" + v, v + "/..", v.repeat(20));
  }

  @Test
  void namespacePathsThatDoNotNameANamespaceGetNoName() {
    CommandRunner cmd = new CommandRunner();
    for (String bad : List.of("/var/run/netns/../../proc/1/ns/net", "/run/netns/..", "/var/run/netns/a b",
        "/var/run/netns/x\nnetns exec y id", "/var/run/netns/", "/var/run/netns/-force", "/proc/1/ns/net\n",
        "/proc/self/ns/net", "/var/run/netns/x/../../../etc/passwd")) {
      assertEquals(Optional.empty(), NetnsNames.find(bad), bad);
      assertThrows(IllegalStateException.class, () -> NetnsNames.resolve(cmd, bad), bad);
    }
  }

  @Test
  void theGatewayPeerTakesAKeyAndAnEndpointOnly() {
    for (String bad : hostile(KEY)) {
      assertThrows(IllegalArgumentException.class, () -> HostPodDatapath.gatewayPeer(bad, "10.224.0.100:6000", 0), bad);
    }
    for (String bad : hostile("10.224.0.100:6000")) {
      assertThrows(IllegalArgumentException.class, () -> HostPodDatapath.gatewayPeer(KEY, bad, 0), bad);
    }
    assertEquals("10.224.0.100:6000", HostPodDatapath.gatewayPeer(KEY, "10.224.0.100:6000", 25).endpoint());
  }

  @Test
  void batchLinesFromRoutesAreWhatTheyWere() {
    IpBatch b = new IpBatch();
    HostPodDatapath.route(b, IpBatch.RouteVerb.REPLACE, Route.main("198.18.20.0/24", "169.254.1.1", "eth0"));
    HostPodDatapath.route(b, IpBatch.RouteVerb.REPLACE, Route.main("169.254.1.1/32", "", "eth0"));
    HostPodDatapath.route(b, IpBatch.RouteVerb.DEL, new Route("0.0.0.0/0", "169.254.1.1", "eth0", Route.REPLY_TABLE));
    HostPodDatapath.route(b, IpBatch.RouteVerb.REPLACE, Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0"));
    assertEquals("route replace 198.18.20.0/24 via 169.254.1.1 dev eth0 table 254 proto 77\n"
        + "route replace 169.254.1.1/32 dev eth0 scope link table 254 proto 77\n"
        + "route del 0.0.0.0/0 via 169.254.1.1 dev eth0 table 8738 proto 77\n"
        + "route replace 0.0.0.0/0 via inet6 fe80::1 dev wg0 table 254 proto 77\n", b.text());
  }

  @Test
  void routesReadBackThatWeCouldNotHaveMadeAreLeftOut() throws Exception {
    var arr = new ObjectMapper().readTree("""
        [{"dst":"default","via":{"family":"inet6","host":"fe80::1"},"dev":"wg0","protocol":"77","flags":[]},
         {"dst":"198.18.20.0/24","gateway":"169.254.1.1","dev":"eth0","protocol":"77","flags":[]},
         {"dst":"10.0.0.0/8\\nnetns exec x id","gateway":"169.254.1.1","dev":"eth0"},
         {"dst":"10.1.0.0/16","gateway":"169.254.1.1 dev lo","dev":"eth0"},
         {"dst":"10.2.0.0/16","gateway":"169.254.1.1","dev":"eth0 up"},
         {"dst":"10.3.0.0/16","gateway":"169.254.1.1","dev":"eth0","table":"8738"}]
        """);
    assertEquals(List.of(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0"), Route.main("198.18.20.0/24", "169.254.1.1", "eth0"),
        new Route("10.3.0.0/16", "169.254.1.1", "eth0", 8738)), HostPodDatapath.parseRoutes(arr));
  }

  @Test
  void aResumptionNeverShowsThePrivateKey() {
    String key = WgKeys.generate().privateKey();
    PodDatapath.Resumption r = new PodDatapath.Resumption(Optional.of(key), false);
    assertFalse(r.toString().contains(key), r.toString());
    assertTrue(r.toString().contains("redacted"));
  }

  @Test
  void theNamespacesFileListsKubernetesNamespaceNamesOnly(@TempDir Path dir) throws Exception {
    GatewayNamespaces hints = new GatewayNamespaces(dir, Runnable::run, Duration.ZERO, System::nanoTime);
    Map<String, ConfigView> views = new LinkedHashMap<>();
    for (String key : List.of("team-a/gw", "team-b\nkube-system/gw", "../etc/gw", "Team-C/gw", "team d/gw", "team-e/gw")) {
      views.put(key, null);
    }
    hints.offerViews(views);
    List<String> lines = Files.readAllLines(hints.file());
    assertEquals(List.of("team-a", "team-e"), lines.subList(1, lines.size()));
    assertTrue(lines.stream().noneMatch(l -> l.contains("kube-system")));
    assertFalse(Files.readString(hints.file()).contains(".."));
  }
}
