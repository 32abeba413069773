package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;

/** When a failover run replaces a killed member's pod instead of waiting out the runtime's back-off. */
class FailoverTest {
  private static ContainerStatus waiting(String name, String reason) {
    return new ContainerStatusBuilder().withName(name).withRestartCount(2).withNewState().withNewWaiting().withReason(reason)
        .endWaiting().endState().build();
  }

  private static Pod pod(ContainerStatus... statuses) {
    return new PodBuilder().withNewMetadata().withName("gw").endMetadata().withNewStatus().withContainerStatuses(statuses)
        .endStatus().build();
  }

  @Test
  void aMemberWaitingInCrashLoopBackOffIsHeldBack() {
    assertTrue(Failover.heldBack(pod(waiting("gateway", "CrashLoopBackOff")), "gateway"));
  }

  @Test
  void aFirstRestartIsNotHeldBack() {
    // the kubelet starts a container that ran long enough again at once: worth waiting for
    assertFalse(Failover.heldBack(pod(waiting("gateway", "ContainerCreating")), "gateway"));
    ContainerStatus running = new ContainerStatusBuilder().withName("gateway").withNewState().withNewRunning().endRunning()
        .endState().build();
    assertFalse(Failover.heldBack(pod(running), "gateway"));
  }

  @Test
  void onlyTheMemberContainerCounts() {
    assertFalse(Failover.heldBack(pod(waiting("sidecar", "CrashLoopBackOff")), "gateway"));
    assertFalse(Failover.heldBack(new PodBuilder().withNewMetadata().withName("gw").endMetadata().build(), "gateway"));
  }

  @Test
  void theKubeletsBackOffOutlastsWhatARunWaits() {
    // why the run does not wait: the 7th kill in a row of one pod (5 member runs, then node runs) waits 5 min
    assertTrue(PodWorker.restartDelay(7) > Failover.BACK_WITHIN.toMillis());
    assertTrue(PodWorker.restartDelay(2) < Failover.BACK_WITHIN.toMillis());
  }
}
