package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cnichain.CniChain;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.pod.model.PodInfo;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real packets through the real CNI chain (see {@link Topology}): ptp + host-local from the Debian
 * containernetworking-plugins as the main plugin, then kube-egress-cni through its launcher, talking to the
 * node agent in this JVM.
 */
@Tag("privileged")
class PodEgressE2ETest {
  private static final String ARGS = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=%s;K8S_POD_UID=uid-%s";

  @Test
  void podEgressesThroughTheGatewayAndDelCleansUp() throws Exception {
    Lab.requirePrerequisites();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_GATEWAY)) {
      t.directory.put(new PodInfo("default", "web", "uid-web", Map.of(PodInfo.GATEWAY_ANNOTATION, "egw")));
      String pod = t.lab.ns("web");
      String netns = "/var/run/netns/" + pod;
      String containerId = UUID.randomUUID().toString().replace("-", "");
      String device = io.egressgateway.pod.model.DeviceNames.forContainer(containerId);
      String args = ARGS.formatted("web", "web");

      long t0 = System.nanoTime();
      CniChain.Outcome add = t.chain.add(containerId, netns, "eth0", args);
      long addMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(add.ok(), add.plugin() + ": " + add.error());
      assertTrue(add.result().contains("\"name\":\"wg0\""), add.result());
      String podIp = t.podIp(pod);

      // the very first request: well under WireGuard's 5 s handshake retry, or curl gives up after 2 s
      long t1 = System.nanoTime();
      CommandRunner.Result first = t.curl(pod, Topology.ECHO, 2);
      long firstMs = (System.nanoTime() - t1) / 1_000_000;
      if (!first.ok()) {
        t.diagnose(pod, device);
      }
      String seen = first.stdout().trim();
      assertTrue(seen.equals("203.0.113.15") || seen.equals("203.0.113.16"),
          "the echo host sees a gateway's egress IP, saw '" + seen + "' (" + first.stderr() + ")");
      assertEquals("203.0.113.1", t.curl(pod, Topology.ECHO_EXCLUDED, 3).stdout().trim(),
          "an excluded CIDR leaves by eth0 (the VNet's default outbound), not through the gateway");
      assertTrue(t.lab.ip(pod, "-4", "route", "show", "default").contains("via inet6 fe80::1 dev wg0"));
      System.out.printf("e2e: CNI chain ADD (ptp + kube-egress-cni) %d ms; first request through the tunnel %d ms; egress IP %s%n",
          addMs, firstMs, seen);
      for (var e : t.gatewayDevices.entrySet()) {
        assertTrue(t.wg.dump(e.getValue()).peers().values().stream().anyMatch(p -> p.allowedIps().contains(podIp + "/32")),
            e.getKey() + " has the pod's peer");
      }

      CniChain.Outcome check = t.chain.check(containerId, netns, "eth0", args, add.result());
      assertTrue(check.ok(), check.plugin() + ": " + check.error());

      if (t.wg instanceof GoWireGuard go) {
        // the pod's wireguard-go (started by the agent in this JVM) dies: the pod fails closed, then is repaired
        long pid = go.pidOf(device).orElseThrow();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        long k0 = System.nanoTime();
        String after = Eventually.await(Duration.ofSeconds(15), Duration.ofMillis(100), () -> t.curl(pod, Topology.ECHO, 1).stdout().trim(),
            answer -> answer.startsWith("203.0.113.1"), "egress back");
        assertTrue(after.equals("203.0.113.15") || after.equals("203.0.113.16"), "egress repaired after wireguard-go died, saw '" + after + "'");
        assertTrue(go.pidOf(device).orElseThrow() != pid, "a new wireguard-go serves the device");
        System.out.printf("e2e: pod wireguard-go killed, egress back after %d ms%n", (System.nanoTime() - k0) / 1_000_000);
      }

      CniChain.Outcome del = t.chain.del(containerId, netns, "eth0", args);
      assertTrue(del.ok(), del.plugin() + ": " + del.error());
      for (var e : t.gatewayDevices.entrySet()) {
        assertTrue(t.wg.dump(e.getValue()).peers().isEmpty(), e.getKey() + " no longer has the pod's peer");
        assertFalse(t.lab.ip(t.cfgNs.get(e.getKey()), "-4", "route", "show").contains(podIp), "pod route removed on " + e.getKey());
      }
      assertFalse(t.lab.ip(pod, "link", "show").contains("wg0"), "wg0 removed from the pod");
      assertFalse(t.wg.alive(WgDevice.created(device, t.w1)), "the pod's device is gone");
    }
  }

  @Test
  void unannotatedPodIsLeftAlone() throws Exception {
    Lab.requirePrerequisites();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_GATEWAY)) {
      t.directory.put(new PodInfo("default", "plain", "uid-plain", Map.of()));
      String pod = t.lab.ns("plain");
      CniChain.Outcome add = t.chain.add("ab12cd34ef", "/var/run/netns/" + pod, "eth0", ARGS.formatted("plain", "plain"));
      assertTrue(add.ok(), add.plugin() + ": " + add.error());
      assertFalse(add.result().contains("wg0"));
      assertFalse(t.lab.ip(pod, "link", "show").contains("wg0"));
      assertEquals("203.0.113.1", t.curl(pod, Topology.ECHO, 3).stdout().trim(), "an unannotated pod leaves by the VNet's default outbound");
      assertTrue(t.chain.del("ab12cd34ef", "/var/run/netns/" + pod, "eth0", ARGS.formatted("plain", "plain")).ok());
    }
  }

  @Test
  void azureNetworkingTunnelsOnlyTheConfigsCidrs() throws Exception {
    Lab.requirePrerequisites();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_AZURE)) {
      t.directory.put(new PodInfo("default", "az", "uid-az", Map.of(PodInfo.GATEWAY_ANNOTATION, "egw")));
      String pod = t.lab.ns("az");
      String containerId = UUID.randomUUID().toString().replace("-", "");
      CniChain.Outcome add = t.chain.add(containerId, "/var/run/netns/" + pod, "eth0", ARGS.formatted("az", "az"));
      assertTrue(add.ok(), add.plugin() + ": " + add.error());
      assertEquals("203.0.113.1", t.curl(pod, Topology.ECHO, 3).stdout().trim(), "the default stays on eth0");
      String seen = t.curl(pod, Topology.ECHO_EXCLUDED, 3).stdout().trim();
      assertTrue(seen.equals("203.0.113.15") || seen.equals("203.0.113.16"),
          "in azureNetworking mode the config's CIDRs go through the gateway, saw '" + seen + "'");
      assertTrue(t.chain.del(containerId, "/var/run/netns/" + pod, "eth0", ARGS.formatted("az", "az")).ok());
    }
  }
}
