package io.egressgateway.core.sharding;

import akka.actor.ActorRef;
import akka.actor.ActorSystem;
import akka.actor.Address;
import akka.cluster.Cluster;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.ShardCoordinator;
import io.egressgateway.core.Roles;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.StreamSupport;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;

/**
 * Allocates shard {@code <node>} to the region of the Up member that carries role {@code node:<node>},
 * and to nobody else. When no such member is Up, allocation fails; the coordinator then leaves the shard
 * unallocated and the requesting region keeps its messages buffered and asks again later, so they reach
 * the node's member as soon as it (re)joins. Rebalance only ever takes a shard away from a member that
 * does not carry the node's role.
 */
public final class NodePinnedAllocationStrategy extends ShardCoordinator.AbstractShardAllocationStrategy
    implements ShardCoordinator.ActorSystemDependentAllocationStrategy {

  /** Raised (inside the returned future) when the node's member is not in the cluster right now. */
  public static final class NodeAbsent extends RuntimeException {
    NodeAbsent(String node) {
      super("no Up member runs on node '" + node + "'; messages stay buffered until it joins", null, false, false);
    }
  }

  private Cluster cluster;

  @Override
  public void start(ActorSystem system) {
    this.cluster = Cluster.get(system);
  }

  @Override
  public Future<ActorRef> allocateShard(
      ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> currentShardAllocations) {
    for (ActorRef region : currentShardAllocations.keySet()) {
      if (memberOf(region).filter(m -> isUp(m) && carriesNode(m, shardId)).isPresent()) {
        return akka.dispatch.Futures.successful(region);
      }
    }
    return akka.dispatch.Futures.failed(new NodeAbsent(shardId));
  }

  @Override
  public Future<Set<String>> rebalance(
      Map<ActorRef, IndexedSeq<String>> currentShardAllocations, Set<String> rebalanceInProgress) {
    Set<String> misplaced = new HashSet<>();
    currentShardAllocations.forEach(
        (region, shards) -> {
          Optional<Member> member = memberOf(region);
          shards.foreach(
              shard -> {
                if (member.isPresent()
                    && !carriesNode(member.get(), shard)
                    && !rebalanceInProgress.contains(shard)) {
                  misplaced.add(shard);
                }
                return null;
              });
        });
    return akka.dispatch.Futures.successful(misplaced);
  }

  private Optional<Member> memberOf(ActorRef region) {
    Address address = region.path().address();
    Address resolved = address.hasLocalScope() ? cluster.selfAddress() : address;
    return StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .filter(m -> m.address().equals(resolved))
        .findFirst();
  }

  private static boolean isUp(Member m) {
    return m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp();
  }

  private static boolean carriesNode(Member m, String node) {
    return m.getRoles().contains(Roles.nodeRole(node));
  }
}
