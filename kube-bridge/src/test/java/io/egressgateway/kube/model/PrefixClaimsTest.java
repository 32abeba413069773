package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrefixClaimsTest {
  static final String P = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/p";

  static PrefixClaims.Claim claim(String key, String prefix, String created, boolean deleting) {
    return new PrefixClaims.Claim(key, prefix, created, deleting, false);
  }

  @Test
  void theOldestLiveClaimOwnsThePrefix() {
    var conflicts = PrefixClaims.conflicts(List.of(
        claim("b/young", P, "2026-01-02T00:00:00Z", false),
        claim("a/old", P, "2026-01-01T00:00:00Z", false),
        claim("c/upper", P.toUpperCase(), "2026-01-03T00:00:00Z", false),
        claim("d/other", P + "2", "2026-01-01T00:00:00Z", false),
        claim("e/managed", "", "2025-01-01T00:00:00Z", false)));
    assertEquals(List.of("b/young", "c/upper"), conflicts.keySet().stream().sorted().toList());
    assertEquals(true, conflicts.get("b/young").contains("a/old"));
  }

  @Test
  void aClaimBeingDeletedOwnsNothingAndTiesGoByName() {
    assertEquals(Map.of(), PrefixClaims.conflicts(List.of(
        claim("a/old", P, "2026-01-01T00:00:00Z", true),
        claim("b/young", P, "2026-01-02T00:00:00Z", false))));
    var tie = PrefixClaims.conflicts(List.of(
        claim("x/second", P, "2026-01-01T00:00:00Z", false),
        claim("x/first", P, "2026-01-01T00:00:00Z", false)));
    assertEquals(List.of("x/second"), List.copyOf(tie.keySet()));
  }

  @Test
  void aTieOfCreationTimesGoesToTheClaimAlreadyHoldingThePrefix() {
    // creation times have whole seconds: a new SGC written in the same second as the holder never takes its prefix
    var tie = PrefixClaims.conflicts(List.of(
        new PrefixClaims.Claim("x/holder", P, "2026-01-01T00:00:00Z", false, true),
        claim("a/newcomer", P, "2026-01-01T00:00:00Z", false)));
    assertEquals(List.of("a/newcomer"), List.copyOf(tie.keySet()));
    // an older claim still wins over a holder (the owner is the oldest; holding only breaks ties)
    var older = PrefixClaims.conflicts(List.of(
        new PrefixClaims.Claim("x/holder", P, "2026-01-02T00:00:00Z", false, true),
        claim("a/older", P, "2026-01-01T00:00:00Z", false)));
    assertEquals(List.of("x/holder"), List.copyOf(older.keySet()));
  }
}
