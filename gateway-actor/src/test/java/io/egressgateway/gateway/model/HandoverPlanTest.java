package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HandoverPlanTest {
  static final long NOW = 1_000_000;

  static ConfigSample sample(String uid, ConfigSample.Peer... peers) {
    return new ConfigSample(uid, List.of(peers), 0, 0);
  }

  @Test
  void onlyPeersWithALiveSessionAndAKnownOwnerAreNamedToTheirNode() {
    Map<String, Map<String, String>> owners = Map.of(
        "u1", Map.of("k-fresh", "worker-1", "k-old", "worker-1", "k-never", "worker-2", "k-other", "worker-2"),
        "u2", Map.of("k-second", "worker-1"));
    Map<String, ConfigSample> samples = Map.of(
        "u1", sample("u1",
            new ConfigSample.Peer("k-fresh", NOW - 5, 100, 100),
            new ConfigSample.Peer("k-old", NOW - 180, 100, 100), // its session ran out
            new ConfigSample.Peer("k-never", 0, 0, 0), // never handshook here: its pod's session is elsewhere
            new ConfigSample.Peer("k-other", NOW - 179, 0, 0),
            new ConfigSample.Peer("k-unowned", NOW - 1, 10, 10)), // no owner known: left to the watchdog
        "u2", sample("u2", new ConfigSample.Peer("k-second", NOW - 60, 1, 1)));

    Map<String, List<String>> plan = HandoverPlan.byNode(owners, samples, NOW);

    assertEquals(Map.of("worker-1", List.of("k-fresh", "k-second"), "worker-2", List.of("k-other")), plan);
  }

  @Test
  void noSessionsNoPlan() {
    assertEquals(Map.of(), HandoverPlan.byNode(Map.of("u1", Map.of("k", "worker-1")),
        Map.of("u1", sample("u1", new ConfigSample.Peer("k", 0, 0, 0))), NOW));
    assertEquals(Map.of(), HandoverPlan.byNode(Map.of(), Map.of(), NOW));
  }
}
