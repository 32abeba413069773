package io.egressgateway.pod.e2e;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.cnichain.CniChain;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.pod.entity.CniHandler;
import io.egressgateway.pod.entity.PodTunnel;
import io.egressgateway.pod.entity.PodTunnels;
import io.egressgateway.pod.infra.CniServer;
import io.egressgateway.pod.infra.GatewayPeers;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.testing.Eventually;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A worker node with a node agent, two gateway nodes behind a floating-IP ILB, a VNet router with edge NAT
 * and an "internet" with echo services, all in namespaces a {@link Lab} owns:
 *
 * <pre>
 * pod --eth0(ptp)-- w1 (10.224.0.4; pod devices' host ns) --+               +-- gw1 (10.224.0.5, ILB .100) -- gw1c: wg0, host0 10.224.0.15, SNAT
 *                                                          vnet (router, ECMP ILB, edge NAT) -- gw2 (10.224.0.6, ILB .100) -- gw2c: wg0, host0 10.224.0.16
 *                                                            +-- inet: echo 198.18.10.10:8080, 198.18.20.20:8080 (excluded)
 * </pre>
 *
 * The gateway side is programmed with the gateway module's WireGuard backend (one shared key, port 6000);
 * pod peers reach it through {@link DirectGatewayPeers}. The node agent (CNI server, PodTunnel entities,
 * HostPodDatapath) runs in this JVM; the CNI chain is ptp + host-local, then kube-egress-cni.
 */
final class Topology implements AutoCloseable {
  static final String ROUTER = "10.224.0.1";
  static final String ILB = "10.224.0.100";
  static final int PORT = 6000;
  static final String ECHO = "198.18.10.10";
  static final String ECHO_EXCLUDED = "198.18.20.20";
  /** gateway name -> primary IP, secondary IP, public IP. */
  static final Map<String, String[]> GATEWAYS = new LinkedHashMap<>();

  static {
    GATEWAYS.put("gw1", new String[] {"10.224.0.5", "10.224.0.15", "203.0.113.15"});
    GATEWAYS.put("gw2", new String[] {"10.224.0.6", "10.224.0.16", "203.0.113.16"});
  }

  final Lab lab;
  final WireGuardBackend wg = WireGuardBackends.choose(new CommandRunner(), "auto");
  final ExecutorService blocking = Executors.newFixedThreadPool(4);
  final Map<String, WgDevice> gatewayDevices = new LinkedHashMap<>();
  final Map<String, String> cfgNs = new LinkedHashMap<>();
  final InMemoryPodDirectory directory = new InMemoryPodDirectory();
  final String vnet;
  final String inet;
  final String w1;
  final ConfigView view;
  final CniChain chain;
  final ActorTestKit testKit;
  final CniServer server;
  /** The worker's failover watchdog; null unless asked for. */
  final io.egressgateway.pod.infra.FailoverWatchdog watchdog;

  Topology(String defaultRoute) throws Exception {
    this(defaultRoute, null);
  }

  /**
   * @param returnToIlb with a failover watchdog as the worker runs it (the module's failover times), whose
   *                    sessions through a gateway's own address go back to the ILB after this; null: none
   */
  Topology(String defaultRoute, Duration returnToIlb) throws Exception {
    lab = new Lab();
    try {
      Fabric fabric = fabric(lab);
      vnet = fabric.vnet();
      inet = fabric.inet();
      w1 = fabric.vm("w1", "10.224.0.4");
      lab.ip(vnet, "route", "replace", "10.244.1.0/24", "via", "10.224.0.4", "dev", "v-w1", "onlink");
      WgKeys.KeyPair gwKeys = WgKeys.generate();
      for (var e : GATEWAYS.entrySet()) {
        String gw = fabric.vm(e.getKey(), e.getValue()[0]);
        String cfg = lab.ns(e.getKey() + "c");
        cfgNs.put(e.getKey(), cfg);
        gatewayDevices.put(e.getKey(), gatewayDatapath(gw, e.getKey(), cfg, "wg" + lab.prefix + e.getKey(), gwKeys.privateKey(), e.getValue()));
      }
      lab.ip(vnet, "route", "replace", ILB + "/32", "nexthop", "via", "10.224.0.5", "dev", "v-gw1", "onlink",
          "nexthop", "via", "10.224.0.6", "dev", "v-gw2", "onlink");

      view = new ConfigView("default/egw", "uid-egw", 1, ILB, PORT, gwKeys.publicKey(), "egw-key",
          List.of("198.18.20.0/24"), defaultRoute, "203.0.113.15/31",
          Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
              "gw2", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), true);
      testKit = ActorTestKit.create(ConfigFactory.parseString("akka.remote.artery.canonical.port = 0")
          .withFallback(EventSourcedBehaviorTestKit.config()));
      HostPodDatapath datapath = new HostPodDatapath(lab.cmd, wg, w1);
      if (returnToIlb != null) {
        var f = ConfigFactory.load().getConfig("egress.pod.failover");
        watchdog = new io.egressgateway.pod.infra.FailoverWatchdog(wg, new io.egressgateway.pod.infra.FailoverWatchdog.Timing(
            f.getDuration("stall"), f.getDuration("retry"), f.getDuration("first-handshake-retry"), f.getDuration("unanswered-data")),
            System::nanoTime).returningToIlbAfter(returnToIlb).start(f.getDuration("check-interval"));
        watchdog.onViews(Map.of(view.key(), view));
        datapath.watchedBy(watchdog);
      } else {
        watchdog = null;
      }
      PodTunnel.Deps deps = new PodTunnel.Deps(datapath, new DirectGatewayPeers(this), () -> Map.of(view.key(), view),
          Duration.ofSeconds(5), Duration.ofSeconds(1), new io.egressgateway.pod.infra.PodKeys(),
          io.egressgateway.pod.infra.PodSettings.from(ConfigFactory.load()).exceptionCidrs());
      Map<String, ActorRef<PodTunnel.Command>> entities = new ConcurrentHashMap<>();
      PodTunnels tunnels = PodTunnels.resolvedBy(testKit.system(),
          id -> entities.computeIfAbsent(id, i -> testKit.spawn(PodTunnel.create(i, deps))));
      Path socket = lab.dir.resolve("agent/cni.sock");
      server = CniServer.start(socket, 2, Duration.ofSeconds(10),
          new CniHandler("w1", directory, tunnels, datapath, Duration.ofSeconds(8), blocking));

      chain = cniChain(lab, socket, w1);
    } catch (Exception | Error e) {
      close();
      throw e;
    }
  }

  /** The pod's IPv4 address on eth0. */
  String podIp(String podNs) {
    return lab.in(podNs, "ip", "-4", "-o", "addr", "show", "dev", "eth0").replaceAll("(?s).*inet (\\S+)/.*", "$1").trim();
  }

  /** What the echo service at {@code ip} sees as the pod's address, or the curl failure. */
  CommandRunner.Result curl(String podNs, String ip, int maxSeconds) {
    return lab.cmd.attempt(CommandRunner.inNetns(podNs, List.of("curl", "-s", "-m", Integer.toString(maxSeconds),
        "http://" + ip + ":8080/")));
  }

  /** CNI_ARGS of pod {@code name} in namespace {@code default}, uid {@code uid-<name>}. */
  static String cniArgs(String name) {
    return "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name + ";K8S_POD_UID=uid-" + name;
  }

  /** A pod of configuration {@code egw} made through the CNI chain: its namespace, container and tunnel device. */
  record AnnotatedPod(String name, String netns, String containerId, String deviceName, WgDevice device) {}

  /** Makes pod {@code name} of configuration {@code egw} through the chain (its ADD must succeed). */
  AnnotatedPod addAnnotatedPod(String name) {
    directory.put(new io.egressgateway.pod.model.PodInfo("default", name, "uid-" + name,
        Map.of(io.egressgateway.pod.model.PodInfo.GATEWAY_ANNOTATION, "egw")));
    String pod = lab.ns(name);
    String containerId = java.util.UUID.randomUUID().toString().replace("-", "");
    String device = io.egressgateway.pod.model.DeviceNames.forContainer(containerId);
    CniChain.Outcome add = chain.add(containerId, "/var/run/netns/" + pod, "eth0", cniArgs(name));
    if (!add.ok()) {
      throw new AssertionError(add.plugin() + ": " + add.error());
    }
    return new AnnotatedPod(name, pod, containerId, device, WgDevice.created(device, w1).movedTo(pod, "wg0"));
  }

  /** Runs the chain's DEL for {@code p}; whether it succeeded. */
  boolean delete(AnnotatedPod p) {
    return chain.del(p.containerId(), "/var/run/netns/" + p.netns(), "eth0", cniArgs(p.name())).ok();
  }

  /** The endpoint the pod's device holds for the gateway peer; empty when it cannot be read. */
  String gatewayEndpoint(WgDevice podDevice) {
    try {
      return wg.dump(podDevice).peers().get(view.gatewayPublicKey()).endpoint();
    } catch (RuntimeException e) {
      return "";
    }
  }

  /** The address the echo service sees the pod egress from; empty when the request fails. */
  String egressIp(String podNs) {
    CommandRunner.Result r = curl(podNs, ECHO, 1);
    return r.ok() ? r.stdout().trim() : "";
  }

  /** Prints what helps to understand a failed datapath assertion. */
  void diagnose(String podNs, String podDevice) {
    List<List<String>> cmds = new java.util.ArrayList<>(List.of(
        List.of("ip", "-n", podNs, "addr"), List.of("ip", "-n", podNs, "-4", "route", "show", "table", "all"),
        List.of("ip", "-n", podNs, "rule"), List.of("wg", "show", podDevice), List.of("ip", "-n", w1, "route")));
    for (var e : cfgNs.entrySet()) {
      cmds.add(List.of("ip", "-n", e.getValue(), "route"));
      cmds.add(List.of("wg", "show", gatewayDevices.get(e.getKey()).name()));
    }
    for (List<String> c : cmds) {
      CommandRunner.Result r = lab.cmd.attempt(c);
      System.out.println("$ " + String.join(" ", c) + "\n" + r.stdout() + r.stderr());
    }
  }

  /**
   * The worker's CNI chain as a runtime runs it: containernetworking {@code ptp} + {@code host-local} on
   * 10.244.1.0/24, then our plugin (installed into the lab's bin dir) talking to {@code socket}.
   */
  static CniChain cniChain(Lab lab, Path socket, String workerNs) throws Exception {
    Path bin = lab.dir.resolve("bin");
    PluginInstall.into(bin);
    String conflist = """
        {"cniVersion":"1.0.0","name":"k8s","plugins":[
          {"type":"ptp","ipMasq":false,"mtu":1500,
           "ipam":{"type":"host-local","subnet":"10.244.1.0/24","dataDir":"%s","routes":[{"dst":"0.0.0.0/0"}]}},
          {"type":"kube-egress-cni","socketPath":"%s","timeoutSeconds":15}
        ]}""".formatted(lab.dir.resolve("ipam"), socket);
    return CniChain.inDirs(conflist, "/usr/lib/cni:" + bin, (env, binary, stdin) -> {
      CommandRunner.Result r = lab.cmd.attempt(CniChain.inNamespace(workerNs, env, binary), stdin);
      return new CniChain.Run(r.exitCode(), r.stdout(), r.stderr());
    });
  }

  @Override
  public void close() {
    if (watchdog != null) {
      watchdog.close();
    }
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
    lab.close();
  }

  /** The VNet router and the internet of one lab; {@link #vm} adds "VMs" to it. */
  record Fabric(Lab lab, String vnet, String inet) {
    /** A "VM": eth0 with a /32 and a default route via the VNet router. */
    String vm(String name, String ip) {
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
  }

  /** Builds the VNet router (edge NAT: secondary IPs to their public IPs, the rest to 203.0.113.1) and the internet. */
  static Fabric fabric(Lab lab) throws Exception {
    String vnet = lab.ns("vnet");
    String inet = lab.ns("inet");
    lab.in(vnet, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
    lab.ip(vnet, "link", "add", "v-inet", "type", "veth", "peer", "name", "eth0", "netns", inet);
    lab.ip(vnet, "addr", "add", "198.18.0.1/30", "dev", "v-inet");
    lab.ip(vnet, "link", "set", "v-inet", "up");
    lab.ip(inet, "addr", "add", "198.18.0.2/30", "dev", "eth0");
    lab.ip(inet, "link", "set", "eth0", "up");
    lab.ip(vnet, "route", "add", "default", "via", "198.18.0.2", "dev", "v-inet");
    lab.ip(inet, "route", "add", "203.0.113.0/24", "via", "198.18.0.1", "dev", "eth0");
    for (String echo : List.of(ECHO, ECHO_EXCLUDED)) {
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
    for (String echo : List.of(ECHO, ECHO_EXCLUDED)) {
      lab.spawn(inet, List.of("socat", "TCP-LISTEN:8080,bind=" + echo + ",fork,reuseaddr", "EXEC:" + handler));
    }
    Eventually.await(Duration.ofSeconds(2), () -> lab.in(inet, "ss", "-ltn").contains(ECHO_EXCLUDED + ":8080"), "the echo servers listening");
    return new Fabric(lab, vnet, inet);
  }

  /** One gateway's config datapath: wg0 (shared key, port 6000) in its own namespace, host0 with the secondary IP, SNAT. */
  private WgDevice gatewayDatapath(String gw, String name, String cfg, String device, String privateKey, String[] addrs) {
    String primary = addrs[0];
    String secondary = addrs[1];
    lab.ip(gw, "addr", "add", ILB + "/32", "dev", "eth0");
    lab.ip(vnet, "route", "replace", secondary + "/32", "via", primary, "dev", "v-" + name, "onlink");
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
  record DirectGatewayPeers(Topology t) implements GatewayPeers {
    @Override
    public CompletionStage<Void> addPeer(String node, String configUid, String podPublicKey, String podIp) {
      return CompletableFuture.runAsync(() -> {
        // with the watchdog, the gateways keep every tunnel busy as the product's do (egress.gateway.peer-keepalive)
        t.wg.setPeer(t.gatewayDevices.get(node), new WgPeer(podPublicKey, List.of(podIp + "/32"), "", t.watchdog != null ? 1 : 0));
        t.lab.ip(t.cfgNs.get(node), "route", "replace", podIp + "/32", "dev", "wg0");
      }, t.blocking);
    }

    @Override
    public CompletionStage<Void> removePeer(String node, String configUid, String podPublicKey) {
      return CompletableFuture.runAsync(() -> {
        var peer = t.wg.dump(t.gatewayDevices.get(node)).peers().get(podPublicKey);
        t.wg.removePeer(t.gatewayDevices.get(node), podPublicKey);
        if (peer != null) {
          for (String ip : peer.allowedIps()) {
            t.lab.cmd.attempt(List.of("ip", "-n", t.cfgNs.get(node), "route", "del", ip, "dev", "wg0"));
          }
        }
      }, t.blocking);
    }

    @Override
    public long nextSeq() {
      return System.nanoTime();
    }

    /** No GatewayNode here to follow a list: the harness programs what the pods ask for, nothing more. */
    @Override
    public void sendPeers(String node, String configUid, long seq, java.util.Map<String, String> podIpByKey) {}
  }
}
