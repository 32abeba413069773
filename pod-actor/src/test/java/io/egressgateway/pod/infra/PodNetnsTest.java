package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** CNI_NETNS values the agent must refuse before doing anything in them, and one it must accept. */
class PodNetnsTest {
  private final PodNetns check = new PodNetns();

  @ParameterizedTest
  @ValueSource(strings = {
      "/var/run/netns/../../proc/1/ns/net",
      "/var/run/netns/./p",
      "/var/run/netns/..",
      "/run/netns/a/b",
      "/proc/1/ns/net",
      "/proc/self/ns/net",
      "/proc/1/root/var/run/netns/p",
      "/var/run/netns/p\nnetns exec x sh",
      "/var/run/netns/p q",
      "var/run/netns/p",
      "/tmp/p",
      "/var/run/netns/",
      ""})
  void pathTricksAndOtherPlacesAreRefused(String path) {
    Optional<String> problem = check.problem(path);
    assertTrue(problem.isPresent(), "accepted: " + path);
    assertEquals(1, problem.get().lines().count(), problem.get());
  }

  @Test
  void theAgentsOwnNamespaceIsRefusedUnderAnyName() {
    String own = "/proc/" + ProcessHandle.current().pid() + "/ns/net";
    Optional<String> problem = check.problem(own);
    assertTrue(problem.isPresent() && problem.get().contains("own network namespace"), problem.toString());
  }

  @Test
  void aMissingNamedNamespaceIsRefused() {
    assertTrue(check.problem("/var/run/netns/egt-none-" + UUID.randomUUID().toString().substring(0, 8))
        .orElseThrow().contains("does not exist"));
  }

  @Test
  @Tag("privileged")
  void aRealPodNamespaceIsAcceptedUnderBothPrefixes() throws Exception {
    String name = "egt-podns-" + UUID.randomUUID().toString().substring(0, 8);
    Process add = new ProcessBuilder(List.of("ip", "netns", "add", name)).inheritIO().start();
    assertEquals(0, add.waitFor(), "ip netns add (needs root)");
    try {
      assertEquals(Optional.empty(), check.problem("/var/run/netns/" + name));
      assertEquals(Optional.empty(), check.problem("/run/netns/" + name));
    } finally {
      new ProcessBuilder(List.of("ip", "netns", "delete", name)).inheritIO().start().waitFor();
    }
  }
}
