package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The VNet stand-in with real packets: default outbound, public IP mapping, ILB routing, full teardown. */
@Tag("privileged")
class AzureVnetTest {

  @Test
  void routesNatsAndTearsDown() {
    Privileged.require("ip", "nft", "socat", "curl", "ping");
    NetLab lab = new NetLab("t" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    try {
      AzureVnet vnet = new AzureVnet(lab);
      String w1 = vnet.addVm("w1", "10.224.0.4");
      String gw1 = vnet.addVm("gw1", "10.224.0.5");

      assertEquals(AzureVnet.DEFAULT_OUTBOUND_IP, echoFrom(w1, null), "VNet traffic leaves as default outbound");

      Sh.must("ip", "-n", gw1, "addr", "add", "10.224.0.15/32", "dev", "eth0");
      vnet.routeSecondaryIp("10.224.0.15", "10.224.0.5");
      vnet.setPublicIps(Map.of("10.224.0.15", "203.0.113.15"));
      assertEquals("203.0.113.15", echoFrom(gw1, "10.224.0.15"), "a secondary IP leaves as its public IP");

      Sh.must("ip", "-n", gw1, "addr", "add", "10.224.0.100/32", "dev", "eth0");
      vnet.setIlbBackends("10.224.0.100", List.of("10.224.0.5"));
      assertTrue(Sh.quiet(w1, "ping", "-c", "1", "-W", "2", "10.224.0.100").ok(), "ILB frontend reaches the backend");
      vnet.setIlbBackends("10.224.0.100", List.of());
      assertFalse(Sh.quiet(w1, "ping", "-c", "1", "-W", "1", "10.224.0.100").ok(), "no healthy backend: dropped");
      assertFalse(lab.livePids().isEmpty(), "echo servers run");

      // a loopback service of this namespace, reachable on a node's own loopback through the relay
      try (var server = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress())) {
        Thread t = new Thread(() -> {
          try (var c = server.accept()) {
            c.getOutputStream().write("relayed\n".getBytes());
          } catch (java.io.IOException ignored) {
            // test ends
          }
        });
        t.start();
        Relays relays = new Relays(lab);
        relays.export("svc", server.getLocalPort());
        relays.importInto(w1, "svc", 15432);
        assertEquals("relayed", Sh.mustIn(w1, "socat", "-T", "3", "-", "TCP:127.0.0.1:15432").trim());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    } finally {
      lab.close();
    }
    assertTrue(lab.existingNamespaces().isEmpty(), "namespaces left: " + lab.existingNamespaces());
    assertTrue(lab.livePids().isEmpty(), "processes left: " + lab.livePids());
  }

  /**
   * The ILB stand-in keeps a flow on its backend while that backend is healthy (as Azure's load balancer does); a
   * backend that turns healthy gets new flows only; a flow whose backend left goes to one still healthy.
   */
  @Test
  void aFlowStaysOnItsBackendUntilThatBackendLeaves() {
    Privileged.require("ip", "nft", "socat");
    NetLab lab = new NetLab("t" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    try {
      AzureVnet vnet = new AzureVnet(lab);
      String w1 = vnet.addVm("w1", "10.224.0.4");
      String gw1 = vnet.addVm("gw1", "10.224.0.5");
      String gw2 = vnet.addVm("gw2", "10.224.0.6");
      for (String gw : List.of(gw1, gw2)) {
        Sh.must("ip", "-n", gw, "addr", "add", "10.224.0.100/32", "dev", "eth0");
        Sh.mustWithInput(gw, "table ip t {\n  counter got { }\n  chain in {\n    type filter hook input priority 0; policy accept;\n"
            + "    udp dport 6000 counter name \"got\"\n  }\n}\n", "nft", "-f", "-");
      }
      AzureVnet.IlbRule rule = new AzureVnet.IlbRule("10.224.0.100", 6000);

      vnet.setIlbBackends("10.224.0.100", List.of("10.224.0.5"));
      vnet.setIlbFlows(Map.of(rule, List.of("10.224.0.5")));
      send(w1, 40000, 3);
      assertEquals(List.of(3L, 0L), got(gw1, gw2), "one backend: the flow goes there");

      vnet.setIlbBackends("10.224.0.100", List.of("10.224.0.5", "10.224.0.6"));
      vnet.setIlbFlows(Map.of(rule, List.of("10.224.0.5", "10.224.0.6")));
      send(w1, 40000, 5);
      assertEquals(List.of(8L, 0L), got(gw1, gw2), "a backend turning healthy does not take the running flow");
      for (int port = 40001; port <= 40016; port++) {
        send(w1, port, 1);
      }
      assertTrue(got(gw1, gw2).get(1) > 0, "new flows are spread over both: " + got(gw1, gw2));

      List<Long> before = got(gw1, gw2);
      vnet.setIlbBackends("10.224.0.100", List.of("10.224.0.6"));
      vnet.setIlbFlows(Map.of(rule, List.of("10.224.0.6")));
      send(w1, 40000, 4);
      assertEquals(List.of(before.get(0), before.get(1) + 4), got(gw1, gw2), "its backend left: the flow moves to the healthy one");
    } finally {
      lab.close();
    }
    assertTrue(lab.existingNamespaces().isEmpty(), "namespaces left: " + lab.existingNamespaces());
  }

  /** Sends {@code n} datagrams from UDP source port {@code sourcePort} of {@code ns} to the ILB frontend's port 6000. */
  private static void send(String ns, int sourcePort, int n) {
    for (int i = 0; i < n; i++) {
      Sh.mustWithInput(ns, "x", "socat", "-u", "-", "UDP:10.224.0.100:6000,sourceport=" + sourcePort + ",reuseaddr");
    }
  }

  /** The datagrams each backend received on port 6000 so far. */
  private static List<Long> got(String... backends) {
    List<Long> out = new java.util.ArrayList<>();
    for (String b : backends) {
      String listing = Sh.mustIn(b, "nft", "list", "counter", "ip", "t", "got");
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets (\\d+)").matcher(listing);
      out.add(m.find() ? Long.parseLong(m.group(1)) : -1);
    }
    return out;
  }

  private static String echoFrom(String ns, String source) {
    String url = "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/";
    String out = source == null
        ? Sh.mustIn(ns, "curl", "-s", "-m", "5", url)
        : Sh.mustIn(ns, "curl", "-s", "-m", "5", "--interface", source, url);
    return out.trim();
  }
}
