package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.gateway.infra.CommandRunner;
import io.egressgateway.gateway.infra.WgDevice;
import io.egressgateway.gateway.infra.WgKeys;
import io.egressgateway.gateway.infra.WireGuardBackend;
import io.egressgateway.gateway.infra.WireGuardBackends;
import io.egressgateway.gateway.model.WgConfig;
import io.egressgateway.gateway.model.WgPeer;
import io.egressgateway.pod.entity.CniHandler;
import io.egressgateway.pod.entity.PodTunnel;
import io.egressgateway.pod.entity.PodTunnels;
import io.egressgateway.pod.infra.CniServer;
import io.egressgateway.pod.infra.GatewayPeers;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.model.PodInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real packets through the real CNI chain: ptp + host-local (Debian containernetworking-plugins) as the main
 * plugin, then kube-egress-cni through its launcher, talking to a node agent (CNI server, PodTunnel,
 * HostPodDatapath on the chosen WireGuard backend) running in this JVM.
 *
 * <p>Topology, all in namespaces this test owns: {@code vnet} (router, floating-IP ILB 10.224.0.100 with ECMP
 * over both gateways, edge NAT: secondary IPs to 203.0.113.15/16, the rest to 203.0.113.1), {@code inet}
 * (echo services answering with the client address), worker {@code w1} (the pods' host namespace),
 * {@code gw1}/{@code gw2} with a per-config namespace each (wg0 listening on 6000, host0 with the secondary
 * IP, SNAT). The gateway side is programmed here directly with the gateway module's WireGuard backend
 * (the GatewayNode entity is not part of this module); pod peers reach it through a {@link GatewayPeers}
 * that sets the peer and its /32 route on each gateway.
 */
@Tag("privileged")
class PodEgressE2ETest {
  private static final String ROUTER = "10.224.0.1";
  private static final String ILB = "10.224.0.100";
  private static final int PORT = 6000;
  private static final Map<String, String[]> GATEWAYS = new LinkedHashMap<>();

  static {
    // name -> primary IP, secondary IP, public IP
    GATEWAYS.put("gw1", new String[] {"10.224.0.5", "10.224.0.15", "203.0.113.15"});
    GATEWAYS.put("gw2", new String[] {"10.224.0.6", "10.224.0.16", "203.0.113.16"});
  }

  @Test
  void podEgressesThroughTheGatewayAndDelCleansUp() throws Exception {
    Lab.requirePrerequisites();
    ExecutorService blocking = Executors.newFixedThreadPool(4);
    ActorTestKit testKit = null;
    CniServer server = null;
    Map<String, WgDevice> gatewayDevices = new LinkedHashMap<>();
    WireGuardBackend wg = WireGuardBackends.choose(new CommandRunner(), "auto");
    try (Lab lab = new Lab()) {
      String vnet = lab.ns("vnet");
      String inet = lab.ns("inet");
      buildVnet(lab, vnet, inet);
      String w1 = vm(lab, vnet, "w1", "10.224.0.4");
      lab.ip(vnet, "route", "replace", "10.244.1.0/24", "via", "10.224.0.4", "dev", "v-w1", "onlink");

      WgKeys.KeyPair gwKeys = WgKeys.generate();
      Map<String, String> cfgNs = new LinkedHashMap<>();
      for (var e : GATEWAYS.entrySet()) {
        String gw = vm(lab, vnet, e.getKey(), e.getValue()[0]);
        String cfg = lab.ns(e.getKey() + "c");
        cfgNs.put(e.getKey(), cfg);
        gatewayDevices.put(e.getKey(), gatewayDatapath(lab, wg, vnet, gw, cfg, "wg" + lab.prefix + e.getKey(), gwKeys.privateKey(), e.getValue()));
      }
      lab.ip(vnet, "route", "replace", ILB + "/32", "nexthop", "via", "10.224.0.5", "dev", "v-gw1", "onlink",
          "nexthop", "via", "10.224.0.6", "dev", "v-gw2", "onlink");

      // --- the node agent ---
      testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(EventSourcedBehaviorTestKit.config()));
      ConfigView view = new ConfigView("default/egw", "uid-egw", 1, ILB, PORT, gwKeys.publicKey(), "egw-key",
          List.of("198.18.20.0/24"), ConfigView.DEFAULT_ROUTE_GATEWAY, "203.0.113.15/31",
          Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
              "gw2", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), true);
      GatewayPeers peers = new DirectGatewayPeers(lab, wg, gatewayDevices, cfgNs, blocking);
      HostPodDatapath datapath = new HostPodDatapath(lab.cmd, wg, w1);
      PodTunnel.Deps deps = new PodTunnel.Deps(datapath, peers, () -> Map.of(view.key(), view), Duration.ofSeconds(5), Duration.ofSeconds(1));
      Map<String, ActorRef<PodTunnel.Command>> entities = new ConcurrentHashMap<>();
      ActorTestKit kit = testKit;
      PodTunnels tunnels = PodTunnels.resolvedBy(kit.system(),
          id -> entities.computeIfAbsent(id, i -> kit.spawn(PodTunnel.create(i, deps))));
      InMemoryPodDirectory directory = new InMemoryPodDirectory();
      directory.put(new PodInfo("default", "web", "uid-web", Map.of(PodInfo.GATEWAY_ANNOTATION, "egw")));
      Path socket = lab.dir.resolve("agent/cni.sock");
      server = CniServer.start(socket, 2, Duration.ofSeconds(10),
          new CniHandler("w1", directory, tunnels, datapath, Duration.ofSeconds(8), blocking));

      // --- the CNI chain, run in the node namespace as the runtime would ---
      Path bin = lab.dir.resolve("bin");
      PluginInstall.into(bin);
      String conflist = """
          {"cniVersion":"1.0.0","name":"k8s","plugins":[
            {"type":"ptp","ipMasq":false,"mtu":1500,
             "ipam":{"type":"host-local","subnet":"10.244.1.0/24","dataDir":"%s","routes":[{"dst":"0.0.0.0/0"}]}},
            {"type":"kube-egress-cni","socketPath":"%s","timeoutSeconds":15}
          ]}""".formatted(lab.dir.resolve("ipam"), socket);
      CniChainRunner chain = new CniChainRunner(lab.cmd, conflist, "/usr/lib/cni:" + bin, w1);
      String pod = lab.ns("pod");
      String netns = "/var/run/netns/" + pod;
      String containerId = UUID.randomUUID().toString().replace("-", "");
      String args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-web";

      long t0 = System.nanoTime();
      CniChainRunner.Outcome add = chain.add(containerId, netns, args);
      long addMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(add.ok(), add.plugin() + ": " + add.output());
      assertTrue(add.output().contains("\"name\":\"wg0\""), add.output());
      String podIp = lab.in(pod, "ip", "-4", "-o", "addr", "show", "dev", "eth0").replaceAll("(?s).*inet (\\S+)/.*", "$1").trim();

      long t1 = System.nanoTime();
      CommandRunner.Result first = lab.cmd.attempt(CommandRunner.inNetns(pod, List.of("curl", "-s", "-m", "2", "http://198.18.10.10:8080/")));
      if (!first.ok()) {
        diagnose(lab, wg, pod, w1, cfgNs, gatewayDevices, "wg" + containerId.substring(0, 8));
      }
      String seen = first.stdout().trim();
      long firstMs = (System.nanoTime() - t1) / 1_000_000;
      assertTrue(seen.equals("203.0.113.15") || seen.equals("203.0.113.16"),
          "the echo host sees a gateway's egress IP, saw '" + seen + "'");
      assertEquals("203.0.113.1", lab.in(pod, "curl", "-s", "-m", "3", "http://198.18.20.20:8080/").trim(),
          "an excluded CIDR leaves by eth0 (default outbound), not through the gateway");
      assertTrue(lab.ip(pod, "-4", "route", "show", "default").contains("via inet6 fe80::1 dev wg0"));
      System.out.printf("e2e: CNI chain ADD (ptp + kube-egress-cni) %d ms; first request through the tunnel %d ms; egress IP %s%n",
          addMs, firstMs, seen);

      for (var e : gatewayDevices.entrySet()) {
        var dump = wg.dump(e.getValue());
        assertTrue(dump.peers().values().stream().anyMatch(p -> p.allowedIps().contains(podIp + "/32")),
            e.getKey() + " has the pod's peer: " + dump.peers());
      }

      CniChainRunner.Outcome check = chain.check(containerId, netns, args, add.output());
      assertTrue(check.ok(), check.plugin() + ": " + check.output());

      CniChainRunner.Outcome del = chain.del(containerId, netns, args);
      assertTrue(del.ok(), del.plugin() + ": " + del.output());
      for (var e : gatewayDevices.entrySet()) {
        assertTrue(wg.dump(e.getValue()).peers().isEmpty(), e.getKey() + " no longer has the pod's peer");
        assertFalse(lab.ip(cfgNs.get(e.getKey()), "-4", "route", "show").contains(podIp), "pod route removed on " + e.getKey());
      }
      assertFalse(lab.ip(pod, "link", "show").contains("wg0"), "wg0 removed from the pod");
      assertTrue(Files.notExists(Path.of("/var/run/wireguard/wg" + containerId.substring(0, 8) + ".sock"))
          || !wg.alive(WgDevice.created("wg" + containerId.substring(0, 8), w1)), "the pod's device is gone");
    } finally {
      if (server != null) {
        server.close();
      }
      if (testKit != null) {
        testKit.shutdownTestKit();
      }
      for (WgDevice d : gatewayDevices.values()) {
        wg.delete(d);
      }
      blocking.shutdownNow();
    }
  }

  private static void diagnose(Lab lab, WireGuardBackend wg, String pod, String w1, Map<String, String> cfgNs,
      Map<String, WgDevice> gws, String podDevice) {
    List<List<String>> cmds = new java.util.ArrayList<>(List.of(
        List.of("ip", "-n", pod, "addr"), List.of("ip", "-n", pod, "-4", "route", "show", "table", "all"),
        List.of("ip", "-n", pod, "rule"), List.of("wg", "show", podDevice), List.of("ip", "-n", w1, "route"),
        List.of("ip", "netns", "exec", w1, "ss", "-uanp")));
    for (var e : cfgNs.entrySet()) {
      cmds.add(List.of("ip", "-n", e.getValue(), "route"));
      cmds.add(List.of("wg", "show", gws.get(e.getKey()).name()));
    }
    for (List<String> c : cmds) {
      CommandRunner.Result r = lab.cmd.attempt(c);
      System.out.println("$ " + String.join(" ", c) + "\n" + r.stdout() + r.stderr());
    }
  }

  /** The VNet router, the internet with two echo services, and the edge NAT. */
  private static void buildVnet(Lab lab, String vnet, String inet) throws Exception {
    lab.in(vnet, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
    lab.ip(vnet, "link", "add", "v-inet", "type", "veth", "peer", "name", "eth0", "netns", inet);
    lab.ip(vnet, "addr", "add", "198.18.0.1/30", "dev", "v-inet");
    lab.ip(vnet, "link", "set", "v-inet", "up");
    lab.ip(inet, "addr", "add", "198.18.0.2/30", "dev", "eth0");
    lab.ip(inet, "link", "set", "eth0", "up");
    lab.ip(vnet, "route", "add", "default", "via", "198.18.0.2", "dev", "v-inet");
    lab.ip(inet, "route", "add", "203.0.113.0/24", "via", "198.18.0.1", "dev", "eth0");
    for (String echo : List.of("198.18.10.10", "198.18.20.20")) {
      lab.ip(inet, "addr", "add", echo + "/32", "dev", "lo");
    }
    StringBuilder nat = new StringBuilder("table ip pod_e2e_edge {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n");
    for (String[] g : GATEWAYS.values()) {
      nat.append("  oifname \"v-inet\" ip saddr ").append(g[1]).append(" snat to ").append(g[2]).append('\n');
    }
    nat.append("  oifname \"v-inet\" ip saddr { 10.224.0.0/16, 10.244.0.0/16 } snat to 203.0.113.1\n }\n}\n");
    lab.cmd.run(CommandRunner.inNetns(vnet, List.of("nft", "-f", "-")), nat.toString());
    Path handler = lab.dir.resolve("echo.sh");
    Files.writeString(handler, "#!/bin/sh\nwhile IFS= read -r l; do l=$(printf '%s' \"$l\" | tr -d '\\r'); [ -z \"$l\" ] && break; done\n"
        + "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s\\n' \"$SOCAT_PEERADDR\"\n");
    handler.toFile().setExecutable(true);
    for (String echo : List.of("198.18.10.10", "198.18.20.20")) {
      lab.spawn(inet, List.of("socat", "TCP-LISTEN:8080,bind=" + echo + ",fork,reuseaddr", "EXEC:" + handler));
    }
    for (int i = 0; i < 100 && !lab.in(inet, "ss", "-ltn").contains("198.18.20.20:8080"); i++) {
      Thread.sleep(20);
    }
  }

  /** A "VM": eth0 with a /32 and a default route via the VNet router. */
  private static String vm(Lab lab, String vnet, String name, String ip) {
    String ns = lab.ns(name);
    String vif = "v-" + name;
    lab.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", vif, "netns", vnet);
    lab.ip(ns, "addr", "add", ip + "/32", "dev", "eth0");
    lab.ip(ns, "link", "set", "eth0", "up");
    lab.ip(ns, "route", "add", ROUTER + "/32", "dev", "eth0", "scope", "link");
    lab.ip(ns, "route", "add", "default", "via", ROUTER, "dev", "eth0", "onlink");
    lab.in(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    lab.ip(vnet, "addr", "add", ROUTER + "/32", "dev", vif);
    lab.ip(vnet, "link", "set", vif, "up");
    lab.ip(vnet, "route", "add", ip + "/32", "dev", vif, "scope", "link");
    return ns;
  }

  /** One gateway's config datapath: wg0 (port 6000, shared key) in its own namespace, host0 with the secondary IP, SNAT. */
  private static WgDevice gatewayDatapath(Lab lab, WireGuardBackend wg, String vnet, String gw, String cfg, String device,
      String privateKey, String[] addrs) {
    String primary = addrs[0];
    String secondary = addrs[1];
    lab.ip(gw, "addr", "add", ILB + "/32", "dev", "eth0");
    lab.ip(vnet, "route", "replace", secondary + "/32", "via", primary, "dev", "v-" + gw.substring(gw.lastIndexOf('-') + 1), "onlink");
    lab.ip(gw, "link", "add", "hostcfg", "type", "veth", "peer", "name", "host0", "netns", cfg);
    lab.ip(gw, "link", "set", "hostcfg", "up");
    lab.ip(cfg, "link", "set", "host0", "up");
    lab.ip(cfg, "addr", "add", secondary + "/32", "dev", "host0");
    lab.ip(cfg, "route", "add", primary + "/32", "dev", "host0", "scope", "link");
    lab.ip(cfg, "route", "add", "default", "via", primary, "dev", "host0");
    lab.ip(gw, "route", "add", secondary + "/32", "dev", "hostcfg");
    lab.in(cfg, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    lab.cmd.run(CommandRunner.inNetns(cfg, List.of("nft", "-f", "-")),
        "table ip pod_e2e_gw {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n"
            + "  oifname \"host0\" ip saddr != " + secondary + " snat to " + secondary + "\n }\n}\n");
    WgDevice d = wg.create(gw, device);
    wg.configure(d, new WgConfig(privateKey, PORT, List.of()));
    WgDevice moved = wg.moveInto(d, cfg, "wg0");
    lab.ip(cfg, "addr", "add", "fe80::1/64", "dev", "wg0");
    return moved;
  }

  /** Programs pod peers straight onto the gateways' devices (the GatewayNode entity's job in the product). */
  private record DirectGatewayPeers(Lab lab, WireGuardBackend wg, Map<String, WgDevice> devices,
      Map<String, String> cfgNs, ExecutorService blocking) implements GatewayPeers {
    @Override
    public CompletionStage<Void> addPeer(String node, String configUid, String podPublicKey, String podIp) {
      return CompletableFuture.runAsync(() -> {
        wg.setPeer(devices.get(node), WgPeer.of(podPublicKey, podIp + "/32"));
        lab.ip(cfgNs.get(node), "route", "replace", podIp + "/32", "dev", "wg0");
      }, blocking);
    }

    @Override
    public CompletionStage<Void> removePeer(String node, String configUid, String podPublicKey) {
      return CompletableFuture.runAsync(() -> {
        var peer = wg.dump(devices.get(node)).peers().get(podPublicKey);
        wg.removePeer(devices.get(node), podPublicKey);
        if (peer != null) {
          for (String ip : peer.allowedIps()) {
            lab.cmd.attempt(List.of("ip", "-n", cfgNs.get(node), "route", "del", ip, "dev", "wg0"));
          }
        }
      }, blocking);
    }
  }
}
