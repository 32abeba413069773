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

  private static String echoFrom(String ns, String source) {
    String url = "http://" + AzureVnet.ECHO_IP + ":" + AzureVnet.ECHO_PORT + "/";
    String out = source == null
        ? Sh.mustIn(ns, "curl", "-s", "-m", "5", url)
        : Sh.mustIn(ns, "curl", "-s", "-m", "5", "--interface", source, url);
    return out.trim();
  }
}
