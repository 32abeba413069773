package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.pattern.StatusReply;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.FakeArmPort;
import io.egressgateway.azure.model.PoolRef;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** How the controller reaches a pool: sharded on role controller, addressed by {@link PoolRef#entityId()}. */
class GatewayPoolShardingTest {
  private static final String BASE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/";

  @Test
  void poolIsReachableThroughSharding() {
    ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString("""
            akka.remote.artery.canonical.hostname = 127.0.0.1
            akka.remote.artery.canonical.port = 0
            akka.cluster.roles = [controller]
            akka.cluster.jmx.multi-mbeans-in-same-jvm = on
            """)
        .withFallback(PersistenceTestKitPlugin.getInstance().config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load()));
    try {
      Cluster cluster = Cluster.get(testKit.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      AzureSettings settings = AzureSettings.from(ConfigFactory.parseString("egress.azure.coalesce-window = 20ms")
          .withFallback(ConfigFactory.load()));
      var region = GatewayPool.init(testKit.system(), new FakeArmPort(BASE, 2), settings, BASE);
      TestProbe<StatusReply<ConfigResult>> probe = testKit.createTestProbe();
      region.tell(new ShardingEnvelope<>(PoolRef.nodepool("gw").entityId(),
          new GatewayPool.EnsureConfig(new ConfigSpec("ns/a", "a", true, 30, ""), probe.getRef())));
      StatusReply<ConfigResult> reply = probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(20));
      assertTrue(reply.isSuccess(), () -> String.valueOf(reply.getError()));
      assertEquals(6000, reply.getValue().port());
      assertEquals(8082, settings.probePort(), "reference.conf defaults are read");
    } finally {
      testKit.shutdownTestKit();
    }
  }
}
