package io.egressgateway.app.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class PoolsFollowGatewaysTest {
  static final List<String> POOLS = List.of("nodepool:gwpool", "vmss:rg/other");

  /**
   * Each look names the gateways that caused it (its log line): the one look after a gateway joined names
   * only that gateway, so neither the gateway up before the controller nor the worker caused or joined one.
   * A second gateway joining later is the sentinel: its look comes after any look the first join made.
   */
  @Test
  void aGatewayJoiningAfterTheControllerMakesEveryPoolLookAgainOtherMembersDoNot() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(PoolsFollowGateways.class);
    ListAppender<ILoggingEvent> looks = new ListAppender<>();
    looks.start();
    logger.addAppender(looks);
    ch.qos.logback.classic.Level level = logger.getLevel();
    logger.setLevel(ch.qos.logback.classic.Level.INFO);
    try (TestMembers members = new TestMembers()) {
      EgressMember gwOld = members.startUp("gw-old", List.of(Roles.GATEWAY), null);
      EgressMember ctl = members.startUp("ctl", List.of(Roles.CONTROLLER), gwOld);
      List<String> asked = new CopyOnWriteArrayList<>();
      PoolsFollowGateways.start(ctl.system(), () -> CompletableFuture.completedFuture(POOLS), asked::add);

      members.startUp("worker-1", List.of(Roles.WORKER), ctl);
      members.startUp("gw-new", List.of(Roles.GATEWAY), ctl);
      TestMembers.await(Duration.ofSeconds(15), () -> asked.size() >= POOLS.size(), "the pools asked to look again");
      members.startUp("gw-newer", List.of(Roles.GATEWAY), ctl);
      TestMembers.await(Duration.ofSeconds(15), () -> asked.size() >= 2 * POOLS.size(), "the pools asked again");

      assertEquals(List.of(Set.of("gw-new"), Set.of("gw-newer")), joinedPerLook(looks),
          "a gateway up before the controller started, and a worker, change nothing");
      List<String> twice = new ArrayList<>(POOLS);
      twice.addAll(POOLS);
      assertEquals(twice, asked, "each pool once per look");
    } finally {
      logger.detachAppender(looks);
      logger.setLevel(level);
    }
  }

  /** The gateways each look named, in order. */
  private static List<Object> joinedPerLook(ListAppender<ILoggingEvent> looks) {
    return looks.list.stream().filter(e -> e.getMessage().startsWith("gateway member(s) {} joined"))
        .map(e -> e.getArgumentArray()[0]).toList();
  }
}
