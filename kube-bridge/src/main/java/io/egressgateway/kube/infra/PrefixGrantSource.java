package io.egressgateway.kube.infra;

import io.egressgateway.kube.crd.EgressPrefixGrant;
import io.egressgateway.kube.crd.EgressPrefixGrantSpec;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.core.model.LabelSelection;
import io.egressgateway.kube.model.PrefixGrants;
import io.egressgateway.kube.model.SpecValidation;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the cached {@code EgressPrefixGrant} objects into {@link PrefixGrants}. Owns nothing in the cluster but
 * the Warning Events about grants it cannot read; persists nothing. Grants are watched as generic objects and
 * mapped one by one, so an object that cannot be read (a field of the wrong type, an empty list: possible on an
 * API server that did not validate it, or stored before the schema) grants nothing, is reported once per
 * version (log and Event), and never affects the other grants or the watch. Each version is mapped once.
 */
final class PrefixGrantSource {
  /** The grant kind as a generic resource: watched untyped, mapped object by object. */
  static final ResourceDefinitionContext KIND = new ResourceDefinitionContext.Builder()
      .withGroup(StaticGatewayConfiguration.GROUP).withVersion(StaticGatewayConfiguration.VERSION)
      .withKind(EgressPrefixGrant.KIND).withPlural(EgressPrefixGrant.PLURAL).withNamespaced(false).build();
  /** Events about cluster-scoped objects go to this namespace, as kubectl describe expects. */
  static final String EVENT_NAMESPACE = "default";
  private static final Logger log = LoggerFactory.getLogger(PrefixGrantSource.class);

  private final KubernetesClient client;
  private final KubernetesSerialization serialization;
  private final String component;
  private Map<String, Mapped> mapped = Map.of(); // by uid; accessed from the bridge's timer thread only

  /** One version of one grant: either a grant or why it was ignored. */
  private record Mapped(String resourceVersion, PrefixGrants.Grant grant, String malformed) {}

  PrefixGrantSource(KubernetesClient client, String component) {
    this.client = client;
    this.serialization = client.getKubernetesSerialization();
    this.component = component;
  }

  /** The grants the cached objects state now. */
  synchronized PrefixGrants current(Collection<GenericKubernetesResource> objects) {
    Map<String, Mapped> next = new HashMap<>();
    List<PrefixGrants.Grant> grants = new ArrayList<>();
    List<String> malformed = new ArrayList<>();
    List<GenericKubernetesResource> sorted = objects.stream()
        .sorted(Comparator.comparing((GenericKubernetesResource g) -> g.getMetadata().getName())).toList();
    for (GenericKubernetesResource g : sorted) {
      String uid = String.valueOf(g.getMetadata().getUid());
      String version = String.valueOf(g.getMetadata().getResourceVersion());
      Mapped m = mapped.get(uid);
      if (m == null || !m.resourceVersion().equals(version)) {
        m = map(g, version);
        if (!m.malformed().isEmpty()) {
          report(g, m.malformed());
        }
      }
      next.put(uid, m);
      if (m.grant() != null) {
        grants.add(m.grant());
      } else {
        malformed.add(g.getMetadata().getName() + ": " + m.malformed());
      }
    }
    mapped = next;
    return new PrefixGrants(grants, malformed);
  }

  private Mapped map(GenericKubernetesResource g, String version) {
    String name = g.getMetadata().getName();
    Object raw = g.getAdditionalProperties().get("spec");
    if (raw == null) {
      return new Mapped(version, null, "it has no spec");
    }
    EgressPrefixGrantSpec spec;
    try {
      spec = serialization.convertValue(raw, EgressPrefixGrantSpec.class);
    } catch (RuntimeException e) {
      return new Mapped(version, null, "its spec could not be read: " + SgcMapping.mappingError(e));
    }
    LabelSelection selector = selection(spec.getNamespaceSelector());
    String problem = problem("publicIpPrefixIds", spec.getPublicIpPrefixIds());
    if (problem.isEmpty() && spec.getNamespaces() == null && selector == null) {
      problem = "neither spec.namespaces nor spec.namespaceSelector is set";
    }
    if (problem.isEmpty() && spec.getNamespaces() != null) {
      problem = problem("namespaces", spec.getNamespaces());
    }
    if (problem.isEmpty() && selector != null) {
      problem = selector.problem().map(p -> "spec.namespaceSelector: " + p).orElse("");
    }
    return problem.isEmpty()
        ? new Mapped(version, new PrefixGrants.Grant(name, spec.getPublicIpPrefixIds(), spec.getNamespaces(), selector), "")
        : new Mapped(version, null, problem);
  }

  private static LabelSelection selection(LabelSelector s) {
    if (s == null) {
      return null;
    }
    List<LabelSelection.Requirement> requirements = s.getMatchExpressions() == null ? List.of()
        : s.getMatchExpressions().stream()
            .map(e -> new LabelSelection.Requirement(e.getKey(), e.getOperator(), e.getValues()))
            .toList();
    return new LabelSelection(s.getMatchLabels(), requirements);
  }

  private static String problem(String field, List<String> values) {
    if (values == null || values.isEmpty()) {
      return "spec." + field + " is empty";
    }
    for (String v : values) {
      if (v == null || v.isBlank()) {
        return "spec." + field + " has an empty entry";
      }
      if (!v.equals(v.strip())) {
        return "spec." + field + " entry " + SpecValidation.quoted(v) + " has surrounding spaces";
      }
    }
    return "";
  }

  /** Once per version of a malformed grant: a log line and a Warning Event (best effort). */
  private void report(GenericKubernetesResource g, String why) {
    String name = g.getMetadata().getName();
    String message = "EgressPrefixGrant " + name + " is ignored (grants nothing): " + why;
    log.warn("[grant {}] {}", name, message);
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      client.v1().events().inNamespace(EVENT_NAMESPACE).resource(new EventBuilder()
              .withNewMetadata()
              .withName(name + "." + UUID.randomUUID().toString().replace("-", "").substring(0, 16))
              .withNamespace(EVENT_NAMESPACE)
              .endMetadata()
              .withInvolvedObject(new ObjectReferenceBuilder()
                  .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
                  .withKind(EgressPrefixGrant.KIND)
                  .withName(name)
                  .withUid(g.getMetadata().getUid())
                  .withResourceVersion(g.getMetadata().getResourceVersion())
                  .build())
              .withType("Warning")
              .withReason("MalformedGrant")
              .withMessage(message)
              .withFirstTimestamp(now)
              .withLastTimestamp(now)
              .withCount(1)
              .withNewSource().withComponent(component).endSource()
              .build())
          .create();
    } catch (RuntimeException e) {
      log.debug("[grant {}] could not record the Event: {}", name, e.toString());
    }
  }
}
