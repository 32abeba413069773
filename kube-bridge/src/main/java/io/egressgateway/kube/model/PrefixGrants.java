package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.model.LabelSelection;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which namespaces may use which bring-your-own public IP prefixes, as cluster administrators state it in
 * {@code EgressPrefixGrant} objects. Only consulted while grants are enforced: then a namespace may use a prefix
 * only if some well-formed grant lists the prefix and names or selects the namespace (fail-closed: no grant, no
 * use). ARM resource ids compare without
 * regard to case, as Azure does; namespace names exactly. A grant that could not be read grants nothing, and is
 * named in the refusals it might have been meant to prevent, so the administrator sees why.
 *
 * @param grants    the well-formed grants
 * @param malformed why each unreadable grant was ignored, as {@code "<name>: <why>"}
 */
public record PrefixGrants(List<Grant> grants, List<String> malformed) {

  public static final PrefixGrants NONE = new PrefixGrants(List.of(), List.of());

  public PrefixGrants {
    grants = grants == null ? List.of() : List.copyOf(grants);
    malformed = malformed == null ? List.of() : List.copyOf(malformed);
  }

  /**
   * One grant object: every namespace named in {@code namespaces}, or whose labels {@code selector} matches (null:
   * none), may use every prefix in {@code prefixIds}.
   */
  public record Grant(String name, List<String> prefixIds, List<String> namespaces, LabelSelection selector) {
    public Grant {
      Objects.requireNonNull(name, "name");
      prefixIds = prefixIds == null ? List.of() : List.copyOf(prefixIds);
      namespaces = namespaces == null ? List.of() : List.copyOf(namespaces);
    }

    public Grant(String name, List<String> prefixIds, List<String> namespaces) {
      this(name, prefixIds, namespaces, null);
    }

    boolean allows(String namespace, Map<String, String> labels, String prefixId) {
      return (namespaces.contains(namespace) || (selector != null && selector.matches(labels)))
          && prefixIds.stream().anyMatch(p -> p.equalsIgnoreCase(prefixId));
    }
  }

  /** The outcome of checking one SGC's prefix: granted (by which grants) or not (and why). */
  public record Check(boolean granted, String message) implements CborSerializable {
    public Check {
      message = message == null ? "" : message;
    }
  }

  /** Whether {@code namespace} (with no labels) may use {@code prefixId}. */
  public Check check(String namespace, String prefixId) {
    return check(namespace, Map.of(), prefixId);
  }

  /** Whether {@code namespace}, labelled {@code labels}, may use {@code prefixId}. */
  public Check check(String namespace, Map<String, String> labels, String prefixId) {
    List<String> by = grants.stream().filter(g -> g.allows(namespace, labels, prefixId)).map(Grant::name).sorted().toList();
    if (!by.isEmpty()) {
      return new Check(true, "publicIpPrefixId is granted to namespace " + namespace + " by EgressPrefixGrant "
          + String.join(", ", by));
    }
    String why = "namespace " + namespace + " is not granted publicIpPrefixId " + SpecValidation.quoted(prefixId, 256)
        + ": no EgressPrefixGrant grants it to this namespace (grants are enforced in this cluster)";
    if (!malformed.isEmpty()) {
      why += "; ignored as malformed: " + String.join("; ", malformed);
    }
    return new Check(false, why);
  }
}
