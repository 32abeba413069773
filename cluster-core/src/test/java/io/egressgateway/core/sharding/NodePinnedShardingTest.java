package io.egressgateway.core.sharding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.Cluster;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.metrics.ClusterMetrics;
import io.egressgateway.core.metrics.Metrics;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Three members on nodes a, b, c: node-pinned entities run only on their node's member, and wait for it. */
class NodePinnedShardingTest {

  /** A test entity that answers with the node of the member it runs on. */
  static final class Locator {
    static final EntityTypeKey<Where> KEY = EntityTypeKey.create(Where.class, "Locator");
    /** (entity id, node it was started on) for every entity start in this JVM. */
    static final Queue<List<String>> STARTS = new ConcurrentLinkedQueue<>();

    record Where(ActorRef<Here> replyTo) implements CborSerializable {}

    record Here(String entityId, String node) implements CborSerializable {}

    static Behavior<Where> create(String entityId) {
      return Behaviors.setup(ctx -> {
        String node = Roles.nodeOf(Cluster.get(ctx.getSystem()).selfMember().getRoles()).orElseThrow();
        STARTS.add(List.of(entityId, node));
        return Behaviors.receiveMessage(m -> {
          m.replyTo().tell(new Here(entityId, node));
          return Behaviors.same();
        });
      });
    }
  }

  static TestMembers members;
  static EgressMember a;
  static EgressMember c;

  @BeforeAll
  static void startCluster() {
    members = new TestMembers();
    a = members.startUp("a", List.of(Roles.GATEWAY), null);
    members.startUp("b", List.of(Roles.GATEWAY), a);
    c = members.startUp("c", List.of(Roles.GATEWAY), a);
  }

  @AfterAll
  static void stopCluster() {
    members.close();
  }

  static ActorRef<ShardingEnvelope<Locator.Where>> region(EgressMember m) {
    return NodePinned.init(m.system(), Locator.KEY, Roles.GATEWAY, ctx -> Locator.create(ctx.getEntityId()),
        NodePinned.withoutPassivation(m.system()));
  }

  @Test
  void entitiesLiveOnlyOnTheirNodeAndWaitWhileItIsAway() {
    ActorRef<ShardingEnvelope<Locator.Where>> fromA = region(a);
    EgressMember b = findMember("b");
    region(b);
    ActorRef<ShardingEnvelope<Locator.Where>> fromC = region(c);
    TestProbe<Locator.Here> probe = TestProbe.create(a.system());
    TestProbe<Locator.Here> probeC = TestProbe.create(c.system());

    fromA.tell(new ShardingEnvelope<>("b", new Locator.Where(probe.getRef())));
    assertEquals(new Locator.Here("b", "b"), probe.expectMessageClass(Locator.Here.class, Duration.ofSeconds(15)));
    fromC.tell(new ShardingEnvelope<>(NodePinned.entityId("b", "pod-1"), new Locator.Where(probeC.getRef())));
    assertEquals(new Locator.Here("b/pod-1", "b"), probeC.expectMessageClass(Locator.Here.class, Duration.ofSeconds(15)));
    fromA.tell(new ShardingEnvelope<>(NodePinned.entityId("c", "pod-2"), new Locator.Where(probe.getRef())));
    assertEquals("c", probe.expectMessageClass(Locator.Here.class, Duration.ofSeconds(15)).node());

    // c's /metrics counts what c hosts: the one entity of node c
    ClusterMetrics.refreshSharding(c.system(), Duration.ofSeconds(5)).toCompletableFuture().join();
    String scrape = Metrics.get(c.system()).scrape();
    assertTrue(scrape.contains("egress_sharding_shards{type=\"Locator\"} 1"), scrape);
    assertTrue(scrape.contains("egress_sharding_entities{type=\"Locator\"} 1"), scrape);
    assertTrue(scrape.contains("egress_cluster_members{status=\"Up\"} 3"), scrape);

    // node b's member goes away: messages for b must wait, not run elsewhere
    members.stop(b);
    TestMembers.awaitUp(a, 2);
    Locator.STARTS.clear();
    fromA.tell(new ShardingEnvelope<>("b", new Locator.Where(probe.getRef())));
    fromC.tell(new ShardingEnvelope<>(NodePinned.entityId("b", "pod-1"), new Locator.Where(probeC.getRef())));
    probe.expectNoMessage(Duration.ofSeconds(4));
    probeC.expectNoMessage(Duration.ZERO);
    assertTrue(Locator.STARTS.isEmpty(), "no entity of node b may start elsewhere, but saw " + Locator.STARTS);

    // node b comes back (a new incarnation): both buffered messages are delivered there
    EgressMember b2 = members.startUp("b", List.of(Roles.GATEWAY), a);
    region(b2);
    Locator.Here first = probe.expectMessageClass(Locator.Here.class, Duration.ofSeconds(20));
    Locator.Here second = probeC.expectMessageClass(Locator.Here.class, Duration.ofSeconds(20));
    assertEquals("b", first.node());
    assertEquals(new Locator.Here("b/pod-1", "b"), second);
    assertTrue(Locator.STARTS.stream().allMatch(s -> s.get(1).equals("b")), "starts: " + Locator.STARTS);
  }

  private static EgressMember findMember(String node) {
    return members.member(node);
  }
}
