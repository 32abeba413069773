package io.egressgateway.pod.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.cni.AgentClient;
import io.egressgateway.cni.CniPlugin;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.pod.infra.InMemoryGatewayPeers;
import io.egressgateway.pod.infra.InMemoryPodDatapath;
import io.egressgateway.pod.infra.InMemoryPodDirectory;
import io.egressgateway.pod.infra.PodSettings;
import io.egressgateway.pod.model.PodInfo;
import io.egressgateway.testing.Eventually;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent wiring on a one-member cluster: node-pinned PodTunnel sharding, the replicated view, the socket. */
class PodAgentTest {
  @TempDir Path tmp;
  private ActorTestKit testKit;

  @AfterEach
  void stop() {
    if (testKit != null) {
      testKit.shutdownTestKit();
    }
  }

  @Test
  void addThroughShardingUsesTheReplicatedView() throws Exception {
    testKit = ActorTestKit.create(ConfigFactory.parseString("""
        akka.actor.provider = cluster
        akka.remote.artery.canonical.port = 0
        akka.remote.artery.canonical.hostname = 127.0.0.1
        akka.cluster.roles = [worker, "node:w1"]
        akka.cluster.jmx.multi-mbeans-in-same-jvm = on
        egress.pod.socket-path = "%s"
        """.formatted(tmp.resolve("run/cni.sock"))).withFallback(EventSourcedBehaviorTestKit.config()).withFallback(ConfigFactory.load()));
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(new Join(cluster.selfMember().address()));
    Eventually.await(Duration.ofSeconds(5), () -> cluster.selfMember().status() == MemberStatus.up(), "the member up");
    ConfigViews.get(testKit.system()).publish(Fixtures.view("default/gw", true)).toCompletableFuture().get(5, TimeUnit.SECONDS);
    Eventually.await(Duration.ofSeconds(2), () -> !ConfigViews.get(testKit.system()).current().isEmpty(), "the view published");

    InMemoryPodDatapath datapath = new InMemoryPodDatapath();
    InMemoryGatewayPeers gateways = new InMemoryGatewayPeers();
    InMemoryPodDirectory directory = new InMemoryPodDirectory();
    directory.put(new PodInfo("default", "web", "uid-w", Map.of(PodInfo.GATEWAY_ANNOTATION, "gw")));
    datapath.addNamespace("/var/run/netns/w");
    PodSettings settings = PodSettings.from(testKit.system().settings().config());
    PodAgent agent = PodAgent.start(testKit.system(), settings, directory, datapath, gateways).takeOverTunnels();
    assertEquals(0, agent.resumed().toCompletableFuture().get(10, TimeUnit.SECONDS), "a first agent has nothing to take over");
    assertTrue(io.egressgateway.core.metrics.Metrics.get(testKit.system()).scrape().contains("egress_pod_tunnels_resumed 0"),
        io.egressgateway.core.metrics.Metrics.get(testKit.system()).scrape());

    Map<String, String> env = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "eeee5555ff", "CNI_NETNS", "/var/run/netns/w",
        "CNI_IFNAME", "eth0", "CNI_ARGS", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-w");
    String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + agent.server().socket() + "\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.9/32\",\"gateway\":\"169.254.1.1\"}]}}";
    CniPlugin.Outcome add = CniPlugin.run(env, conf, t -> new AgentClient(t.socket(), Duration.ofSeconds(15)));
    assertEquals(0, add.exitCode(), add.stdout());
    assertEquals(1, gateways.peersOf("gw1", "uid-default-gw").size());
    assertTrue(datapath.pod("/var/run/netns/w").orElseThrow().wg0().isPresent());
  }
}
