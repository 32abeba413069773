package io.egressgateway.app.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class PoolsFollowGatewaysTest {
  static final List<String> POOLS = List.of("nodepool:gwpool", "vmss:rg/other");

  @Test
  void aGatewayJoiningAfterTheControllerMakesEveryPoolLookAgainOtherMembersDoNot() throws Exception {
    try (TestMembers members = new TestMembers()) {
      EgressMember gwOld = members.startUp("gw-old", List.of(Roles.GATEWAY), null);
      EgressMember ctl = members.startUp("ctl", List.of(Roles.CONTROLLER), gwOld);
      List<String> asked = new CopyOnWriteArrayList<>();
      PoolsFollowGateways.start(ctl.system(), () -> CompletableFuture.completedFuture(POOLS), asked::add);

      members.startUp("worker-1", List.of(Roles.WORKER), ctl);
      Thread.sleep(PoolsFollowGateways.SETTLE.plusSeconds(1).toMillis());
      assertEquals(List.of(), asked, "a gateway up before the controller started, and a worker, change nothing");

      members.startUp("gw-new", List.of(Roles.GATEWAY), ctl);
      TestMembers.await(Duration.ofSeconds(15), () -> asked.size() >= POOLS.size(), "the pools asked to look again");
      Thread.sleep(PoolsFollowGateways.SETTLE.plusSeconds(1).toMillis());
      assertEquals(POOLS, asked, "each pool once");
    }
  }
}
