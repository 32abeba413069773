package io.egressgateway.pod.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SmallModelTest {

  @Test
  void deviceNamesAreShortAndStable() {
    assertEquals(DeviceNames.forContainer("ABCDEF0123456789"), DeviceNames.forContainer("ABCDEF0123456789"), "stable");
    assertTrue(DeviceNames.forContainer("ab-12_cd:34ef").matches("wg[0-9a-f]{12}"));
    assertEquals(14, DeviceNames.forContainer("0123456789abcdef0123").length());
    // ids that differ only at the end (sequential uids) must not collide
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      names.add(DeviceNames.forContainer(String.format("00000000-0000-0000-0000-%012x", i)));
    }
    assertEquals(10_000, names.size());
    assertThrows(IllegalArgumentException.class, () -> DeviceNames.forContainer("a"));
  }

  @Test
  void cniArgsAndPodAnnotation() {
    Map<String, String> args = CniCall.parseArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;junk;K8S_POD_UID=u-1");
    CniCall c = new CniCall("ADD", "c", "/n", "eth0", args, null, null, null, null, null);
    assertEquals("ns", c.podNamespace());
    assertEquals("web", c.podName());
    assertEquals("u-1", c.podUid());
    assertEquals("1.0.0", c.cniVersion());
    assertEquals(Optional.of("ns/gw1"), new PodInfo("ns", "web", "u", Map.of(PodInfo.GATEWAY_ANNOTATION, " gw1 ")).gatewayConfigKey());
    assertEquals(Optional.empty(), new PodInfo("ns", "web", "u", Map.of("other", "x")).gatewayConfigKey());
  }

  @Test
  void firstSuccessWinsOverSilenceAndFailure() throws Exception {
    Map<String, CompletionStage<?>> attempts = new LinkedHashMap<>();
    attempts.put("gw1", new CompletableFuture<>());
    attempts.put("gw2", CompletableFuture.failedFuture(new IllegalStateException("down")));
    attempts.put("gw3", CompletableFuture.completedFuture(null));
    assertEquals(java.util.List.of("gw3"), FirstSuccess.await(attempts, Duration.ofSeconds(5), Duration.ofMillis(100)).get(2, TimeUnit.SECONDS),
        "a silent gateway costs only the grace, not the limit");
  }

  @Test
  void allConfirmationsAreCollectedWhenTheyArriveWithinTheGrace() throws Exception {
    Map<String, CompletionStage<?>> attempts = new LinkedHashMap<>();
    CompletableFuture<Void> late = new CompletableFuture<>();
    attempts.put("gw1", CompletableFuture.completedFuture(null));
    attempts.put("gw2", late);
    CompletableFuture<java.util.List<String>> r = FirstSuccess.await(attempts, Duration.ofSeconds(5), Duration.ofSeconds(2));
    late.complete(null);
    assertEquals(java.util.List.of("gw1", "gw2"), r.get(1, TimeUnit.SECONDS));
  }

  @Test
  void firstSuccessFailsWithReasonsWhenAllFailOrTimeOut() {
    Map<String, CompletionStage<?>> failing = Map.of("gw1", CompletableFuture.failedFuture(new IllegalStateException("refused")));
    ExecutionException e = assertThrows(ExecutionException.class, () -> FirstSuccess.await(failing, Duration.ofSeconds(5), Duration.ZERO).get(1, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("gw1: refused"), e.getCause().getMessage());

    Map<String, CompletionStage<?>> silent = Map.of("gw1", new CompletableFuture<>());
    ExecutionException t = assertThrows(ExecutionException.class, () -> FirstSuccess.await(silent, Duration.ofMillis(100), Duration.ZERO).get(2, TimeUnit.SECONDS));
    assertTrue(t.getCause().getMessage().contains("within 100 ms"), t.getCause().getMessage());
  }
}
