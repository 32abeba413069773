package io.egressgateway.kube.model;

import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.model.LabelSelection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What the controllers make of the {@code EgressGatewayPolicy} objects: for each, the {@link GatewayPolicy} the nodes
 * get (its namespace selector resolved against the namespaces' labels) and the status it shows. Pure.
 *
 * <ul>
 *   <li>A policy that cannot be read (no namespace selector, an invalid selector, no configuration) selects nothing:
 *       it is not published, and says why ({@code Accepted=False}, reason {@value #MALFORMED}).
 *   <li>A policy naming a configuration that does not exist (or is being deleted) is still published, so the pods it
 *       selects fail closed as an annotated pod does (their CNI ADD fails; a running pod keeps what it has), and says
 *       so ({@code Accepted=False}, reason {@value #NOT_FOUND}); it takes effect once the configuration appears.
 * </ul>
 */
public final class PolicyResolution {
  public static final String ACCEPTED = "Accepted";
  public static final String MALFORMED = "Malformed";
  public static final String NOT_FOUND = "GatewayConfigurationNotFound";
  public static final String RESOLVED = "Resolved";

  private PolicyResolution() {}

  /**
   * One policy object as read. {@code problem} is non-empty when it could not be read; then the selectors and the key
   * may be null.
   */
  public record Candidate(String name, String uid, long generation, long createdAt, LabelSelection namespaceSelector,
      LabelSelection podSelector, String configKey, String problem) {
    public Candidate {
      Objects.requireNonNull(name, "name");
      problem = problem == null ? "" : problem;
    }

    public static Candidate malformed(String name, String uid, long generation, long createdAt, String problem) {
      return new Candidate(name, uid, generation, createdAt, null, null, null, problem);
    }
  }

  /** The status a policy should show. */
  public record Status(long observedGeneration, String configuration, int selectedNamespaces, boolean accepted,
      String reason, String message) {}

  /** One policy's outcome: {@code published} is null when nothing is published for it. */
  public record Resolved(String name, GatewayPolicy published, Status status) {}

  /**
   * @param namespaces namespace name to its labels, every namespace there is
   * @param configs    {@code namespace/name} of every StaticGatewayConfiguration not being deleted
   */
  public static List<Resolved> resolve(Collection<Candidate> candidates, Map<String, Map<String, String>> namespaces,
      Set<String> configs) {
    List<Resolved> out = new ArrayList<>();
    for (Candidate c : candidates) {
      String problem = c.problem();
      if (problem.isEmpty() && c.namespaceSelector() == null) {
        problem = "spec.namespaceSelector is not set (write {} to select every namespace)";
      }
      if (problem.isEmpty() && (c.configKey() == null || c.configKey().isBlank())) {
        problem = "spec.gatewayConfiguration needs a namespace and a name";
      }
      if (problem.isEmpty()) {
        problem = c.namespaceSelector().problem().map(p -> "spec.namespaceSelector: " + p).orElse("");
      }
      if (problem.isEmpty() && c.podSelector() != null) {
        problem = c.podSelector().problem().map(p -> "spec.podSelector: " + p).orElse("");
      }
      String key = c.configKey() == null ? "" : c.configKey();
      if (!problem.isEmpty()) {
        out.add(new Resolved(c.name(), null,
            new Status(c.generation(), key, 0, false, MALFORMED, "the policy selects no pod: " + problem)));
        continue;
      }
      List<String> selected = namespaces.entrySet().stream()
          .filter(e -> c.namespaceSelector().matches(e.getValue()))
          .map(Map.Entry::getKey)
          .sorted()
          .toList();
      GatewayPolicy policy = new GatewayPolicy(c.name(), c.uid(), c.createdAt(), selected, c.podSelector(), key);
      Status status = configs.contains(key)
          ? new Status(c.generation(), key, selected.size(), true, RESOLVED,
              "pods of " + selected.size() + " namespace(s) matching spec.podSelector egress through " + key
                  + " unless annotated; an older policy selecting the same pod wins")
          : new Status(c.generation(), key, selected.size(), false, NOT_FOUND, "StaticGatewayConfiguration " + key
              + " does not exist: the pods this policy selects cannot start (as with an annotation naming it)"
              + " until it does; running pods keep their current egress");
      out.add(new Resolved(c.name(), policy, status));
    }
    return out;
  }
}
