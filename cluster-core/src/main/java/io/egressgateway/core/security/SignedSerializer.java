package io.egressgateway.core.security;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.SerializationExtension;
import akka.serialization.SerializerWithStringManifest;
import akka.serialization.jackson.JacksonObjectMapperProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.egressgateway.core.CborSerializable;
import java.io.IOException;
import java.io.NotSerializableException;
import java.util.Optional;

/**
 * The serializer of the commands other members must not send unless their role allows it (bound per class in
 * {@code akka.actor.serialization-bindings}, e.g. {@code GatewayNodeProtocol$Command}). It writes the Jackson
 * CBOR form of the message sealed with this member's key ({@link Seals}, context = the class name). Reading,
 * it opens the seal, reads the message and asks {@link Authorization} whether the signer may send it; a
 * refused message is logged, counted and dropped by Akka (a deserialization failure) before any actor sees it.
 *
 * <p>Why binding matters: Akka picks the deserializer by the id on the wire, so a rogue could encode a
 * protected command with plain {@code jackson-cbor}. Akka's Jackson serializers read only classes bound to a
 * Jackson serializer (or allow-listed), and these classes are bound to this one, so that path is closed.
 */
public final class SignedSerializer extends SerializerWithStringManifest {
  public static final int IDENTIFIER = 7411;

  private final ExtendedActorSystem system;
  private volatile ObjectMapper mapper;
  private volatile Security security;

  public SignedSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return o.getClass().getName();
  }

  @Override
  public byte[] toBinary(Object o) {
    byte[] cbor = akka.serialization.Serialization$.MODULE$.withTransportInformation(system, () -> {
      try {
        return mapper().writeValueAsBytes(o);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot serialize " + o.getClass().getName() + ": " + e.getMessage(), e);
      }
    });
    return security().seals().seal(manifest(o), cbor);
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    Class<?> type = boundClass(manifest);
    String kind = type == null ? "unknown" : type.getSimpleName();
    Security sec = security();
    try {
      if (type == null) {
        throw new Refused(kind, Principal.UNVERIFIED, "not a class of this serializer: " + manifest);
      }
      Seals.Opened opened = sec.seals().open(manifest, kind, bytes, sec.maxMessageAge());
      Object message = akka.serialization.Serialization$.MODULE$.withTransportInformation(system, () -> {
        try {
          return mapper().readValue(opened.payload(), type);
        } catch (IOException e) {
          throw new IllegalArgumentException(e.getMessage(), e);
        }
      });
      if (sec.seals().enforcing()) {
        sec.authorization().check(opened.signer(), message);
      }
      return message;
    } catch (Refused r) {
      sec.refused(r, "a remote member");
      throw new NotSerializableException((r instanceof Refused.NotYet ? "not checked yet " : "refused ") + kind + ": " + r.getMessage());
    } catch (IllegalArgumentException e) {
      throw new NotSerializableException("unreadable " + kind + ": " + e.getMessage());
    }
  }

  /** The class named by {@code manifest} if it is ours and bound to this serializer; else null. */
  private Class<?> boundClass(String manifest) {
    try {
      Class<?> c = system.dynamicAccess().getClassFor(manifest, scala.reflect.ClassTag.apply(Object.class)).get();
      if (!CborSerializable.class.isAssignableFrom(c)) {
        return null;
      }
      return SerializationExtension.get(system).serializerFor(c) instanceof SignedSerializer ? c : null;
    } catch (Exception e) {
      return null;
    }
  }

  private ObjectMapper mapper() {
    if (mapper == null) {
      mapper = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
    }
    return mapper;
  }

  private Security security() {
    if (security == null) {
      security = Security.get(Adapter.toTyped(system));
    }
    return security;
  }
}
