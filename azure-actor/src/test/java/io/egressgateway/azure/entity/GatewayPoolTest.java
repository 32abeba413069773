package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.FakeArmPort;
import io.egressgateway.azure.model.PoolRef;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The entity's protocol and journal against the in-memory fake (serialization checks on). */
class GatewayPoolTest {
  private static final String BASE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/";
  private static final AzureSettings SETTINGS = new AzureSettings(Duration.ofMillis(20), Duration.ofHours(1), Duration.ofMillis(50),
      Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofMinutes(1), 6, 8082, 6000, 6999, 31);

  private ActorTestKit testKit;
  private FakeArmPort fake;
  private EventSourcedBehaviorTestKit<GatewayPool.Command, GatewayPool.Event, PoolState> kit;

  @BeforeEach
  void setUp() {
    testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
    fake = new FakeArmPort(BASE, 2);
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        GatewayPool.create(PoolRef.nodepool("gw").entityId(), fake, SETTINGS, BASE));
  }

  @AfterEach
  void tearDown() {
    testKit.shutdownTestKit();
  }

  private static ConfigSpec spec(String uid) {
    return new ConfigSpec("ns/" + uid, uid, true, 30, "");
  }

  private ConfigResult ensure(ConfigSpec spec, int expectedEvents) {
    TestProbe<StatusReply<ConfigResult>> probe = testKit.createTestProbe();
    var result = kit.runCommand(new GatewayPool.EnsureConfig(spec, probe.getRef()));
    assertEquals(expectedEvents, result.events().size(), () -> "events: " + result.events());
    StatusReply<ConfigResult> reply = probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(10));
    assertTrue(reply.isSuccess(), () -> String.valueOf(reply.getError()));
    return reply.getValue();
  }

  @Test
  void ensureProvisionsAndARepeatPersistsNothing() {
    ConfigResult r = ensure(spec("a"), 1);
    // the reply crosses the network when the asking controller is another one: it has a serializer and survives it
    var serialization = akka.serialization.SerializationExtension.get(testKit.system().classicSystem());
    StatusReply<ConfigResult> reply = StatusReply.success(r);
    byte[] bytes = serialization.serialize(reply).get();
    var serializer = serialization.findSerializerFor(reply);
    assertEquals(reply, serialization.deserialize(bytes, serializer.identifier(),
        akka.serialization.Serializers.manifestFor(serializer, reply)).get());
    assertEquals(6000, r.port());
    assertEquals(2, r.nodes().size());
    assertTrue(r.egressPrefix().endsWith("/30"));
    assertEquals(r, ensure(spec("a"), 0));
    assertTrue(kit.getState().openIntents().isEmpty(), "every intent has its result");
  }

  @Test
  void removeUnknownIsAcknowledgedAndInvalidSpecsAreRejected() {
    TestProbe<StatusReply<Done>> removed = testKit.createTestProbe();
    assertTrue(kit.runCommand(new GatewayPool.RemoveConfig("nope", removed.getRef())).events().isEmpty());
    assertTrue(removed.expectMessageClass(StatusReply.class).isSuccess());

    TestProbe<StatusReply<ConfigResult>> bad = testKit.createTestProbe();
    assertTrue(kit.runCommand(new GatewayPool.EnsureConfig(new ConfigSpec("ns/x", "x", true, 40, ""), bad.getRef())).events().isEmpty());
    StatusReply<ConfigResult> reply = bad.expectMessageClass(StatusReply.class);
    assertTrue(reply.isError());
    assertTrue(reply.getError().getMessage().contains("between 1 and 31"));
    assertTrue(fake.writes().isEmpty());
  }

  @Test
  void removeCleansEverythingAndFreesThePort() {
    ensure(spec("a"), 1);
    ensure(spec("b"), 1);
    TestProbe<StatusReply<Done>> removed = testKit.createTestProbe();
    kit.runCommand(new GatewayPool.RemoveConfig("a", removed.getRef()));
    assertTrue(removed.expectMessageClass(StatusReply.class, Duration.ofSeconds(10)).isSuccess());
    assertEquals(6000, ensure(spec("c"), 1).port(), "the freed port is reused");

    TestProbe<StatusReply<Done>> all = testKit.createTestProbe();
    kit.runCommand(new GatewayPool.RemoveConfig("b", all.getRef()));
    kit.runCommand(new GatewayPool.RemoveConfig("c", all.getRef()));
    assertTrue(all.expectMessageClass(StatusReply.class, Duration.ofSeconds(10)).isSuccess());
    assertTrue(all.expectMessageClass(StatusReply.class, Duration.ofSeconds(10)).isSuccess());
    assertTrue(fake.isEmpty(), "nothing left in Azure");
    assertTrue(kit.getState().configs().isEmpty());
  }

  @Test
  void transientFailuresAndConflictsAreRetriedUntilConverged() {
    fake.failNextWrite(new ArmFailure(ArmFailure.Kind.TRANSIENT, "InternalServerError", "boom", null));
    fake.failNextWrite(new ArmFailure(ArmFailure.Kind.CONFLICT, "PreconditionFailed", "etag", null));
    ConfigResult r = ensure(spec("a"), 1);
    assertEquals("10.0.0.250", r.frontendIp());
  }

  @Test
  void rejectionIsReportedToTheCaller() {
    fake.failNextWrite(new ArmFailure(ArmFailure.Kind.REJECTED, "PublicIpPrefixLengthOutOfRange", "too big", null));
    TestProbe<StatusReply<ConfigResult>> probe = testKit.createTestProbe();
    kit.runCommand(new GatewayPool.EnsureConfig(spec("a"), probe.getRef()));
    StatusReply<ConfigResult> reply = probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(10));
    assertTrue(reply.isError());
    assertTrue(reply.getError().getMessage().contains("too big"));
  }

  @Test
  void recoveryKeepsPortsAndReconciles() {
    ensure(spec("a"), 1);
    ensure(spec("b"), 1);
    kit.restart();
    assertEquals(2, kit.getState().configs().size());
    assertEquals(6001, ensure(spec("b"), 0).port());
  }
}
