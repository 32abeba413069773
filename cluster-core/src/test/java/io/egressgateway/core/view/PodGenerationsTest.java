package io.egressgateway.core.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** What workers report of their pods' generations is counted on a controller, per configuration, never per pod. */
class PodGenerationsTest {

  @Test
  void workersReportTheControllerCountsAndIsToldWhichConfigurationsChanged() throws Exception {
    try (TestMembers members = new TestMembers()) {
      EgressMember controller = members.startUp("ctl", List.of(Roles.CONTROLLER), null);
      EgressMember w1 = members.startUp("w1", List.of(Roles.WORKER), controller);
      EgressMember w2 = members.startUp("w2", List.of(Roles.WORKER), controller);
      PodGenerations counted = PodGenerations.get(controller.system());
      List<Set<String>> changed = new CopyOnWriteArrayList<>();
      counted.subscribe(changed::add);

      PodGenerations.get(w1.system()).applied("w1/pod-a", "ns/gw", "uid-1", 1);
      PodGenerations.get(w1.system()).applied("w1/pod-b", "ns/gw", "uid-1", 2);
      PodGenerations.get(w2.system()).applied("w2/pod-c", "ns/gw", "uid-1", 2);
      PodGenerations.get(w2.system()).applied("w2/pod-d", "ns/other", "uid-9", 5);
      TestMembers.await(Duration.ofSeconds(10), () -> counted.count("ns/gw", "uid-1", 2).total() == 3,
          "both workers' reports reach the controller");
      assertEquals(new PodGenerations.Count(2, 3), counted.count("ns/gw", "uid-1", 2));
      assertEquals(new PodGenerations.Count(0, 0), counted.count("ns/gw", "uid-other", 2), "another object of that name");
      assertTrue(changed.stream().anyMatch(s -> s.contains("ns/gw")), "told that ns/gw changed");

      PodGenerations.get(w1.system()).applied("w1/pod-a", "ns/gw", "uid-1", 2);
      PodGenerations.get(w2.system()).gone("w2/pod-c");
      TestMembers.await(Duration.ofSeconds(10), () -> counted.count("ns/gw", "uid-1", 2).equals(new PodGenerations.Count(2, 2)),
          "a pod that followed and one that left are counted");
      assertTrue(counted.count("ns/gw", "uid-1", 2).upToDate());
      assertEquals(new PodGenerations.Count(1, 1), counted.count("ns/other", "uid-9", 5));
    }
  }
}
