package io.egressgateway.gateway.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.jackson.JacksonObjectMapperProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.gateway.model.PeerOwner;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Snapshots and events written before peers had owners are read by this release: the journal of a gateway
 * survives its upgrade.
 */
class GatewayNodeJournalFormatTest {
  static final ActorTestKit KIT = ActorTestKit.create("gateway-node-journal-format-test", GatewayNodeTest.CONFIG);
  static final String KEY = "uPAXGtc9gaKW7pdJMxu2WbPEcLVdHSc31XPkmaLNc3w=";
  static final Serialization SERIALIZATION = SerializationExtension.get(Adapter.toClassic(KIT.system()));
  static final ObjectMapper CBOR = JacksonObjectMapperProvider.get(Adapter.toClassic(KIT.system()))
      .getOrCreate("jackson-cbor", Optional.empty());

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  /** What the previous release wrote for {@code fields}, read back as {@code type}. */
  static Object readAsPreviousRelease(Map<String, Object> fields, Class<?> type) throws Exception {
    return SERIALIZATION.deserialize(CBOR.writeValueAsBytes(fields), 33, type.getName()).get();
  }

  @Test
  void aSnapshotWithoutOwnersReadsAsPeersWithoutOwner() throws Exception {
    Object state = readAsPreviousRelease(Map.of("peers", Map.of("uid-1", Map.of(KEY, "10.244.1.10/32"))), GatewayNode.State.class);
    assertEquals(new GatewayNode.State(Map.of("uid-1", Map.of(KEY, "10.244.1.10/32")), Map.of()), state);
  }

  @Test
  void aPeerAddedWithoutNodeReadsAsOneWithoutOwner() throws Exception {
    Object event = readAsPreviousRelease(Map.of("configUid", "uid-1", "publicKey", KEY, "allowedIp", "10.244.1.10/32"),
        GatewayNode.PeerAdded.class);
    assertEquals(new GatewayNode.PeerAdded("uid-1", KEY, "10.244.1.10/32"), event);
  }

  @Test
  void ownersSurviveTheRoundTrip() throws Exception {
    GatewayNode.State s = new GatewayNode.State(Map.of("uid-1", Map.of(KEY, "10.244.1.10/32")),
        Map.of("uid-1", Map.of(KEY, new PeerOwner("w1", 42))));
    byte[] bytes = SERIALIZATION.serialize(s).get();
    assertEquals(s, SERIALIZATION.deserialize(bytes, 33, GatewayNode.State.class.getName()).get());
  }
}
