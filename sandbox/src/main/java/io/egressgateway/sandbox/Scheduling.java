package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.NodeSelectorTerm;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.Toleration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.ToIntFunction;

/**
 * The scheduler's filters, as the sandbox applies them to a pod spec and a node: {@code nodeSelector},
 * {@code requiredDuringSchedulingIgnoredDuringExecution} node affinity (terms ORed, expressions ANDed;
 * {@code In}, {@code NotIn}, {@code Exists}, {@code DoesNotExist}, {@code Gt}, {@code Lt}), and tolerations
 * against the node's {@code NoSchedule} and {@code NoExecute} taints. Preferred (soft) rules are not
 * scored; a Deployment's replicas go to the fitting node that runs the fewest of them, which is what the
 * chart's preferred anti-affinity by host name asks for.
 */
final class Scheduling {
  private Scheduling() {}

  /** Whether a pod with {@code spec} may run on {@code node}; empty when it may, else why not. */
  static Optional<String> misfit(PodSpec spec, Node node) {
    Map<String, String> labels = node.getMetadata().getLabels() == null ? Map.of() : node.getMetadata().getLabels();
    if (spec.getNodeSelector() != null) {
      for (var e : spec.getNodeSelector().entrySet()) {
        if (!Objects.equals(labels.get(e.getKey()), e.getValue())) {
          return Optional.of("node selector " + e.getKey() + "=" + e.getValue());
        }
      }
    }
    var affinity = spec.getAffinity() == null || spec.getAffinity().getNodeAffinity() == null ? null
        : spec.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution();
    if (affinity != null && affinity.getNodeSelectorTerms() != null && !affinity.getNodeSelectorTerms().isEmpty()
        && affinity.getNodeSelectorTerms().stream().noneMatch(t -> termMatches(t, node))) {
      return Optional.of("required node affinity");
    }
    List<Taint> taints = node.getSpec() == null || node.getSpec().getTaints() == null ? List.of() : node.getSpec().getTaints();
    for (Taint t : taints) {
      if (("NoSchedule".equals(t.getEffect()) || "NoExecute".equals(t.getEffect()))
          && (spec.getTolerations() == null || spec.getTolerations().stream().noneMatch(tol -> tolerates(tol, t)))) {
        return Optional.of("untolerated taint " + t.getKey() + "=" + Objects.toString(t.getValue(), "") + ":" + t.getEffect());
      }
    }
    return Optional.empty();
  }

  static boolean fits(PodSpec spec, Node node) {
    return misfit(spec, node).isEmpty();
  }

  /** The fitting node with the fewest pods by {@code load}, ties by name; empty when none fits. */
  static Optional<Node> leastLoaded(PodSpec spec, List<Node> nodes, ToIntFunction<Node> load) {
    return nodes.stream().filter(n -> fits(spec, n))
        .min(Comparator.comparingInt(load).thenComparing(n -> n.getMetadata().getName()));
  }

  static boolean tolerates(Toleration tol, Taint taint) {
    if (tol.getEffect() != null && !tol.getEffect().isEmpty() && !tol.getEffect().equals(taint.getEffect())) {
      return false;
    }
    if (tol.getKey() == null || tol.getKey().isEmpty()) {
      // an empty key with Exists tolerates everything
      return "Exists".equals(tol.getOperator());
    }
    if (!tol.getKey().equals(taint.getKey())) {
      return false;
    }
    if ("Exists".equals(tol.getOperator())) {
      return true;
    }
    return Objects.equals(Objects.toString(tol.getValue(), ""), Objects.toString(taint.getValue(), ""));
  }

  private static boolean termMatches(NodeSelectorTerm term, Node node) {
    Map<String, String> labels = node.getMetadata().getLabels() == null ? Map.of() : node.getMetadata().getLabels();
    boolean any = false;
    if (term.getMatchExpressions() != null) {
      for (NodeSelectorRequirement r : term.getMatchExpressions()) {
        any = true;
        if (!requirementMatches(r, labels.get(r.getKey()))) {
          return false;
        }
      }
    }
    if (term.getMatchFields() != null) {
      for (NodeSelectorRequirement r : term.getMatchFields()) {
        any = true;
        String value = "metadata.name".equals(r.getKey()) ? node.getMetadata().getName() : null;
        if (!requirementMatches(r, value)) {
          return false;
        }
      }
    }
    // a term without requirements matches no node
    return any;
  }

  private static boolean requirementMatches(NodeSelectorRequirement r, String value) {
    List<String> values = r.getValues() == null ? List.of() : r.getValues();
    return switch (r.getOperator()) {
      case "In" -> value != null && values.contains(value);
      case "NotIn" -> value == null || !values.contains(value);
      case "Exists" -> value != null;
      case "DoesNotExist" -> value == null;
      case "Gt" -> compare(value, values) > 0;
      case "Lt" -> compare(value, values) < 0;
      default -> false;
    };
  }

  /** The label value against the one number of a Gt/Lt requirement; 0 (neither) when either is not a number. */
  private static int compare(String value, List<String> values) {
    if (value == null || values.size() != 1) {
      return 0;
    }
    try {
      return Long.compare(Long.parseLong(value.trim()), Long.parseLong(values.get(0).trim()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
