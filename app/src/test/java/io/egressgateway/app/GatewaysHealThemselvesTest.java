package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.pattern.StatusReply;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.sharding.NodePinned;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.GatewayAgent;
import io.egressgateway.gateway.entity.ConfigSource;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.InMemoryGatewayKeys;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import io.egressgateway.pod.entity.PodAgent;
import io.egressgateway.pod.entity.PodTunnel;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.infra.PodSettings;
import io.egressgateway.pod.infra.ShardedGatewayPeers;
import io.egressgateway.pod.model.PodInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gateways heal themselves across members (one JVM, the embedded journal, the replicated view, node-pinned
 * sharding, the real {@code GatewayNode} and {@code PodTunnel} entities over fake datapaths): a pod is
 * deleted while its gateway's member is down, and the worker's agent restarts before the gateway is back,
 * so the removal the worker sent is gone with it (no retry, no buffer left). Within one list period after
 * the gateway is back, the pod's peer is gone from it, and the other pod's is still there.
 */
class GatewaysHealThemselvesTest {
  static final String GW = "gw-1";
  static final String WORKER = "w1";
  static final String UID = "55555555-heal";
  static final Duration LIST_PERIOD = Duration.ofSeconds(2);
  @TempDir Path tmp;
  final String gatewayPrivate = WgKeys.generate().privateKey();
  final FakeGatewayDatapath gatewayKernel = new FakeGatewayDatapath();
  final InMemoryPodDatapath workerKernel = new InMemoryPodDatapath();
  final InMemoryPodDirectory pods = new InMemoryPodDirectory();

  static GatewaySettings gatewaySettings() {
    return new GatewaySettings("wireguard-go", "", "eth0", "egw-", 2, 8, Duration.ofMillis(20), Duration.ofSeconds(1),
        Duration.ofMillis(200), Duration.ofMinutes(10), Duration.ofSeconds(5), Duration.ofHours(1), 200, Duration.ofSeconds(5),
        false, "127.0.0.1", 0, Duration.ZERO, Duration.ofMillis(1));
  }

  ConfigView view() {
    return new ConfigView("default/heal", UID, 1, "10.224.0.100", 6000, WgKeys.publicKeyOf(gatewayPrivate), "sgw-heal",
        List.of(), ConfigView.DEFAULT_ROUTE_GATEWAY, "", Map.of(GW, new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15")),
        true);
  }

  GatewayAgent gateway(EgressMember m) {
    return GatewayAgent.start(m.system(), GW, gatewaySettings(), new InMemoryGatewayKeys().put("sgw-heal", gatewayPrivate),
        ConfigSource.replicated(m.system()), gatewayKernel, hook -> { });
  }

  PodAgent worker(EgressMember m, String socket) {
    PodSettings s = new PodSettings(tmp.resolve(socket + "/cni.sock"), "", Duration.ofSeconds(3), Duration.ofSeconds(1),
        Duration.ofSeconds(10), 2, "auto", Duration.ofSeconds(10), List.of(), LIST_PERIOD);
    return PodAgent.start(m.system(), s, pods, workerKernel, new ShardedGatewayPeers(m.system(), Duration.ofSeconds(3)))
        .takeOverTunnels();
  }

  /** A pod of the worker node with its tunnel (CNI ADD done); returns its public key. */
  String addPod(EgressMember worker, String name, String ip) throws Exception {
    pods.put(new PodInfo("default", name, "uid-" + name, Map.of(PodInfo.GATEWAY_ANNOTATION, "heal")));
    workerKernel.addNamespace("/var/run/netns/" + name);
    PodTunnel.Pod pod = new PodTunnel.Pod("c0ffee" + name, "/var/run/netns/" + name, ip, "169.254.1.1", "default/heal", List.of());
    StatusReply<PodTunnel.Added> added = ClusterSharding.get(worker.system())
        .entityRefFor(PodTunnel.ENTITY_KEY, NodePinned.entityId(WORKER, "uid-" + name))
        .<StatusReply<PodTunnel.Added>>ask(r -> new PodTunnel.Add(pod, r), Duration.ofSeconds(15))
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertTrue(added.isSuccess(), () -> added.getError().getMessage());
    return added.getValue().publicKey();
  }

  /** CNI DEL of a pod (always succeeds, whether or not its gateway heard of it). */
  void deletePod(EgressMember worker, String name) throws Exception {
    StatusReply<Done> removed = ClusterSharding.get(worker.system())
        .entityRefFor(PodTunnel.ENTITY_KEY, NodePinned.entityId(WORKER, "uid-" + name))
        .<StatusReply<Done>>ask(r -> new PodTunnel.Remove("", r), Duration.ofSeconds(15))
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertTrue(removed.isSuccess());
    pods.remove("default", name);
    workerKernel.deleteNamespace("/var/run/netns/" + name);
  }

  @Test
  void aPodDeletedWhileItsGatewayIsDownLosesItsPeerThereWithinOneListPeriodOfTheGatewaysReturn() throws Exception {
    try (TestMembers members = new TestMembers()) {
      EgressMember controller = members.startUp("ctl", List.of(Roles.CONTROLLER), null);
      EgressMember gw = members.startUp(GW, List.of(Roles.GATEWAY), controller);
      GatewayAgent gatewayAgent = gateway(gw);
      EgressMember w = members.startUp(WORKER, List.of(Roles.WORKER), controller);
      worker(w, "agent-1");
      ConfigViews.get(controller.system()).publish(view()).toCompletableFuture().get(10, TimeUnit.SECONDS);
      TestMembers.await(Duration.ofSeconds(30), () -> gatewayKernel.has(UID), "the gateway serves the config");
      TestMembers.await(Duration.ofSeconds(10), () -> ConfigViews.get(w.system()).current().containsKey("default/heal"),
          "the view on the worker");

      String gone = addPod(w, "gone", "10.244.1.5");
      String stays = addPod(w, "stays", "10.244.1.6");
      assertEquals(Map.of(gone, "10.244.1.5/32", stays, "10.244.1.6/32"), gatewayKernel.peers(UID));

      // the gateway's member goes away (its kernel state stays, as on a node whose agent restarts)
      gatewayAgent.close();
      members.stop(gw);
      deletePod(w, "gone");
      // and the worker's agent restarts before the gateway is back: the removal it sent is lost with it
      members.stop(w);
      EgressMember w2 = members.startUp(WORKER, List.of(Roles.WORKER), controller);
      assertEquals(1, worker(w2, "agent-2").resumed().toCompletableFuture().get(90, TimeUnit.SECONDS), "the pod that stays");
      assertEquals(Map.of(gone, "10.244.1.5/32", stays, "10.244.1.6/32"), gatewayKernel.peers(UID), "nobody told the gateway");

      EgressMember gw2 = members.startUp(GW, List.of(Roles.GATEWAY), controller);
      long back = System.nanoTime();
      GatewayAgent again = gateway(gw2);
      TestMembers.await(LIST_PERIOD.multipliedBy(5), () -> Map.of(stays, "10.244.1.6/32").equals(gatewayKernel.peers(UID)),
          "the deleted pod's peer leaves the gateway within a list period of its return");
      System.out.printf("deleted pod's peer gone %d ms after the gateway's member was back (list period %d ms)%n",
          (System.nanoTime() - back) / 1_000_000, LIST_PERIOD.toMillis());
      assertEquals(1, Metrics.get(gw2.system()).counter("egress_gateway_peers_repaired_total", "", "config", "kind", "source")
          .value(UID, "removed", "digest"), "repaired from the worker's list");
      again.close();
    }
  }
}
