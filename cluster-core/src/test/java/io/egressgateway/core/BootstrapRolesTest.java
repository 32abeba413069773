package io.egressgateway.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Only controllers may form a new cluster through Cluster Bootstrap; gateways and workers only join one. */
class BootstrapRolesTest {
  private static final String KEY = "akka.management.cluster.bootstrap.new-cluster-enabled";

  @Test
  void onlyControllersMayFormANewCluster() {
    try (TestMembers members = new TestMembers()) {
      EgressMember controller = members.start("c1", List.of(Roles.CONTROLLER), null);
      EgressMember gateway = members.start("g1", List.of(Roles.GATEWAY), null);
      EgressMember worker = members.start("w1", List.of(Roles.WORKER), null);
      assertTrue(controller.system().settings().config().getBoolean(KEY));
      assertFalse(gateway.system().settings().config().getBoolean(KEY));
      assertFalse(worker.system().settings().config().getBoolean(KEY));
    }
  }
}
