package io.egressgateway.core.model;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One {@code EgressGatewayPolicy} as the controllers resolved it for the nodes: the pods of {@code namespaces}
 * (the namespaces its namespace selector matched when it was resolved) whose labels {@code podSelector} matches
 * egress through the gateway configuration {@code configKey} ({@code namespace/name} of an SGC), without any pod
 * annotation. Pure value; the nodes match pod labels themselves, since only they hold their pods.
 *
 * @param name        the policy's name (cluster-scoped)
 * @param uid         the policy's uid
 * @param createdAt   its {@code metadata.creationTimestamp} in epoch milliseconds: the older policy wins
 * @param namespaces  the namespaces selected, sorted
 * @param podSelector which pods of those namespaces (empty: all of them)
 * @param configKey   {@code namespace/name} of the StaticGatewayConfiguration the pods use
 */
public record GatewayPolicy(String name, String uid, long createdAt, List<String> namespaces, LabelSelection podSelector,
    String configKey) {

  /** Oldest first, then by name: the order in which policies claim a pod. */
  public static final Comparator<GatewayPolicy> PRECEDENCE =
      Comparator.comparingLong(GatewayPolicy::createdAt).thenComparing(GatewayPolicy::name);

  public GatewayPolicy {
    Objects.requireNonNull(name, "name");
    uid = uid == null ? "" : uid;
    namespaces = namespaces == null ? List.of() : namespaces.stream().sorted().distinct().toList();
    podSelector = podSelector == null ? new LabelSelection(Map.of(), List.of()) : podSelector;
    Objects.requireNonNull(configKey, "configKey");
  }

  /** Whether this policy selects a pod of {@code namespace} with {@code podLabels}. */
  public boolean selects(String namespace, Map<String, String> podLabels) {
    return namespaces.contains(namespace) && podSelector.matches(podLabels);
  }

  /**
   * Where a pod egresses, and why: through the configuration its annotation names (in its own namespace), else through
   * the configuration of the first policy ({@link #PRECEDENCE}) that selects it, else not through a gateway. One
   * winner, so a pod never has two tunnels: an annotation, even one naming a configuration that does not exist,
   * always wins over every policy (the pod's owner said what it wants; it fails to start rather than egress elsewhere).
   */
  public record Choice(String configKey, String policy) {
    /** Chosen by the pod's annotation. */
    public boolean annotated() {
      return policy.isEmpty();
    }
  }

  /**
   * The winner for one pod.
   *
   * @param annotation the value of the pod's gateway annotation, null or blank when it has none
   */
  public static Optional<Choice> choose(String namespace, Map<String, String> podLabels, String annotation,
      Collection<GatewayPolicy> policies) {
    if (annotation != null && !annotation.isBlank()) {
      return Optional.of(new Choice(namespace + "/" + annotation.trim(), ""));
    }
    Map<String, String> labels = podLabels == null ? Map.of() : podLabels;
    return policies.stream()
        .filter(p -> p.selects(namespace, labels))
        .min(PRECEDENCE)
        .map(p -> new Choice(p.configKey(), p.name()));
  }
}
