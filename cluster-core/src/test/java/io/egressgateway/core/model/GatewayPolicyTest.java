package io.egressgateway.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Which configuration a pod egresses through: its annotation, else the oldest policy selecting it (then by name). */
class GatewayPolicyTest {
  static final LabelSelection ANY = new LabelSelection(Map.of(), List.of());
  static final LabelSelection BATCH = new LabelSelection(Map.of("app", "batch"), List.of());
  static final LabelSelection NOT_CANARY =
      new LabelSelection(Map.of(), List.of(new LabelSelection.Requirement("track", "NotIn", List.of("canary"))));

  /** The policies every row is decided against. */
  static final List<GatewayPolicy> POLICIES = List.of(
      new GatewayPolicy("batch", "u1", 2_000, List.of("data", "ml"), BATCH, "egress/gw-batch"),
      new GatewayPolicy("all-data", "u2", 3_000, List.of("data"), ANY, "egress/gw-data"),
      new GatewayPolicy("stable-ml", "u3", 2_000, List.of("ml"), NOT_CANARY, "egress/gw-ml"),
      // same age as stable-ml: the name decides ('a-ml' before 'stable-ml')
      new GatewayPolicy("a-ml", "u4", 2_000, List.of("ml"), new LabelSelection(Map.of("team", "a"), List.of()), "egress/gw-a"));

  @ParameterizedTest(name = "{0} labels [{1}] annotation [{2}] -> {3} by [{4}]")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      // namespace | labels              | annotation | config          | policy
      "data        | app=batch           | -          | egress/gw-batch | batch",     // two match: the older wins
      "data        | app=web             | -          | egress/gw-data  | all-data",
      "data        | app=batch           | mine       | data/mine       | ''",        // the annotation always wins
      "data        | app=web             | '  mine '  | data/mine       | ''",
      "data        | app=web             | '  '       | egress/gw-data  | all-data",  // a blank annotation asks for nothing
      "ml          | app=batch           | -          | egress/gw-batch | batch",     // older than stable-ml
      "ml          | app=web             | -          | egress/gw-ml    | stable-ml",
      "ml          | app=web,track=canary | -         | -               | -",          // NotIn excludes it
      "ml          | team=a              | -          | egress/gw-a     | a-ml",      // same age: by name
      "web         | app=batch           | -          | -               | -",          // namespace not selected
      "web         | app=batch           | gw         | web/gw          | ''",
  })
  void oneWinnerPerPod(String namespace, String labels, String annotation, String config, String policy) {
    var choice = GatewayPolicy.choose(namespace, labels(labels), annotation, POLICIES);
    assertEquals(config == null ? "none" : config, choice.map(GatewayPolicy.Choice::configKey).orElse("none"));
    assertEquals(policy == null ? "none" : policy, choice.map(GatewayPolicy.Choice::policy).orElse("none"));
    choice.ifPresent(c -> assertEquals(annotation != null && !annotation.isBlank(), c.annotated()));
  }

  @Test
  void theOrderOfThePoliciesGivenDoesNotMatter() {
    List<GatewayPolicy> reversed = new java.util.ArrayList<>(POLICIES);
    java.util.Collections.reverse(reversed);
    for (String l : List.of("app=batch", "team=a", "app=web")) {
      assertEquals(GatewayPolicy.choose("ml", labels(l), null, POLICIES), GatewayPolicy.choose("ml", labels(l), null, reversed), l);
    }
  }

  @Test
  void namespacesAreKeptSortedAndOnce() {
    GatewayPolicy p = new GatewayPolicy("p", null, 0, List.of("b", "a", "b"), null, "x/y");
    assertEquals(List.of("a", "b"), p.namespaces());
    assertEquals(ANY, p.podSelector(), "no pod selector: every pod of the namespaces");
  }

  @Test
  void survivesTheViewsSerialization() throws Exception {
    ObjectMapper cbor = new ObjectMapper(new CBORFactory());
    for (GatewayPolicy p : POLICIES) {
      assertEquals(p, cbor.readValue(cbor.writeValueAsBytes(p), GatewayPolicy.class));
    }
  }

  static Map<String, String> labels(String csv) {
    Map<String, String> m = new HashMap<>();
    Arrays.stream(csv.split(",")).filter(s -> s.contains("=")).forEach(s -> m.put(s.split("=")[0].trim(), s.split("=")[1].trim()));
    return m;
  }
}
