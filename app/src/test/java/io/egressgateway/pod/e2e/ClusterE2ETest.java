package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.cnichain.CniChain;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.gateway.GatewayAgent;
import io.egressgateway.gateway.entity.GatewayNode;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.pod.entity.PodAgent;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.infra.PodSettings;
import io.egressgateway.pod.infra.ShardedGatewayPeers;
import io.egressgateway.pod.model.PodInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The product's own parts end to end: three cluster members in this JVM (worker w1, gateways gw1 and gw2,
 * each with role {@code node:<name>}), the replicated config view, the real {@code GatewayNode} entities
 * (gateway module) programming each gateway's namespace, and the pod side through the real CNI chain.
 * Each member journals in its own in-memory store; its entities live only there.
 *
 * <p>It lives in app, the one module that may depend on both gateway-actor and pod-actor, and in the
 * package of the pod module's privileged harness ({@code Lab}, {@code Topology}, test-support's {@code CniChain}),
 * which comes from pod-actor's test jar.
 */
@Tag("privileged")
class ClusterE2ETest {
  private static final String UID = "uid-cl";

  @Test
  void podPeerReachesBothGatewaysThroughTheClusterAndLeavesOnDel() throws Exception {
    Lab.requirePrerequisites();
    List<ActorTestKit> members = new ArrayList<>();
    List<GatewayAgent> agents = new ArrayList<>();
    Lab lab = new Lab();
    try {
      Net net = new Net(lab);
      ActorTestKit w1 = member("w1", "worker", "", members, null);
      Map<String, ActorTestKit> gws = new LinkedHashMap<>();
      for (String gw : Topology.GATEWAYS.keySet()) {
        // the gateway agent's own settings, as its member would read them: simulated host namespace, our prefix
        String gatewayConfig = """
            egress.gateway {
              host-netns = "%s"
              netns-prefix = "%s"
              probe.enabled = off
              coalesce = 20ms
              retry-interval = 200ms
            }
            """.formatted(net.gatewayNs.get(gw), lab.prefix + "-" + gw + "-");
        gws.put(gw, member(gw, "gateway", gatewayConfig, members, w1));
      }
      await(Duration.ofSeconds(20), () -> members.stream().allMatch(m ->
          Cluster.get(m.system()).selfMember().status() == MemberStatus.up()), "members up");

      String gwPrivate = WgKeys.generate().privateKey();
      CommandRunner cmd = new CommandRunner();
      WireGuardBackend wg = WireGuardBackends.choose(cmd, "auto");
      for (var e : gws.entrySet()) {
        agents.add(GatewayAgent.start(e.getValue().system(), e.getKey(), new InMemoryGatewayKeys().put("cl-key", gwPrivate)));
      }
      ConfigView view = new ConfigView("default/cl", UID, 1, Topology.ILB, Topology.PORT, WgKeys.publicKeyOf(gwPrivate),
          "cl-key", List.of("198.18.20.0/24"), ConfigView.DEFAULT_ROUTE_GATEWAY, "203.0.113.15/31",
          Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
              "gw2", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")), true);
      ConfigViews.get(w1.system()).publish(view).toCompletableFuture().get();
      for (var e : gws.entrySet()) {
        await(Duration.ofSeconds(30), () -> status(e.getValue(), e.getKey()).serving(), e.getKey() + " serves the config");
      }
      await(Duration.ofSeconds(10), () -> ConfigViews.get(w1.system()).current().containsKey("default/cl"), "view on w1");

      InMemoryPodDirectory directory = new InMemoryPodDirectory();
      directory.put(new PodInfo("default", "web", "uid-web", Map.of(PodInfo.GATEWAY_ANNOTATION, "cl")));
      Path socket = lab.dir.resolve("agent/cni.sock");
      PodSettings settings = new PodSettings(socket, net.w1, Duration.ofSeconds(10), Duration.ofSeconds(1),
          Duration.ofSeconds(20), 2, "auto", Duration.ofSeconds(10), java.util.List.of(), Duration.ofSeconds(30));
      PodAgent.start(w1.system(), settings, directory, new HostPodDatapath(cmd, wg, net.w1),
          new ShardedGatewayPeers(w1.system(), Duration.ofSeconds(10))).takeOverTunnels();

      CniChain chain = net.chain(socket);
      String pod = lab.ns("web");
      String netns = "/var/run/netns/" + pod;
      String cid = UUID.randomUUID().toString().replace("-", "");
      String args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-web";
      CniChain.Outcome add = chain.add(cid, netns, "eth0", args);
      assertTrue(add.ok(), add.plugin() + ": " + add.error());
      for (var e : gws.entrySet()) {
        assertEquals(1, status(e.getValue(), e.getKey()).peers(), e.getKey() + " holds the pod's peer");
      }
      long t0 = System.nanoTime();
      CommandRunner.Result first = cmd.attempt(CommandRunner.inNetns(pod, List.of("curl", "-s", "-m", "2", "http://" + Topology.ECHO + ":8080/")));
      System.out.printf("cluster e2e: first request through the tunnel %d ms, CNI ADD (ptp + kube-egress-cni) %s ms%n",
          (System.nanoTime() - t0) / 1_000_000, add.millis());
      String seen = first.stdout().trim();
      assertTrue(seen.equals("203.0.113.15") || seen.equals("203.0.113.16"), "egress through a gateway, saw '" + seen + "'");
      assertEquals("203.0.113.1", cmd.attempt(CommandRunner.inNetns(pod, List.of("curl", "-s", "-m", "3",
          "http://" + Topology.ECHO_EXCLUDED + ":8080/"))).stdout().trim());

      assertTrue(chain.del(cid, netns, "eth0", args).ok());
      for (var e : gws.entrySet()) {
        await(Duration.ofSeconds(5), () -> status(e.getValue(), e.getKey()).peers() == 0, e.getKey() + " dropped the pod's peer");
      }
    } finally {
      agents.forEach(GatewayAgent::close);
      for (int i = members.size() - 1; i >= 0; i--) {
        members.get(i).shutdownTestKit();
      }
      for (String ns : lab.cmd.run(List.of("ip", "netns", "list")).stdout().split("\n")) {
        String name = ns.split(" ")[0].trim();
        if (name.startsWith(lab.prefix + "-") && name.contains("-uid-")) {
          lab.cmd.attempt(List.of("ip", "netns", "del", name));
        }
      }
      lab.close();
    }
  }

  private static GatewayNode.ConfigStatus status(ActorTestKit member, String node) {
    try {
      ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region = akka.cluster.sharding.typed.javadsl.ClusterSharding.get(member.system())
          .init(akka.cluster.sharding.typed.javadsl.Entity.of(GatewayNode.ENTITY_KEY, c -> {
            throw new IllegalStateException("not used");
          }));
      GatewayNode.Status s = AskPattern.<ShardingEnvelope<GatewayNodeProtocol.Command>, GatewayNode.Status>ask(region,
          r -> new ShardingEnvelope<>(node, new GatewayNode.GetStatus(r)), Duration.ofSeconds(3), member.scheduler())
          .toCompletableFuture().get();
      GatewayNode.ConfigStatus c = s.configs().get(UID);
      return c == null ? new GatewayNode.ConfigStatus(false, -1, "absent") : c;
    } catch (Exception e) {
      return new GatewayNode.ConfigStatus(false, -1, String.valueOf(e.getMessage()));
    }
  }

  private static ActorTestKit member(String node, String role, String extra, List<ActorTestKit> members, ActorTestKit seed) {
    ActorTestKit kit = ActorTestKit.create("egress", ConfigFactory.parseString(extra).withFallback(ConfigFactory.parseString("""
        akka.actor.provider = cluster
        akka.remote.artery.canonical.hostname = 127.0.0.1
        akka.remote.artery.canonical.port = 0
        akka.cluster.roles = [%s, "node:%s"]
        akka.cluster.jmx.multi-mbeans-in-same-jvm = on
        akka.cluster.downing-provider-class = ""
        """.formatted(role, node))).withFallback(EventSourcedBehaviorTestKit.config()).withFallback(ConfigFactory.load()));
    members.add(kit);
    Cluster c = Cluster.get(kit.system());
    c.manager().tell(new Join(seed == null ? c.selfMember().address() : Cluster.get(seed.system()).selfMember().address()));
    return kit;
  }

  private static void await(Duration limit, BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(limit, condition, what);
  }

  /** The VNet, the internet and the "VMs" (gateway namespaces are programmed by the GatewayNode entities). */
  private static final class Net {
    final Lab lab;
    final String w1;
    final Map<String, String> gatewayNs = new LinkedHashMap<>();

    Net(Lab lab) throws Exception {
      this.lab = lab;
      Topology.Fabric f = Topology.fabric(lab);
      w1 = f.vm("w1", "10.224.0.4");
      lab.ip(f.vnet(), "route", "replace", "10.244.1.0/24", "via", "10.224.0.4", "dev", "v-w1", "onlink");
      for (var e : Topology.GATEWAYS.entrySet()) {
        gatewayNs.put(e.getKey(), f.vm(e.getKey(), e.getValue()[0]));
        lab.ip(f.vnet(), "route", "replace", e.getValue()[1] + "/32", "via", e.getValue()[0], "dev", "v-" + e.getKey(), "onlink");
      }
      lab.ip(f.vnet(), "route", "replace", Topology.ILB + "/32", "nexthop", "via", "10.224.0.5", "dev", "v-gw1", "onlink",
          "nexthop", "via", "10.224.0.6", "dev", "v-gw2", "onlink");
    }

    CniChain chain(Path socket) throws Exception {
      return Topology.cniChain(lab, socket, w1);
    }
  }
}
