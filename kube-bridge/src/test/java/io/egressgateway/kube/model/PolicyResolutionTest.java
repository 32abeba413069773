package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.egressgateway.core.model.LabelSelection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What each kind of policy resolves to: published or not, and the status it shows. */
class PolicyResolutionTest {
  static final Map<String, Map<String, String>> NAMESPACES = Map.of(
      "a", Map.of("team", "x"), "b", Map.of("team", "x"), "c", Map.of());
  static final Set<String> CONFIGS = Set.of("egress/gw");

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // case               | ns selector | pod op | config     | published | namespaces | accepted | reason
      "team x               | team=x      | In     | egress/gw  | true      | 2          | true     | Resolved",
      "every namespace      | *           | In     | egress/gw  | true      | 3          | true     | Resolved",
      "no namespace matches | team=y      | In     | egress/gw  | true      | 0          | true     | Resolved",
      "missing config       | team=x      | In     | egress/no  | true      | 2          | false    | GatewayConfigurationNotFound",
      "no ns selector       | -           | In     | egress/gw  | false     | 0          | false    | Malformed",
      "bad pod operator     | team=x      | Near   | egress/gw  | false     | 0          | false    | Malformed",
      "no config            | team=x      | In     | -          | false     | 0          | false    | Malformed",
  })
  void resolves(String name, String nsSelector, String podOperator, String config, boolean published, int namespaces,
      boolean accepted, String reason) {
    LabelSelection ns = nsSelector.equals("-") ? null
        : nsSelector.equals("*") ? new LabelSelection(Map.of(), List.of())
        : new LabelSelection(Map.of(nsSelector.split("=")[0], nsSelector.split("=")[1]), List.of());
    LabelSelection pods = new LabelSelection(Map.of(),
        List.of(new LabelSelection.Requirement("app", podOperator, List.of("batch"))));
    var c = new PolicyResolution.Candidate("p", "uid", 3, 1000, ns, pods, config.equals("-") ? null : config, "");
    PolicyResolution.Resolved r = PolicyResolution.resolve(List.of(c), NAMESPACES, CONFIGS).get(0);
    assertEquals(published, r.published() != null);
    assertEquals(namespaces, r.status().selectedNamespaces());
    assertEquals(accepted, r.status().accepted());
    assertEquals(reason, r.status().reason());
    assertEquals(3, r.status().observedGeneration());
    if (published) {
      assertEquals(namespaces, r.published().namespaces().size());
    }
  }

  @org.junit.jupiter.api.Test
  void anUnreadablePolicySaysWhy() {
    var c = PolicyResolution.Candidate.malformed("p", "uid", 1, 0, "its spec could not be read: bad");
    PolicyResolution.Resolved r = PolicyResolution.resolve(List.of(c), NAMESPACES, CONFIGS).get(0);
    assertNull(r.published());
    assertEquals("the policy selects no pod: its spec could not be read: bad", r.status().message());
  }
}
