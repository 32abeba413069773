package io.egressgateway.core.sharding;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.ShardingMessageExtractor;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityContext;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Sharding for entities that must live on one particular Kubernetes node: the {@code GatewayNode} of a
 * gateway node, the {@code PodTunnel}s of a worker node.
 *
 * <p>An entity id is {@code <node>} or {@code <node>/<local id>}; the shard id is the node name, and
 * {@link NodePinnedAllocationStrategy} gives shard {@code <node>} only to the member carrying the role
 * {@code node:<node>}. While that member is absent the shard stays unallocated and messages wait in the
 * senders' region buffers; they are never handed to a member on another node.
 */
public final class NodePinned {
  /** Separates the node name from the local part of an entity id. Node names never contain it. */
  public static final char SEPARATOR = '/';

  private NodePinned() {}

  /** Entity id of an entity pinned to {@code node} and identified there by {@code localId}. */
  public static String entityId(String node, String localId) {
    requireNodeName(node);
    return node + SEPARATOR + localId;
  }

  /** The node an entity id is pinned to. */
  public static String nodeOf(String entityId) {
    int i = entityId.indexOf(SEPARATOR);
    return i < 0 ? entityId : entityId.substring(0, i);
  }

  /** The local part of an entity id, empty for an entity keyed by the node name alone. */
  public static String localIdOf(String entityId) {
    int i = entityId.indexOf(SEPARATOR);
    return i < 0 ? "" : entityId.substring(i + 1);
  }

  /**
   * Starts (or joins) the shard region of a node-pinned entity type on members with {@code role}; a
   * member without that role gets a proxy.
   */
  public static <M> ActorRef<ShardingEnvelope<M>> init(
      ActorSystem<?> system,
      EntityTypeKey<M> key,
      String role,
      Function<EntityContext<M>, Behavior<M>> create) {
    return init(system, key, role, create, UnaryOperator.identity());
  }

  /**
   * Same, with further entity settings applied by {@code customize} (for example
   * {@link #withoutPassivation}: an entity that owns kernel state should not be stopped when idle).
   */
  public static <M> ActorRef<ShardingEnvelope<M>> init(
      ActorSystem<?> system,
      EntityTypeKey<M> key,
      String role,
      Function<EntityContext<M>, Behavior<M>> create,
      UnaryOperator<Entity<M, ShardingEnvelope<M>>> customize) {
    Entity<M, ShardingEnvelope<M>> entity = Entity.of(key, create::apply)
        .withRole(role)
        .withMessageExtractor(new Extractor<M>())
        .withAllocationStrategy(new NodePinnedAllocationStrategy());
    return ClusterSharding.get(system).init(customize.apply(entity));
  }

  /** A customizer that turns idle passivation off for the entity type. */
  public static <M> UnaryOperator<Entity<M, ShardingEnvelope<M>>> withoutPassivation(ActorSystem<?> system) {
    return e -> e.withSettings(ClusterShardingSettings.create(system)
        .withNoPassivationStrategy());
  }

  static void requireNodeName(String node) {
    if (node == null || node.isBlank() || node.indexOf(SEPARATOR) >= 0) {
      throw new IllegalArgumentException("not a node name: '" + node + "'");
    }
  }

  private static final class Extractor<M> extends ShardingMessageExtractor<ShardingEnvelope<M>, M> {
    @Override
    public String entityId(ShardingEnvelope<M> envelope) {
      return envelope.entityId();
    }

    @Override
    public String shardId(String entityId) {
      return nodeOf(entityId);
    }

    @Override
    public M unwrapMessage(ShardingEnvelope<M> envelope) {
      return envelope.message();
    }
  }
}
