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
import io.egressgateway.core.security.NodeProof;
import io.egressgateway.core.security.Security;
import io.egressgateway.core.sharding.NodePinned;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * What a member of another role may ask of a gateway node: the peer protocol of the {@code GatewayNode}
 * entity (gateway-actor), which workers reach through node-pinned sharding. The entity accepts these
 * commands next to its own, so its message type is {@link Command} and its key is {@link #ENTITY_KEY}.
 *
 * <p>It lives here, next to the replicated {@code ConfigView}, because both node roles speak it and neither
 * node module may depend on the other. {@link AddPeer} and {@link RemovePeer} were nested in
 * {@code GatewayNode} before; {@link PeerCommandRename} reads what members of that release still send.
 *
 * <p>Wire rules: a message may gain a field only if a member that does not know it reads the rest unchanged
 * (Jackson ignores unknown properties, and a missing one reads as null or 0), and an empty value is not
 * written at all, so a message without the new facts is byte for byte what the previous release sent. New
 * messages are fine: a gateway of the previous release drops one it cannot read, and nothing may depend on
 * its answer ({@link PeersOfNode} is told, never asked).
 */
public final class GatewayNodeProtocol {

  /** The entity type name: shard regions and persistence ids carry it, so it never changes. */
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "GatewayNode");

  private GatewayNodeProtocol() {}

  /** Every message a {@code GatewayNode} accepts: these and the gateway's own commands. */
  public interface Command extends CborSerializable {}

  /**
   * Make pod peer {@code publicKey} (allowed IP {@code a.b.c.d/32}) known to config {@code configUid}; answered
   * once programmed. {@code node} and {@code seq} name the worker node whose tunnel this is and where the
   * request stands in that node's {@link PeersOfNode} sequence; both are empty (null, 0) from a worker of the
   * previous release.
   */
  public record AddPeer(String configUid, String publicKey, String allowedIp, ActorRef<StatusReply<Done>> replyTo,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) String node, @JsonInclude(JsonInclude.Include.NON_DEFAULT) long seq,
      @JsonInclude(JsonInclude.Include.NON_NULL) NodeProof proof) implements Command {
    public AddPeer {
      node = node == null ? "" : node;
    }

    /** A request without a node proof. */
    public AddPeer(String configUid, String publicKey, String allowedIp, ActorRef<StatusReply<Done>> replyTo, String node, long seq) {
      this(configUid, publicKey, allowedIp, replyTo, node, seq, null);
    }

    /** A request that names no worker node (as the previous release sent them). */
    public AddPeer(String configUid, String publicKey, String allowedIp, ActorRef<StatusReply<Done>> replyTo) {
      this(configUid, publicKey, allowedIp, replyTo, "", 0);
    }
  }

  /**
   * Forget a pod peer; answered once persisted (the device follows at once). {@code node} names the worker node
   * whose tunnel it was (the gateway lets a node remove only its own peers); empty from the previous release.
   */
  public record RemovePeer(String configUid, String publicKey, ActorRef<StatusReply<Done>> replyTo,
      @JsonInclude(JsonInclude.Include.NON_EMPTY) String node, @JsonInclude(JsonInclude.Include.NON_NULL) NodeProof proof)
      implements Command {
    public RemovePeer {
      node = node == null ? "" : node;
    }

    /** A request without a node proof. */
    public RemovePeer(String configUid, String publicKey, ActorRef<StatusReply<Done>> replyTo, String node) {
      this(configUid, publicKey, replyTo, node, null);
    }

    /** A request that names no worker node (as the previous release sent them). */
    public RemovePeer(String configUid, String publicKey, ActorRef<StatusReply<Done>> replyTo) {
      this(configUid, publicKey, replyTo, "");
    }
  }

  /**
   * Every live pod tunnel worker node {@code node} has for config {@code configUid}: pod public key to allowed
   * IP ({@code a.b.c.d/32}), possibly none. Sent by the worker to each gateway of the config's pool
   * periodically and when a gateway comes up or joins the pool; one message per (node, config), at most a
   * node's pods. {@code seq} orders it among the node's earlier digests and {@link AddPeer}s: it was taken
   * before the tunnels were listed, so every tunnel asked for with a lower {@code seq} and still alive is in
   * it. Told, not asked: the next one repairs what this one could not.
   */
  public record PeersOfNode(String node, String configUid, long seq, Map<String, String> peers,
      @JsonInclude(JsonInclude.Include.NON_NULL) NodeProof proof) implements Command {
    public PeersOfNode {
      peers = peers == null ? Map.of() : Map.copyOf(peers);
    }

    /** A digest without a node proof. */
    public PeersOfNode(String node, String configUid, long seq, Map<String, String> peers) {
      this(node, configUid, seq, peers, null);
    }

    /** The same digest with {@code proof} (this member's {@link Security#ownNodeProof}). */
    public PeersOfNode withProof(NodeProof proof) {
      return new PeersOfNode(node, configUid, seq, peers, proof);
    }
  }

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
    return addPeer(system, gatewayNode, "", 0, configUid, publicKey, podIp, timeout);
  }

  /** {@link #addPeer} on behalf of worker node {@code workerNode}, at {@code seq} of its peer sequence. */
  public static CompletionStage<Done> addPeer(ActorSystem<?> system, String gatewayNode, String workerNode, long seq,
      String configUid, String publicKey, String podIp, Duration timeout) {
    String ip = hostCidr(podIp);
    NodeProof proof = Security.get(system).ownNodeProof().orElse(null);
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, gatewayNode)
        .askWithStatus(r -> new AddPeer(configUid, publicKey, ip, r, workerNode, seq, proof), timeout);
  }

  /** Tells gateway node {@code gatewayNode} the live peers of a worker node ({@link PeersOfNode}). */
  public static void tellPeersOfNode(ActorSystem<?> system, String gatewayNode, PeersOfNode digest) {
    PeersOfNode told = digest.proof() != null ? digest : Security.get(system).ownNodeProof().map(digest::withProof).orElse(digest);
    ClusterSharding.get(system).entityRefFor(ENTITY_KEY, gatewayNode).tell(told);
  }

  /** {@code podIp} as the allowed IP of its peer: with {@code /32}, given with or without. */
  public static String hostCidr(String podIp) {
    return podIp.endsWith("/32") ? podIp : podIp + "/32";
  }

  /** Asks gateway node {@code gatewayNode} to forget pod peer {@code publicKey} of {@code configUid}. */
  public static CompletionStage<Done> removePeer(ActorSystem<?> system, String gatewayNode,
      String configUid, String publicKey, Duration timeout) {
    return removePeer(system, gatewayNode, "", configUid, publicKey, timeout);
  }

  /** {@link #removePeer} on behalf of worker node {@code workerNode}. */
  public static CompletionStage<Done> removePeer(ActorSystem<?> system, String gatewayNode, String workerNode,
      String configUid, String publicKey, Duration timeout) {
    NodeProof proof = Security.get(system).ownNodeProof().orElse(null);
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, gatewayNode)
        .askWithStatus(r -> new RemovePeer(configUid, publicKey, r, workerNode, proof), timeout);
  }
}
