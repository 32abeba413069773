package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.model.LabelSelection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class PrefixGrantsTest {
  static final String P1 = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/p1";
  static final String P2 = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/p2";

  static final PrefixGrants GRANTS = new PrefixGrants(List.of(
      new PrefixGrants.Grant("team-a", List.of(P1), List.of("team-a", "team-a-staging")),
      new PrefixGrants.Grant("shared", List.of(P1, P2), List.of("shared"))), List.of());

  @ParameterizedTest(name = "{0} may use {1}: {2}")
  @CsvSource({
      "team-a,         p1, true",
      "team-a-staging, p1, true",
      "team-a,         p2, false",
      "shared,         p1, true",
      "shared,         p2, true",
      "team-b,         p1, false",
      "TEAM-A,         p1, false",
      "team,           p1, false",
  })
  void aNamespaceMayUseExactlyTheGrantedPrefixes(String namespace, String prefix, boolean granted) {
    String id = prefix.equals("p1") ? P1 : P2;
    assertEquals(granted, GRANTS.check(namespace, id).granted(), namespace + " " + prefix);
  }

  @Test
  void prefixIdsCompareWithoutCaseAsAzureDoes() {
    assertTrue(GRANTS.check("team-a", P1.toLowerCase()).granted());
    assertTrue(GRANTS.check("team-a", P1.toUpperCase()).granted());
  }

  @Test
  void withoutAnyGrantNothingIsGranted() {
    PrefixGrants.Check c = PrefixGrants.NONE.check("team-a", P1);
    assertFalse(c.granted());
    assertTrue(c.message().contains("namespace team-a is not granted publicIpPrefixId '" + P1 + "'"), c.message());
  }

  @Test
  void theMessageNamesTheGrantsOrTheIgnoredOnes() {
    assertEquals("publicIpPrefixId is granted to namespace shared by EgressPrefixGrant shared",
        GRANTS.check("shared", P2).message());
    PrefixGrants both = new PrefixGrants(List.of(GRANTS.grants().get(0),
        new PrefixGrants.Grant("also-a", List.of(P1), List.of("team-a"))), List.of());
    assertTrue(both.check("team-a", P1).message().endsWith("by EgressPrefixGrant also-a, team-a"));
    PrefixGrants broken = new PrefixGrants(List.of(), List.of("team-b: spec.namespaces is empty"));
    PrefixGrants.Check c = broken.check("team-b", P1);
    assertFalse(c.granted());
    assertTrue(c.message().endsWith("ignored as malformed: team-b: spec.namespaces is empty"), c.message());
  }

  @Test
  void aRefusalRejectsTheSpecAndAGrantDoesNot() {
    SgcSpec spec = new SgcSpec("gwpool", null, null, true, P1, List.of());
    assertEquals("PrefixNotGranted",
        SpecValidation.validate(spec.granted(GRANTS.check("team-b", P1))).orElseThrow().reason());
    assertTrue(SpecValidation.validate(spec.granted(GRANTS.check("team-a", P1))).isEmpty());
    assertTrue(SpecValidation.validate(spec).isEmpty(), "not checked (grants not enforced): accepted");
    // a refused grant is named before a conflict: the namespace may not use the prefix at all
    assertEquals("PrefixNotGranted", SpecValidation.validate(
        spec.conflicting("in use elsewhere").granted(GRANTS.check("team-b", P1))).orElseThrow().reason());
  }

  @Test
  void aSelectorGrantsTheNamespacesWhoseLabelsMatch() {
    LabelSelection teamA = new LabelSelection(Map.of("team", "a"),
        List.of(new LabelSelection.Requirement("env", "NotIn", List.of("sandbox"))));
    PrefixGrants byLabel = new PrefixGrants(List.of(new PrefixGrants.Grant("labelled", List.of(P1), List.of(), teamA)), List.of());
    assertTrue(byLabel.check("anything", Map.of("team", "a"), P1).granted());
    assertTrue(byLabel.check("anything", Map.of("team", "a", "env", "prod"), P1).granted());
    assertFalse(byLabel.check("anything", Map.of("team", "a", "env", "sandbox"), P1).granted());
    assertFalse(byLabel.check("anything", Map.of("team", "b"), P1).granted());
    assertFalse(byLabel.check("anything", Map.of(), P1).granted());
    assertFalse(byLabel.check("anything", Map.of("team", "a"), P2).granted(), "only the prefixes listed");
    PrefixGrants everyone = new PrefixGrants(List.of(
        new PrefixGrants.Grant("all", List.of(P2), List.of(), new LabelSelection(Map.of(), List.of()))), List.of());
    assertTrue(everyone.check("any", Map.of(), P2).granted(), "an empty selector selects every namespace");
    PrefixGrants none = new PrefixGrants(List.of(new PrefixGrants.Grant("names-only", List.of(P2), List.of("x"))), List.of());
    assertFalse(none.check("y", Map.of("team", "a"), P2).granted(), "no selector selects nothing");
  }

  @ParameterizedTest(name = "{0} {1} [{2}]: {3}")
  @CsvSource(delimiter = '|', value = {
      "env | In           | a      | ",
      "env | In           |        | matchExpressions operator In needs values",
      "env | NotIn        |        | matchExpressions operator NotIn needs values",
      "env | Exists       |        | ",
      "env | Exists       | a      | matchExpressions operator Exists takes no values",
      "env | DoesNotExist | a      | matchExpressions operator DoesNotExist takes no values",
      "env | Equals       | a      | matchExpressions operator 'Equals' is not In, NotIn, Exists or DoesNotExist",
      "    | In           | a      | a matchExpressions entry has no key",
  })
  void aSelectorKubernetesWouldRejectIsNamed(String key, String operator, String value, String problem) {
    LabelSelection s = new LabelSelection(Map.of(),
        List.of(new LabelSelection.Requirement(key, operator, value == null ? List.of() : List.of(value))));
    assertEquals(problem == null ? "" : problem, s.problem().orElse(""));
  }
}
