package io.egressgateway.kube.model;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Which SGC may use a bring-your-own public IP prefix when several name the same one: the oldest (creation time,
 * then, as creation times have whole seconds, the one already holding it, then namespace/name) that is not being
 * deleted. Only SGCs that could use the prefix claim it: the caller leaves out a spec invalid for another reason, so a
 * broken SGC never takes a prefix from a working one. Every other one is rejected with a reason naming the owner,
 * and is accepted again by itself once the owner lets go of the prefix (its spec changes or it is deleted). ARM
 * resource ids compare without regard to case, as Azure does.
 */
public final class PrefixClaims {
  private PrefixClaims() {}

  /**
   * One SGC's claim: {@code created} is its creationTimestamp (RFC 3339, so text order is time order); {@code holding}
   * says it was accepted before (it carries the controller's finalizer), which wins a tie of creation times.
   */
  public record Claim(String key, String prefixId, String created, boolean deleting, boolean holding) {}

  /** The SGCs that may not use their prefix, each with why (the owner's key). */
  public static Map<String, String> conflicts(List<Claim> claims) {
    Map<String, List<Claim>> byPrefix = claims.stream()
        .filter(c -> !c.prefixId().isEmpty() && !c.deleting())
        .collect(Collectors.groupingBy(c -> c.prefixId().toLowerCase(Locale.ROOT)));
    Map<String, String> out = new HashMap<>();
    for (List<Claim> same : byPrefix.values()) {
      if (same.size() < 2) {
        continue;
      }
      List<Claim> ordered = same.stream()
          .sorted(Comparator.comparing((Claim c) -> c.created() == null ? "" : c.created())
              .thenComparing(c -> !c.holding())
              .thenComparing(Claim::key))
          .toList();
      Claim owner = ordered.get(0);
      for (Claim c : ordered.subList(1, ordered.size())) {
        out.put(c.key(), "publicIpPrefixId " + SpecValidation.quoted(c.prefixId()) + " is already used by StaticGatewayConfiguration "
            + owner.key() + "; one bring-your-own prefix serves one configuration");
      }
    }
    return out;
  }
}
