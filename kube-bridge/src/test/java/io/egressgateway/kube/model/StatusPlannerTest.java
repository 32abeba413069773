package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusPlannerTest {
  static final Allocation ALLOC = new Allocation("10.0.0.4", 6000, "20.0.0.0/31",
      Map.of("gw-1", new Allocation.NodeIps("10.1.0.1", "10.2.0.1")));

  static StatusPlanner.Outcome ok(long gen, Optional<Allocation> a, String error) {
    return new StatusPlanner.Outcome(gen, Optional.empty(), "pub", "sgw-u", "egress-system", a, error);
  }

  @Test
  void provisionedIsReadyWithEveryUpstreamField() {
    SgcStatus s = StatusPlanner.desired(SgcStatus.EMPTY, ok(3, Optional.of(ALLOC), ""), "t1");
    assertTrue(s.isReady());
    assertTrue(s.condition(SgcStatus.ACCEPTED).orElseThrow().isTrue());
    assertEquals("20.0.0.0/31", s.egressIpPrefix());
    assertEquals("10.0.0.4", s.ilbIp());
    assertEquals(6000, s.port());
    assertEquals("pub", s.publicKey());
    assertEquals("sgw-u", s.secretName());
    assertEquals(3, s.observedGeneration());
    assertEquals("10.2.0.1", s.gatewayProfiles().get(0).secondaryIp());
  }

  @Test
  void unchangedOutcomeGivesAnEqualStatusSoNothingIsWritten() {
    SgcStatus first = StatusPlanner.desired(SgcStatus.EMPTY, ok(3, Optional.of(ALLOC), ""), "t1");
    assertEquals(first, StatusPlanner.desired(first, ok(3, Optional.of(ALLOC), ""), "t2"));
  }

  @Test
  void gatewayProfilesAreOrderedByNodeWhateverTheMapOrder() {
    Map<String, Allocation.NodeIps> nodes = new java.util.LinkedHashMap<>();
    nodes.put("gw-2", new Allocation.NodeIps("a", "b"));
    nodes.put("gw-1", new Allocation.NodeIps("c", "d"));
    nodes.put("gw-10", new Allocation.NodeIps("e", "f"));
    SgcStatus s = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.of(new Allocation("i", 6000, "p", nodes)), ""), "t");
    assertEquals(java.util.List.of("gw-1", "gw-10", "gw-2"),
        s.gatewayProfiles().stream().map(SgcStatus.NodeProfile::nodeName).toList());
  }

  @Test
  void transitionTimeMovesOnlyWhenTheConditionFlips() {
    SgcStatus pending = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.empty(), ""), "t1");
    assertFalse(pending.isReady());
    assertEquals("Provisioning", pending.condition(SgcStatus.READY).orElseThrow().reason());
    SgcStatus ready = StatusPlanner.desired(pending, ok(1, Optional.of(ALLOC), ""), "t2");
    assertEquals("t2", ready.condition(SgcStatus.READY).orElseThrow().lastTransitionTime());
    assertEquals("t1", ready.condition(SgcStatus.ACCEPTED).orElseThrow().lastTransitionTime());
  }

  @Test
  void rejectionKeepsWhatWasProvisioned() {
    SgcStatus ready = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.of(ALLOC), ""), "t1");
    SgcStatus rejected = StatusPlanner.desired(ready, new StatusPlanner.Outcome(2,
        Optional.of(new SpecValidation.Rejection("InvalidExcludeCidr", "bad")), "", "", "", Optional.empty(), ""), "t2");
    SgcStatus.Condition accepted = rejected.condition(SgcStatus.ACCEPTED).orElseThrow();
    assertFalse(accepted.isTrue());
    assertEquals("InvalidExcludeCidr", accepted.reason());
    assertEquals(2, accepted.observedGeneration());
    assertEquals(ready.egressIpPrefix(), rejected.egressIpPrefix());
    assertEquals(ready.port(), rejected.port());
    assertEquals(ready.publicKey(), rejected.publicKey());
    assertTrue(rejected.isReady(), "the last accepted spec keeps serving");
  }

  @Test
  void failureIsReportedWithItsMessage() {
    SgcStatus s = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.empty(), "quota exceeded"), "t1");
    assertEquals("ProvisioningFailed", s.condition(SgcStatus.READY).orElseThrow().reason());
    assertEquals("quota exceeded", s.condition(SgcStatus.READY).orElseThrow().message());
  }
}
