package io.egressgateway.core.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.javadsl.Adapter;
import akka.pattern.StatusReply;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.Serializers;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.security.SignedSerializer;
import io.egressgateway.core.security.TestCertificates;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The peer commands keep reaching gateways from workers of the previous release, whose manifests still name
 * the classes nested in {@code GatewayNode}: the payloads below are what that release serialized (Jackson
 * CBOR, serializer 33), captured before the move. They are read while signatures are not enforced (a rolling
 * upgrade); once they are, only signed commands are (see RogueWorkerTest).
 */
class PeerCommandRenameTest {
  private static final String KEY = "uPAXGtc9gaKW7pdJMxu2WbPEcLVdHSc31XPkmaLNc3w=";
  private static final String REPLY_TO = "akka://egress@10.224.0.4:25520/temp/$a";
  private static final String OLD_ADD = "io.egressgateway.gateway.entity.GatewayNode$AddPeer";
  private static final String OLD_ADD_BYTES = "bf69636f6e666967556964657569642d31697075626c69634b6579782c755041584774633967614b57"
      + "3770644a4d78753257625045634c5664485363333158506b6d614c4e6333773d69616c6c6f77656449706e31302e3234342e312e31"
      + "302f3332677265706c79546f7826616b6b613a2f2f6567726573734031302e3232342e302e343a32353532302f74656d702f2461ff";
  private static final String OLD_REMOVE = "io.egressgateway.gateway.entity.GatewayNode$RemovePeer";
  private static final String OLD_REMOVE_BYTES = "bf69636f6e666967556964657569642d31697075626c69634b6579782c755041584774633967614b"
      + "573770644a4d78753257625045634c5664485363333158506b6d614c4e6333773d677265706c79546f7826616b6b613a2f2f65677265"
      + "73734031302e3232342e302e343a32353532302f74656d702f2461ff";

  private static ActorTestKit testKit;
  private static Serialization serialization;
  private static ActorRef<StatusReply<Done>> replyTo;

  @BeforeAll
  static void start() {
    testKit = ActorTestKit.create("egress", EgressMember.withLegacyClasses(
        ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load())));
    serialization = SerializationExtension.get(Adapter.toClassic(testKit.system()));
    replyTo = ActorRefResolver.get(testKit.system()).resolveActorRef(REPLY_TO);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void previousReleaseAddPeerIsReadAsTheProtocolRecord() {
    Object read = serialization.deserialize(HexFormat.of().parseHex(OLD_ADD_BYTES), 33, OLD_ADD).get();
    assertEquals(new GatewayNodeProtocol.AddPeer("uid-1", KEY, "10.244.1.10/32", replyTo), read);
  }

  @Test
  void previousReleaseRemovePeerIsReadAsTheProtocolRecord() {
    Object read = serialization.deserialize(HexFormat.of().parseHex(OLD_REMOVE_BYTES), 33, OLD_REMOVE).get();
    assertEquals(new GatewayNodeProtocol.RemovePeer("uid-1", KEY, replyTo), read);
  }

  /**
   * The commands are written by the signed serializer; without a key (signatures not enforced) the payload
   * is one byte saying "unsigned" followed byte for byte by what the previous release sent.
   */
  @Test
  void theCommandsAreWrittenUnderTheirNewNamesWithTheSamePayload() {
    assertWritten(new GatewayNodeProtocol.AddPeer("uid-1", KEY, "10.244.1.10/32", replyTo), OLD_ADD_BYTES);
    assertWritten(new GatewayNodeProtocol.RemovePeer("uid-1", KEY, replyTo), OLD_REMOVE_BYTES);
  }

  private static void assertWritten(Object message, String payload) {
    Serializer serializer = serialization.findSerializerFor(message);
    assertEquals(SignedSerializer.IDENTIFIER, serializer.identifier(), "egress-signed");
    assertEquals(message.getClass().getName(), Serializers.manifestFor(serializer, message));
    assertEquals("00" + payload, HexFormat.of().formatHex(serialization.serialize(message).get()));
    assertEquals(message, serialization.deserialize(serialization.serialize(message).get(), SignedSerializer.IDENTIFIER,
        Serializers.manifestFor(serializer, message)).get());
  }

  /** Enforcing, a member reads no peer command in plain Jackson CBOR: it cannot bypass the signature. */
  @Test
  void plainCommandsAreNotReadOnceSignaturesAreEnforced() {
    ActorTestKit enforcing = ActorTestKit.create("egress", EgressMember.withLegacyClasses(
        TestCertificates.memberConfig("gateway")
            .withFallback(ConfigFactory.parseString("akka.remote.artery.canonical.port = 0"))
            .withFallback(ConfigFactory.load())));
    try {
      Serialization strict = SerializationExtension.get(Adapter.toClassic(enforcing.system()));
      assertTrue(strict.deserialize(HexFormat.of().parseHex(OLD_ADD_BYTES), 33, OLD_ADD).isFailure());
      byte[] plain = serialization.serialize(new GatewayNodeProtocol.AddPeer("uid-1", KEY, "10.244.1.10/32", replyTo)).get();
      assertTrue(strict.deserialize(java.util.Arrays.copyOfRange(plain, 1, plain.length), 33,
          GatewayNodeProtocol.AddPeer.class.getName()).isFailure(), "plain jackson-cbor");
      assertTrue(strict.deserialize(plain, SignedSerializer.IDENTIFIER, GatewayNodeProtocol.AddPeer.class.getName())
          .isFailure(), "unsigned");
    } finally {
      enforcing.shutdownTestKit();
    }
  }
}
