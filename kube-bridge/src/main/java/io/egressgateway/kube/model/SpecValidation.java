package io.egressgateway.kube.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The controller's checks of an SGC spec: upstream's rules plus the ones Azure enforces later anyway
 * (prefix length 28-31, CIDR syntax). The same rules exist as CEL in the CRD; API servers without CEL
 * and objects stored before the rules rely on these.
 */
public final class SpecValidation {
  public static final int MIN_PREFIX = 28;
  public static final int MAX_PREFIX = 31;
  /** The reason of a spec whose bring-your-own prefix its namespace was not granted. */
  public static final String PREFIX_NOT_GRANTED = "PrefixNotGranted";

  private SpecValidation() {}

  /** Why a spec was not accepted: a CamelCase reason for the condition and Event, and a message. */
  public record Rejection(String reason, String message) {}

  /** The first problem with {@code spec}, or empty when it is acceptable. */
  public static Optional<Rejection> validate(SgcSpec spec) {
    List<Rejection> problems = problems(spec);
    return problems.isEmpty() ? Optional.empty() : Optional.of(problems.get(0));
  }

  public static List<Rejection> problems(SgcSpec spec) {
    List<Rejection> out = new ArrayList<>();
    if (!spec.unreadable().isEmpty()) {
      out.add(new Rejection("UnreadableSpec", "the spec could not be read: " + spec.unreadable()));
      return out;
    }
    boolean pool = !spec.gatewayNodepoolName().isEmpty();
    boolean vmss = spec.usesVmssProfile();
    if (pool == vmss) {
      out.add(pool
          ? new Rejection("AmbiguousGatewayPool", "set only one of gatewayNodepoolName and gatewayVmssProfile")
          : new Rejection("MissingGatewayPool", "set one of gatewayNodepoolName and gatewayVmssProfile"));
    }
    if (vmss) {
      SgcSpec.Vmss p = spec.vmss();
      if (p.resourceGroup().isEmpty() || p.name().isEmpty()) {
        out.add(new Rejection("InvalidVmssProfile", "gatewayVmssProfile needs vmssResourceGroup and vmssName"));
      }
      if (p.prefixSize() < 0 || p.prefixSize() > MAX_PREFIX) {
        out.add(new Rejection("InvalidPrefixSize", "publicIpPrefixSize " + p.prefixSize() + " is outside 0.." + MAX_PREFIX));
      } else if (spec.provisionPublicIps() && p.prefixSize() < MIN_PREFIX) {
        out.add(new Rejection("InvalidPrefixSize",
            "publicIpPrefixSize " + p.prefixSize() + " is not allowed by Azure; use " + MIN_PREFIX + ".." + MAX_PREFIX));
      }
    }
    if (!spec.publicIpPrefixId().isEmpty() && !spec.provisionPublicIps()) {
      out.add(new Rejection("PrefixIdWithoutPublicIps", "publicIpPrefixId is only allowed when provisionPublicIps is true"));
    }
    if (spec.grant() != null && !spec.grant().granted()) {
      out.add(new Rejection(PREFIX_NOT_GRANTED, spec.grant().message()));
    }
    if (!spec.conflict().isEmpty()) {
      out.add(new Rejection("PrefixInUse", spec.conflict()));
    }
    if (!spec.defaultRoute().equals("staticEgressGateway") && !spec.defaultRoute().equals("azureNetworking")) {
      out.add(new Rejection("InvalidDefaultRoute",
          "defaultRoute " + quoted(spec.defaultRoute()) + " is not staticEgressGateway or azureNetworking"));
    }
    for (String cidr : spec.excludeCidrs()) {
      if (!Cidrs.isIpv4Cidr(cidr)) {
        out.add(new Rejection("InvalidExcludeCidr", "excludeCidrs entry " + quoted(cidr) + " is not an IPv4 CIDR"));
        break;
      }
    }
    return out;
  }

  /**
   * A user's value as a status message or Event may show it: quoted, control characters (a newline, say) shown
   * as a backslash, u and four hex digits, at most 64 characters; a message stays one line whatever the value held.
   */
  public static String quoted(String value) {
    return quoted(value, 64);
  }

  /** As {@link #quoted(String)}, with at most {@code max} characters (an ARM resource id is longer than 64). */
  public static String quoted(String value, int max) {
    String v = value == null ? "" : value;
    StringBuilder out = new StringBuilder("'");
    v.codePoints().limit(max).forEach(cp -> {
      if (Character.isISOControl(cp)) {
        out.append(String.format("\\u%04x", cp));
      } else {
        out.appendCodePoint(cp);
      }
    });
    return out.append(v.codePointCount(0, v.length()) > max ? "...'" : "'").toString();
  }
}
