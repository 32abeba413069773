package io.egressgateway.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.discovery.ServiceDiscovery.ResolvedTarget;
import io.egressgateway.core.bootstrap.ControllersFormJoinDecider;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Only controllers may form a new cluster through Cluster Bootstrap; gateways and workers only join one, and
 * the lowest-address rule looks at controllers only.
 */
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
      // each tells a contact point's prober what it is
      assertEquals("controller\n", get(controller.managementUrl() + "egress/roles"));
      assertEquals("gateway\n", get(gateway.managementUrl() + "egress/roles"));
      assertEquals("akka.management.cluster.bootstrap.LowestAddressJoinDecider",
          ControllersFormJoinDecider.class.getSuperclass().getName());
      assertEquals(ControllersFormJoinDecider.class.getName(),
          controller.system().settings().config().getString("akka.management.cluster.bootstrap.join-decider.class"));
    }
  }

  /** Gateways and workers, often at lower addresses (their nodes'), are never taken for the member that forms the cluster. */
  @Test
  void theLowestControllerFormsAndAnUnknownContactPointCountsAsOne() {
    ResolvedTarget worker = target("10.224.0.4");
    ResolvedTarget gateway = target("10.224.1.4");
    ResolvedTarget controllerA = target("10.244.1.2");
    ResolvedTarget controllerB = target("10.244.2.2");
    List<ResolvedTarget> all = List.of(controllerB, gateway, worker, controllerA);
    Map<ResolvedTarget, Boolean> roles = Map.of(worker, false, gateway, false, controllerA, true, controllerB, true);
    assertEquals(Optional.of(controllerA), ControllersFormJoinDecider.lowestPossibleController(all,
        t -> Optional.ofNullable(roles.get(t))));
    // the worker's answer has not come yet: it might be a controller, so nobody forms until it has
    assertEquals(Optional.of(worker), ControllersFormJoinDecider.lowestPossibleController(all,
        t -> t == worker ? Optional.empty() : Optional.ofNullable(roles.get(t))));
    assertEquals(Optional.empty(), ControllersFormJoinDecider.lowestPossibleController(List.of(worker, gateway),
        t -> Optional.ofNullable(roles.get(t))));
  }

  private static ResolvedTarget target(String ip) {
    try {
      return akka.discovery.ServiceDiscovery.ResolvedTarget$.MODULE$.apply(ip, scala.Option.empty(),
          scala.Option.apply(java.net.InetAddress.getByName(ip)));
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String get(String url) {
    try {
      var client = java.net.http.HttpClient.newHttpClient();
      return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
