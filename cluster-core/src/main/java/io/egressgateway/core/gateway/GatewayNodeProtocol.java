package io.egressgateway.core.gateway;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.Cluster;
import akka.pattern.StatusReply;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.sharding.NodePinned;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * What a member of another role may ask of a gateway node: the peer protocol of the {@code GatewayNode}
 * entity (gateway-actor), which workers reach through node-pinned sharding. The entity accepts these
 * commands next to its own, so its message type is {@link Command} and its key is {@link #ENTITY_KEY}.
 *
 * <p>It lives here, next to the replicated {@code ConfigView}, because both node roles speak it and neither
 * node module may depend on the other. {@link AddPeer} and {@link RemovePeer} were nested in
 * {@code GatewayNode} before; {@link PeerCommandRename} reads what members of that release still send.
 */
public final class GatewayNodeProtocol {

  /** The entity type name: shard regions and persistence ids carry it, so it never changes. */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "GatewayNode");

  private GatewayNodeProtocol() {}

  /** Every message a {@code GatewayNode} accepts: these and the gateway's own commands. */
  public interface Command extends CborSerializable {}

  /** Make pod peer {@code publicKey} (allowed IP {@code a.b.c.d/32}) known to config {@code configUid}; answered once programmed. */
  public record AddPeer(String configUid, String publicKey, String allowedIp, ActorRef<StatusReply<Done>> replyTo)
      implements Command {}

  /** Forget a pod peer; answered once persisted (the device follows at once). */
  public record RemovePeer(String configUid, String publicKey, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /**
   * Makes a member without the {@code gateway} role able to reach GatewayNode entities (a shard-region
   * proxy). On a gateway member the {@code GatewayAgent} owns the region and this does nothing.
   */
  public static void initProxy(ActorSystem<?> system) {
    if (Cluster.get(system).selfMember().hasRole(Roles.GATEWAY)) {
      return;
    }
    NodePinned.init(system, ENTITY_KEY, Roles.GATEWAY, ctx -> {
      throw new IllegalStateException("GatewayNode entities run only on gateway members");
    });
  }

  /**
   * Asks gateway node {@code gatewayNode} to program pod peer {@code publicKey} for {@code configUid}; completes
   * once the peer is programmed there, fails with the gateway's reason or on timeout. {@code podIp} may be
   * given with or without {@code /32}.
   */
  public static CompletionStage<Done> addPeer(ActorSystem<?> system, String gatewayNode,
      String configUid, String publicKey, String podIp, Duration timeout) {
    String ip = podIp.endsWith("/32") ? podIp : podIp + "/32";
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, gatewayNode)
        .askWithStatus(r -> new AddPeer(configUid, publicKey, ip, r), timeout);
  }

  /** Asks gateway node {@code gatewayNode} to forget pod peer {@code publicKey} of {@code configUid}. */
  public static CompletionStage<Done> removePeer(ActorSystem<?> system, String gatewayNode,
      String configUid, String publicKey, Duration timeout) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, gatewayNode)
        .askWithStatus(r -> new RemovePeer(configUid, publicKey, r), timeout);
  }
}
