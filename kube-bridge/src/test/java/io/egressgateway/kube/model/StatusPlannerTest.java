package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

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

  static final SgcStatus READY_BEFORE = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.of(ALLOC), ""), "t0");

  static StatusPlanner.Outcome rejected(String reason) {
    return new StatusPlanner.Outcome(2, Optional.of(new SpecValidation.Rejection(reason, "bad")), "", "", "", Optional.empty(), "");
  }

  /** The status before, the outcome of a pass, and the Accepted and Ready conditions the planner writes. */
  static Stream<Arguments> conditions() {
    Allocation noNodes = new Allocation("10.0.0.4", 6000, "20.0.0.0/31", Map.of());
    return Stream.of(
        Arguments.of("provisioned", SgcStatus.EMPTY, ok(1, Optional.of(ALLOC), ""), "True", "Valid", "True", "Provisioned",
            "egress through 20.0.0.0/31 on 1 gateway node(s)"),
        Arguments.of("waiting for Azure", SgcStatus.EMPTY, ok(1, Optional.empty(), ""), "True", "Valid", "False", "Provisioning",
            "waiting for the key pair and the Azure load balancer"),
        Arguments.of("failure with its message", SgcStatus.EMPTY, ok(1, Optional.empty(), "quota exceeded"), "True", "Valid", "False",
            "ProvisioningFailed", "quota exceeded"),
        Arguments.of("no gateway node yet", SgcStatus.EMPTY, ok(1, Optional.of(noNodes), ""), "True", "Valid", "False",
            "NoGatewayNodes", "no gateway node is provisioned for this configuration yet"),
        Arguments.of("rejected while serving: keeps serving", READY_BEFORE, rejected("InvalidExcludeCidr"), "False",
            "InvalidExcludeCidr", "True", "Provisioned", "still serving the last accepted spec"),
        Arguments.of("rejected before anything was provisioned", SgcStatus.EMPTY, rejected("InvalidExcludeCidr"), "False",
            "InvalidExcludeCidr", "False", "InvalidExcludeCidr", "the spec was not accepted"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void conditions(String what, SgcStatus before, StatusPlanner.Outcome outcome, String accepted, String acceptedReason,
      String ready, String readyReason, String readyMessage) {
    SgcStatus s = StatusPlanner.desired(before, outcome, "t1");
    SgcStatus.Condition a = s.condition(SgcStatus.ACCEPTED).orElseThrow();
    SgcStatus.Condition r = s.condition(SgcStatus.READY).orElseThrow();
    assertEquals(List.of(accepted, acceptedReason, ready, readyReason, readyMessage),
        List.of(a.status(), a.reason(), r.status(), r.reason(), r.message()));
    assertEquals(outcome.generation(), a.observedGeneration());
  }

  @Test
  void prefixGrantedFollowsTheGrantCheckAndIsAbsentWithoutOne() {
    SgcStatus plain = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.of(ALLOC), ""), "t1");
    assertTrue(plain.condition(SgcStatus.PREFIX_GRANTED).isEmpty(), "no check, no condition");

    PrefixGrants.Check yes = new PrefixGrants.Check(true, "granted by EgressPrefixGrant team-a");
    SgcStatus granted = StatusPlanner.desired(SgcStatus.EMPTY, ok(1, Optional.of(ALLOC), "").withGrant(yes), "t1");
    assertTrue(granted.isReady());
    SgcStatus.Condition g = granted.condition(SgcStatus.PREFIX_GRANTED).orElseThrow();
    assertTrue(g.isTrue());
    assertEquals("Granted", g.reason());

    // the grant is revoked: the spec is no longer accepted, what was provisioned keeps serving, and it says why
    PrefixGrants.Check no = new PrefixGrants.Check(false, "namespace apps is not granted");
    SgcStatus revoked = StatusPlanner.desired(granted, new StatusPlanner.Outcome(1,
        Optional.of(new SpecValidation.Rejection("PrefixNotGranted", no.message())), "", "", "", Optional.empty(), "")
        .withGrant(no), "t2");
    assertEquals("PrefixNotGranted", revoked.condition(SgcStatus.ACCEPTED).orElseThrow().reason());
    SgcStatus.Condition r = revoked.condition(SgcStatus.PREFIX_GRANTED).orElseThrow();
    assertFalse(r.isTrue());
    assertEquals("PrefixNotGranted", r.reason());
    assertEquals("t2", r.lastTransitionTime());
    assertTrue(revoked.isReady(), "still serving the last accepted spec");
    assertEquals(granted.egressIpPrefix(), revoked.egressIpPrefix());
    // unchanged outcome: equal status, so no write
    assertEquals(revoked, StatusPlanner.desired(revoked, new StatusPlanner.Outcome(1,
        Optional.of(new SpecValidation.Rejection("PrefixNotGranted", no.message())), "", "", "", Optional.empty(), "")
        .withGrant(no), "t3"));
  }
}
