package io.egressgateway.kube.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.view.PodGenerations;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.kube.model.StatusPlanner;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The status counts the pods the workers report ({@link PodGenerations}): {@code pods}, {@code PodsUpToDate},
 * and {@code Ready} only once every running pod runs the generation. The test member is a worker of node
 * {@code w1} too, so that its own reports count.
 */
class GatewayConfigPodsTest {
  static ActorTestKit testKit;

  @BeforeAll
  static void system() {
    testKit = ActorTestKit.create("gcpods", EventSourcedBehaviorTestKit.config()
        .withFallback(ConfigFactory.parseString("""
            akka.actor.provider = cluster
            akka.cluster.roles = [controller, worker, "node:w1"]
            akka.remote.artery.canonical.hostname = 127.0.0.1
            akka.remote.artery.canonical.port = 0
            akka.actor.serialization-bindings { "io.egressgateway.core.CborSerializable" = jackson-cbor }
            # the entity test kit asks a new entity for its persistence id within this; 3 s was too short on a
            # loaded machine (the kit then says "Only EventSourcedBehavior ... allowed")
            akka.actor.testkit.typed.single-expect-default = 15s
            """)));
    Cluster.get(testKit.system()).manager().tell(Join.create(Cluster.get(testKit.system()).selfMember().address()));
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void readyWaitsForEveryRunningPodToRunTheGeneration() {
    InMemorySgcApi kube = new InMemorySgcApi();
    KubeBridgeSettings settings = new KubeBridgeSettings("egress-system", Duration.ofSeconds(60), Duration.ofSeconds(5),
        Duration.ofMillis(100), Duration.ofMillis(400), Duration.ofMillis(100), 100, "");
    String key = "apps/pods";
    var es = EventSourcedBehaviorTestKit.create(testKit.system(),
        GatewayConfig.create(key, new GatewayConfig.Ports(kube, new InMemoryAzureProvisioner(), settings)));
    TestProbe<Done> replies = testKit.createTestProbe();
    Runnable feed = () -> {
      String secret = kube.keySecretPublicKey(ObservedSgc.secretName("u1"), "", "").orElse("");
      es.runCommand(new GatewayConfig.Sync(new ObservedSgc(key, true, "u1", 1, false, kube.finalizers.contains("u1"),
          GatewayConfigTest.VALID, kube.status("u1"), secret, GatewayConfigTest.NODES), replies.getRef()));
      replies.receiveMessage();
    };
    GatewayConfigTest.await(() -> {
      feed.run();
      return kube.status("u1").isReady();
    }, "provisioned with no pods");
    assertEquals(SgcStatus.Pods.NONE, kube.status("u1").pods());

    PodGenerations pods = PodGenerations.get(testKit.system());
    pods.applied("w1/pod-a", key, "u1", 1);
    pods.applied("w1/pod-b", key, "u1", 0);
    pods.applied("w1/pod-c", key, "another-uid", 1);
    GatewayConfigTest.await(() -> pods.count(key, "u1", 1).total() == 2, "both reports of u1 counted, not the other uid's");
    GatewayConfigTest.await(() -> {
      feed.run();
      return new SgcStatus.Pods(1, 2).equals(kube.status("u1").pods());
    }, "one of two pods on generation 1");
    SgcStatus rolling = kube.status("u1");
    assertFalse(rolling.isReady(), "a pod still runs generation 0");
    assertEquals(StatusPlanner.PODS_UPDATING, rolling.condition(SgcStatus.READY).orElseThrow().reason());
    assertFalse(rolling.condition(SgcStatus.PODS_UP_TO_DATE).orElseThrow().isTrue());

    pods.applied("w1/pod-b", key, "u1", 1);
    GatewayConfigTest.await(() -> {
      feed.run();
      return kube.status("u1").isReady();
    }, "both pods on generation 1");
    SgcStatus done = kube.status("u1");
    assertEquals(new SgcStatus.Pods(2, 2), done.pods());
    assertTrue(done.condition(SgcStatus.PODS_UP_TO_DATE).orElseThrow().isTrue());
    assertEquals("2 of 2 running pod(s) run generation 1", done.condition(SgcStatus.PODS_UP_TO_DATE).orElseThrow().message());
  }
}
