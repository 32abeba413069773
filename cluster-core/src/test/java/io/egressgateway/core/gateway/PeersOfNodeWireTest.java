package io.egressgateway.core.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.javadsl.Adapter;
import akka.pattern.StatusReply;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializers;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The worker's facts that let a gateway heal itself cross the wire, and do not disturb older members. */
class PeersOfNodeWireTest {
  private static final String KEY = "uPAXGtc9gaKW7pdJMxu2WbPEcLVdHSc31XPkmaLNc3w=";
  private static final ActorTestKit KIT = ActorTestKit.create("egress",
      ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load()));
  private static final Serialization SERIALIZATION = SerializationExtension.get(Adapter.toClassic(KIT.system()));

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static Object roundTrip(Object message) {
    byte[] bytes = SERIALIZATION.serialize(message).get();
    String manifest = Serializers.manifestFor(SERIALIZATION.findSerializerFor(message), message);
    return SERIALIZATION.deserialize(bytes, SERIALIZATION.findSerializerFor(message).identifier(), manifest).get();
  }

  @Test
  void aWorkersListOfItsPeersRoundTrips() {
    var m = new GatewayNodeProtocol.PeersOfNode("worker-1", "uid-1", 1_700_000_000_000_001L, Map.of(KEY, "10.244.1.10/32"));
    assertEquals(m, roundTrip(m));
    var empty = new GatewayNodeProtocol.PeersOfNode("worker-1", "uid-1", 7, Map.of());
    assertEquals(empty, roundTrip(empty));
  }

  @Test
  void anAddPeerNamingItsWorkerRoundTripsAndOneWithoutWritesNoNewField() {
    var replyTo = KIT.<StatusReply<Done>>createTestProbe().ref();
    var named = new GatewayNodeProtocol.AddPeer("uid-1", KEY, "10.244.1.10/32", replyTo, "worker-1", 42);
    assertEquals(named, roundTrip(named));
    String written = new String(SERIALIZATION.serialize(named).get(), StandardCharsets.ISO_8859_1);
    assertTrue(written.contains("node") && written.contains("seq"), "the facts are on the wire");

    var anonymous = new GatewayNodeProtocol.AddPeer("uid-1", KEY, "10.244.1.10/32", replyTo);
    String old = new String(SERIALIZATION.serialize(anonymous).get(), StandardCharsets.ISO_8859_1);
    assertTrue(!old.contains("node") && !old.contains("seq"), "as the previous release wrote it");
    assertEquals(anonymous, roundTrip(anonymous));
  }
}
