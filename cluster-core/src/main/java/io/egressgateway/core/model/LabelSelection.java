package io.egressgateway.core.model;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A Kubernetes label selector as a plain value: every {@code matchLabels} pair and every requirement must hold.
 * An empty selection matches everything, as in Kubernetes (a NetworkPolicy's empty namespaceSelector, say).
 */
public record LabelSelection(Map<String, String> matchLabels, List<Requirement> requirements) {
  private static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

  public LabelSelection {
    matchLabels = matchLabels == null ? Map.of() : Map.copyOf(matchLabels);
    requirements = requirements == null ? List.of() : List.copyOf(requirements);
  }

  /** One {@code matchExpressions} entry: {@code operator} is In, NotIn, Exists or DoesNotExist. */
  public record Requirement(String key, String operator, List<String> values) {
    public Requirement {
      key = key == null ? "" : key;
      operator = operator == null ? "" : operator;
      values = values == null ? List.of() : List.copyOf(values);
    }

    boolean matches(Map<String, String> labels) {
      String v = labels.get(key);
      return switch (operator) {
        case "In" -> v != null && values.contains(v);
        case "NotIn" -> v == null || !values.contains(v);
        case "Exists" -> v != null;
        case "DoesNotExist" -> v == null;
        default -> false;
      };
    }
  }

  public boolean matches(Map<String, String> labels) {
    Map<String, String> l = labels == null ? Map.of() : labels;
    return matchLabels.entrySet().stream().allMatch(e -> e.getValue().equals(l.get(e.getKey())))
        && requirements.stream().allMatch(r -> r.matches(l));
  }

  /** Why this selector is not one Kubernetes would accept (an unknown operator, values where none belong), if so. */
  public Optional<String> problem() {
    for (Requirement r : requirements) {
      if (r.key().isEmpty()) {
        return Optional.of("a matchExpressions entry has no key");
      }
      if (!OPERATORS.contains(r.operator())) {
        return Optional.of("matchExpressions operator " + quoted(r.operator())
            + " is not In, NotIn, Exists or DoesNotExist");
      }
      boolean needsValues = r.operator().equals("In") || r.operator().equals("NotIn");
      if (needsValues == r.values().isEmpty()) {
        return Optional.of("matchExpressions operator " + r.operator() + (needsValues ? " needs values" : " takes no values"));
      }
    }
    return Optional.empty();
  }

  /** A user's value as a message may show it: quoted, control characters escaped, at most 64 characters. */
  static String quoted(String value) {
    String v = value == null ? "" : value;
    StringBuilder out = new StringBuilder("'");
    v.codePoints().limit(64).forEach(cp -> {
      if (Character.isISOControl(cp)) {
        out.append(String.format("\\u%04x", cp));
      } else {
        out.appendCodePoint(cp);
      }
    });
    return out.append(v.codePointCount(0, v.length()) > 64 ? "...'" : "'").toString();
  }
}
