package io.egressgateway.kube.infra;

import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.model.LabelSelection;
import io.egressgateway.kube.crd.EgressGatewayPolicy;
import io.egressgateway.kube.crd.EgressGatewayPolicySpec;
import io.egressgateway.kube.crd.EgressGatewayPolicyStatus;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.model.PolicyResolution;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the cached {@code EgressGatewayPolicy} objects into the replicated policy view and their status. Owns the
 * policies' status and, in the view, the entries of policies (published and removed here only); persists nothing.
 * Policies are watched as generic objects and read one by one, tolerantly (unknown fields ignored): one that cannot
 * be read selects nothing and says why in its status, and never affects the others. Every pass is a full diff of
 * what the caches say against what the view holds (level-triggered); a write that failed is made again at the next.
 */
final class PolicySource {
  static final ResourceDefinitionContext KIND = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind(EgressGatewayPolicy.KIND).withPlural(EgressGatewayPolicy.PLURAL).withNamespaced(false).build();
  private static final Logger log = LoggerFactory.getLogger(PolicySource.class);

  /** Where resolved policies go: the replicated view (a port, so the pass can be tested without a cluster). */
  interface Sink {
    Map<String, GatewayPolicy> current();

    CompletionStage<Boolean> publish(GatewayPolicy policy);

    CompletionStage<Boolean> remove(String name);
  }

  private final KubernetesClient client;
  private final KubernetesSerialization serialization;
  private final Sink sink;

  PolicySource(KubernetesClient client, Sink sink) {
    this.client = client;
    this.serialization = client.getKubernetesSerialization();
    this.sink = sink;
  }

  /**
   * One pass: resolves every policy against the namespaces and configurations there are, publishes what changed,
   * removes what is gone, writes each status that differs. Returns false if a write failed (the caller passes again).
   */
  boolean pass(Collection<GenericKubernetesResource> policies, Map<String, Map<String, String>> namespaces, Set<String> configs) {
    Map<String, GenericKubernetesResource> byName = new HashMap<>();
    List<PolicyResolution.Candidate> candidates = new ArrayList<>();
    for (GenericKubernetesResource p : policies) {
      byName.put(p.getMetadata().getName(), p);
      candidates.add(candidate(p));
    }
    boolean ok = true;
    Map<String, GatewayPolicy> inView = sink.current();
    Set<String> published = new HashSet<>();
    for (PolicyResolution.Resolved r : PolicyResolution.resolve(candidates, namespaces, configs)) {
      if (r.published() != null) {
        published.add(r.name());
        if (!r.published().equals(inView.get(r.name()))) {
          log.info("[policy {}] published: {} namespace(s) -> {}", r.name(), r.published().namespaces().size(),
              r.published().configKey());
          sink.publish(r.published());
        }
      }
      ok &= writeStatus(byName.get(r.name()), r.status());
    }
    for (String name : inView.keySet()) {
      if (!published.contains(name)) {
        log.info("[policy {}] removed from the nodes' view", name);
        sink.remove(name);
      }
    }
    return ok;
  }

  private PolicyResolution.Candidate candidate(GenericKubernetesResource p) {
    String name = p.getMetadata().getName();
    String uid = String.valueOf(p.getMetadata().getUid());
    long generation = p.getMetadata().getGeneration() == null ? 0 : p.getMetadata().getGeneration();
    long created = createdAt(p.getMetadata().getCreationTimestamp());
    Object raw = p.getAdditionalProperties().get("spec");
    if (raw == null) {
      return PolicyResolution.Candidate.malformed(name, uid, generation, created, "it has no spec");
    }
    EgressGatewayPolicySpec spec;
    try {
      spec = serialization.convertValue(raw, EgressGatewayPolicySpec.class);
    } catch (RuntimeException e) {
      return PolicyResolution.Candidate.malformed(name, uid, generation, created,
          "its spec could not be read: " + SgcMapping.mappingError(e));
    }
    EgressGatewayPolicySpec.ConfigurationRef ref = spec.getGatewayConfiguration();
    String key = ref == null || blank(ref.getNamespace()) || blank(ref.getName()) ? null
        : ref.getNamespace().strip() + "/" + ref.getName().strip();
    return new PolicyResolution.Candidate(name, uid, generation, created, selection(spec.getNamespaceSelector()),
        selection(spec.getPodSelector()), key, "");
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  private static long createdAt(String timestamp) {
    try {
      return timestamp == null ? Long.MAX_VALUE : Instant.parse(timestamp).toEpochMilli();
    } catch (RuntimeException e) {
      return Long.MAX_VALUE; // unknown age: after every policy whose age is known
    }
  }

  static LabelSelection selection(LabelSelector s) {
    if (s == null) {
      return null;
    }
    List<LabelSelection.Requirement> requirements = s.getMatchExpressions() == null ? List.of()
        : s.getMatchExpressions().stream()
            .map(e -> new LabelSelection.Requirement(e.getKey(), e.getOperator(), e.getValues()))
            .toList();
    return new LabelSelection(s.getMatchLabels(), requirements);
  }

  /** Writes {@code want} as the status of {@code p} unless it already shows it; false if the write failed. */
  private boolean writeStatus(GenericKubernetesResource p, PolicyResolution.Status want) {
    EgressGatewayPolicyStatus have = status(p);
    Condition before = have.getConditions() == null ? null : have.getConditions().stream()
        .filter(c -> PolicyResolution.ACCEPTED.equals(c.getType())).findFirst().orElse(null);
    String wantStatus = want.accepted() ? "True" : "False";
    boolean same = before != null && Objects.equals(have.getObservedGeneration(), want.observedGeneration())
        && Objects.equals(have.getConfiguration(), want.configuration())
        && Objects.equals(have.getSelectedNamespaces(), want.selectedNamespaces())
        && wantStatus.equals(before.getStatus()) && want.reason().equals(before.getReason())
        && want.message().equals(before.getMessage());
    if (same) {
      return true;
    }
    String since = before != null && wantStatus.equals(before.getStatus()) && before.getLastTransitionTime() != null
        ? before.getLastTransitionTime() : Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    EgressGatewayPolicyStatus next = new EgressGatewayPolicyStatus();
    next.setObservedGeneration(want.observedGeneration());
    next.setConfiguration(want.configuration());
    next.setSelectedNamespaces(want.selectedNamespaces());
    next.setConditions(List.of(new ConditionBuilder().withType(PolicyResolution.ACCEPTED).withStatus(wantStatus)
        .withReason(want.reason()).withMessage(want.message()).withObservedGeneration(want.observedGeneration())
        .withLastTransitionTime(since).build()));
    GenericKubernetesResource copy = serialization.clone(p);
    copy.setAdditionalProperty("status", serialization.convertValue(next, Map.class));
    try {
      client.genericKubernetesResources(KIND).resource(copy).updateStatus();
      if (before == null || !wantStatus.equals(before.getStatus()) || !want.reason().equals(before.getReason())) {
        log.info("[policy {}] Accepted={} ({}): {}", p.getMetadata().getName(), wantStatus, want.reason(), want.message());
      }
      return true;
    } catch (KubernetesClientException e) {
      // a conflict (the object changed meanwhile: its event brings the next pass) or the API being away
      log.debug("[policy {}] status not written: {}", p.getMetadata().getName(), e.getMessage());
      return false;
    }
  }

  private EgressGatewayPolicyStatus status(GenericKubernetesResource p) {
    Object raw = p.getAdditionalProperties().get("status");
    try {
      return raw == null ? new EgressGatewayPolicyStatus() : serialization.convertValue(raw, EgressGatewayPolicyStatus.class);
    } catch (RuntimeException e) {
      return new EgressGatewayPolicyStatus();
    }
  }
}
