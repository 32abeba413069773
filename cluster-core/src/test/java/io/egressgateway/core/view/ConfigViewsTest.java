package io.egressgateway.core.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A view published on a controller is readable locally on another member; removal replicates too; a change is sent
 * to every member at once rather than left to Distributed Data's periodic propagation.
 */
class ConfigViewsTest {

  @Test
  void publishedViewsReachOtherMembersAndRemovalsToo() throws Exception {
    try (TestMembers members = new TestMembers()) {
      EgressMember controller = members.startUp("ctl", List.of(Roles.CONTROLLER), null);
      EgressMember worker = members.startUp("w1", List.of(Roles.WORKER), controller);
      List<Map<String, ConfigView>> seen = new CopyOnWriteArrayList<>();
      ConfigViews.get(worker.system()).subscribe(seen::add);

      ConfigView view = new ConfigView("ns1/sgc", "uid-1", 1, "10.0.0.100", 6000, "pubkey=", "sgw-uid-1",
          List.of("10.1.0.0/16"), null, "20.0.0.0/31",
          Map.of("gw-1", new ConfigView.GatewayAddresses("10.0.0.5", "10.0.0.15")), true);
      assertTrue(ConfigViews.get(controller.system()).publish(view).toCompletableFuture().get(5, TimeUnit.SECONDS));

      TestMembers.await(Duration.ofSeconds(10), () -> ConfigViews.get(worker.system()).find("ns1/sgc").isPresent(),
          "view replicated to the worker");
      ConfigView replicated = ConfigViews.get(worker.system()).find("ns1/sgc").orElseThrow();
      assertEquals(view, replicated);
      assertEquals(ConfigView.DEFAULT_ROUTE_GATEWAY, replicated.defaultRoute());
      assertEquals("10.0.0.15", replicated.gatewayOn("gw-1").orElseThrow().secondaryIp());
      assertTrue(seen.stream().anyMatch(m -> m.containsKey("ns1/sgc")), "subscriber notified");

      assertTrue(ConfigViews.get(controller.system()).remove("ns1/sgc").toCompletableFuture().get(5, TimeUnit.SECONDS));
      TestMembers.await(Duration.ofSeconds(10), () -> ConfigViews.get(worker.system()).current().isEmpty(),
          "removal replicated to the worker");
    }
  }

  /**
   * Distributed Data's own propagation runs on a timer (deltas every gossip interval / 5, to at most 10 members per
   * tick; full gossip every interval). With the interval at 5 minutes, a change that waited for it would take up to a
   * minute; the second change is published right after the first arrived, so it could not be carried by the same tick.
   */
  @Test
  void aChangeReachesEveryMemberWithoutWaitingForPropagationTicks() throws Exception {
    var slowTicks = ConfigFactory.parseString("akka.cluster.distributed-data.gossip-interval = 300s");
    try (TestMembers members = new TestMembers()) {
      EgressMember controller = members.start("ctl", List.of(Roles.CONTROLLER), null, slowTicks);
      controller.join();
      List<EgressMember> others = List.of(
          members.start("gw-1", List.of(Roles.GATEWAY), controller, slowTicks),
          members.start("w1", List.of(Roles.WORKER), controller, slowTicks),
          members.start("w2", List.of(Roles.WORKER), controller, slowTicks));
      others.forEach(EgressMember::join);
      // as the agents do at start: each member's replica and subscription exist before anything is published
      others.forEach(m -> ConfigViews.get(m.system()));
      TestMembers.await(Duration.ofSeconds(60), () -> others.stream().allMatch(m -> TestMembers.upCount(m) == 4),
          "four members Up everywhere");

      for (long generation = 1; generation <= 2; generation++) {
        ConfigView view = new ConfigView("ns1/sgc", "uid-1", generation, "10.0.0.100", 6000, "pubkey=", "sgw-uid-1",
            List.of(), null, "", Map.of("gw-1", new ConfigView.GatewayAddresses("10.0.0.5", "10.0.0.15")), true);
        assertTrue(ConfigViews.get(controller.system()).publish(view).toCompletableFuture().get(5, TimeUnit.SECONDS));
        long g = generation;
        TestMembers.await(Duration.ofSeconds(5), () -> others.stream().allMatch(
                m -> ConfigViews.get(m.system()).find("ns1/sgc").map(v -> v.generation() == g).orElse(false)),
            "generation " + g + " on every member within 5 s");
      }
    }
  }
}
