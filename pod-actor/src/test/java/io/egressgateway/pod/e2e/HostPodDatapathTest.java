package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.net.Routes;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.PodDatapath;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.pod.model.Route;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The real pod datapath on its own: idempotent attach and routes, taking a device over after an agent
 * restart, exact removal, refusal of a foreign wg0.
 */
@Tag("privileged")
class HostPodDatapathTest {

  @Test
  void attachAndRoutesAreIdempotentAndDetachRemovesExactlyOurs() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      WireGuardBackend wg = WireGuardBackends.choose(lab.cmd, "auto");
      String node = lab.ns("node");
      String pod = lab.ns("pod");
      String netns = "/var/run/netns/" + pod;
      lab.ip(node, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod);
      lab.ip(pod, "addr", "add", "10.244.1.5/32", "dev", "eth0");
      lab.ip(pod, "link", "set", "eth0", "up");
      lab.ip(pod, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
      lab.ip(pod, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
      lab.ip(pod, "route", "add", "192.0.2.0/24", "via", "169.254.1.1", "dev", "eth0");

      HostPodDatapath dp = new HostPodDatapath(lab.cmd, wg, node);
      String device = "wg" + lab.prefix + "pd";
      PodDatapath.Attachment a = new PodDatapath.Attachment(device, netns, "10.224.0.100:6000", WgKeys.generate().publicKey());
      String key = WgKeys.generate().privateKey();
      List<Route> desired = PodRoutes.desired(PodRoutes.STATIC_EGRESS_GATEWAY, "169.254.1.1", List.of("198.18.20.0/24"), List.of(),
          List.of(Ipv4Cidr.parse("169.254.169.254/32"), Ipv4Cidr.parse("169.254.10.11/32")), "10.224.0.100");

      long t0 = System.nanoTime();
      dp.prepare(a, key);
      long prepared = System.nanoTime();
      // up in the pod, the kernel already sends into wg0 (IPv6 router solicitation, MLD): with no peer yet
      // nothing leaves, so no handshake can reach a gateway that does not know the pod yet
      WgDevice inPod = WgDevice.created(device, node).movedTo(pod, "wg0");
      Eventually.holds(Duration.ofMillis(1500), () -> wg.dump(inPod).peers().isEmpty(), "a prepared device has no peer");
      long connecting = System.nanoTime();
      dp.connect(a);
      long t1 = System.nanoTime();
      assertEquals(a.gatewayEndpoint(), wg.dump(inPod).peers().get(a.gatewayPublicKey()).endpoint());
      assertEquals(List.of("0.0.0.0/0"), wg.dump(inPod).peers().get(a.gatewayPublicKey()).allowedIps());
      Eventually.holds(Duration.ofMillis(1500), () -> wg.dump(inPod).peers().get(a.gatewayPublicKey()).txBytes() == 0,
          "the kernel's own IPv6 packets on wg0 do not go to the gateway");
      // not vacuous: the kernel did send into wg0 meanwhile (TX: bytes packets ...), and none of it reached the peer
      String tx = lab.ip(pod, "-s", "link", "show", "wg0").lines().dropWhile(l -> !l.trim().startsWith("TX:")).skip(1)
          .findFirst().orElse("").trim();
      assertTrue(tx.split("\\s+").length > 1 && Long.parseLong(tx.split("\\s+")[1]) > 0,
          "the pod's kernel sent its own packets into wg0 during the window (TX: " + tx + ")");
      dp.applyRoutes(netns, desired);
      long t2 = System.nanoTime();
      System.out.printf("pod datapath (%s): device %d ms, peer %d ms, routes + reply marking %d ms%n", wg.kind(),
          (prepared - t0) / 1_000_000, (t1 - connecting) / 1_000_000, (t2 - t1) / 1_000_000);
      String routes = lab.ip(pod, "-4", "route", "show", "table", "all");
      String rules = lab.ip(pod, "rule");
      // what the agent reads before a change, over netlink, is what ip reads: else the plan would delete routes
      Routes.Owned read = dp.ownedRoutes(netns, false);
      Routes.Owned byIp = dp.ownedRoutes(netns, true);
      assertTrue(read.rule() && byIp.rule(), "the reply rule is seen both ways");
      assertEquals(HostPodDatapath.routes(byIp.routes()), HostPodDatapath.routes(read.routes()));
      assertEquals(Set.copyOf(desired), Set.copyOf(HostPodDatapath.routes(read.routes())), "read back as desired");
      assertEquals(List.of(), PodRoutes.plan(desired, HostPodDatapath.routes(read.routes())), "nothing left to change");
      dp.attach(a, key);
      dp.applyRoutes(netns, desired);
      assertEquals(routes, lab.ip(pod, "-4", "route", "show", "table", "all"), "a second apply changes no route");
      assertEquals(rules, lab.ip(pod, "rule"), "a second apply adds no rule");
      assertEquals(Optional.of(device), dp.tunnelDevice(netns));
      assertTrue(routes.contains("default via inet6 fe80::1 dev wg0 proto 77"), routes);
      assertTrue(routes.contains("default via 169.254.1.1 dev eth0 table 8738"), routes);
      assertTrue(rules.contains("fwmark 0x2222 lookup 8738"), rules);
      assertTrue(lab.ip(pod, "-4", "route", "get", "169.254.169.254").contains("dev eth0"), "instance metadata stays off the tunnel");
      assertTrue(lab.ip(pod, "-4", "route", "get", "169.254.10.11").contains("dev eth0"), "node-local DNS stays off the tunnel");
      assertTrue(lab.ip(pod, "-4", "route", "get", "203.0.113.7").contains("dev wg0"), "the rest goes into the tunnel");
      assertTrue(lab.in(pod, "nft", "list", "table", "ip", "kube_egress_pod").contains("ct mark set 0x00002222"));
      assertFalse(lab.ip(node, "link", "show").contains(device), "the device left the node namespace");

      // an agent started since: a new backend and datapath find the device by its alias and read the key back
      HostPodDatapath restarted = new HostPodDatapath(lab.cmd, WireGuardBackends.choose(lab.cmd, "auto"), node);
      assertEquals(new PodDatapath.Resumption(Optional.of(key), false), restarted.resume(a));
      assertEquals(PodDatapath.Resumption.GONE,
          restarted.resume(new PodDatapath.Attachment(device, "/var/run/netns/" + lab.prefix + "absent", a.gatewayEndpoint(),
              a.gatewayPublicKey())));

      PodDatapath.Attachment foreign = new PodDatapath.Attachment("wgother" + lab.prefix, netns, "10.224.0.100:6000", a.gatewayPublicKey());
      assertThrows(IllegalStateException.class, () -> dp.attach(foreign, key), "another pod's device is refused");

      dp.detach(netns, device);
      assertEquals(new Routes.Owned(false, List.of()), dp.ownedRoutes(netns, false), "none of ours left");
      assertEquals(new Routes.Owned(false, List.of()), dp.ownedRoutes(netns, true));
      String after = lab.ip(pod, "-4", "route", "show", "table", "all");
      assertFalse(after.contains("proto 77"), "our routes are gone: " + after);
      assertTrue(after.contains("192.0.2.0/24 via 169.254.1.1 dev eth0"), "routes we did not create stay");
      assertFalse(lab.ip(pod, "rule").contains("0x2222"));
      assertFalse(lab.cmd.attempt(List.of("ip", "netns", "exec", pod, "nft", "list", "table", "ip", "kube_egress_pod")).ok());
      assertFalse(lab.ip(pod, "link", "show").contains("wg0"));
      assertEquals(Optional.empty(), dp.tunnelDevice(netns));
      assertEquals(PodDatapath.Resumption.NO_DEVICE, restarted.resume(a));
      dp.detach(netns, device);

      // a pod that keeps running without its tunnel (no longer selected by a policy): eth0's default is back
      assertFalse(after.contains("default via 169.254.1.1 dev eth0 proto"), "no default route after detach: " + after);
      dp.restoreDefault(netns, "169.254.1.1");
      dp.restoreDefault(netns, "169.254.1.1");
      assertTrue(lab.ip(pod, "-4", "route", "get", "203.0.113.7").contains("via 169.254.1.1 dev eth0"),
          lab.ip(pod, "-4", "route", "show", "table", "all"));
    }
  }

  @Test
  void aStartingAgentWatchesTheTunnelsStillRunningOnItsNodeBeforeTakingThemBack() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      WireGuardBackend wg = WireGuardBackends.choose(lab.cmd, "auto");
      String node = lab.ns("node");
      String pod = lab.ns("pod");
      String other = lab.ns("other");
      String netns = "/var/run/netns/" + pod;
      HostPodDatapath dp = new HostPodDatapath(lab.cmd, wg, node);
      String device = io.egressgateway.pod.model.DeviceNames.forContainer(lab.prefix + "c0ffee42");
      PodDatapath.Attachment a = new PodDatapath.Attachment(device, netns, "10.224.0.100:6000", WgKeys.generate().publicKey());
      dp.prepare(a, WgKeys.generate().privateKey());
      dp.connect(a);
      // a wg0 that is not one of ours (no device name of ours as alias) next to it
      lab.ip(other, "link", "add", "wg0", "type", "veth", "peer", "name", "wgpeer");
      // the namespaces the agent looks through: only this test's (the directory gives their names)
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("netns-names");
      try {
        for (String ns : List.of(pod, other, lab.prefix + "-gone")) {
          java.nio.file.Files.createFile(dir.resolve(ns));
        }
        // an agent started since, before it has joined the cluster or taken any tunnel back
        WireGuardBackend wg2 = WireGuardBackends.choose(lab.cmd, "auto");
        HostPodDatapath restarted = new HostPodDatapath(lab.cmd, wg2, node);
        io.egressgateway.pod.infra.FailoverWatchdog watchdog = new io.egressgateway.pod.infra.FailoverWatchdog(wg2,
            Duration.ofMillis(1500), Duration.ofMillis(500), System::nanoTime);
        restarted.watchedBy(watchdog);
        assertEquals(1, restarted.watchRunning(dir), "the running tunnel, and only it");
        var watched = watchdog.watching(device).orElseThrow();
        assertEquals(a.gatewayPublicKey(), watched.gatewayPublicKey());
        assertEquals(a.gatewayEndpoint(), watched.gatewayEndpoint());
        assertEquals(WgDevice.created(device, node).movedTo(pod, "wg0"), watched.device());
        watchdog.checkAll(); // the device reads as a tunnel: nothing thrown, nothing to do yet
        watchdog.close();
      } finally {
        try (var files = java.nio.file.Files.list(dir)) {
          for (java.nio.file.Path f : files.toList()) {
            java.nio.file.Files.delete(f);
          }
        }
        java.nio.file.Files.delete(dir);
        dp.detach(netns, device);
      }
    }
  }
}
