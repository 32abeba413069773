package io.egressgateway.kube.model;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The rows of the egress audit (docs/audit.md) and the pure decisions about them: which egress addresses a
 * configuration's status names, and whether an address a user asks about is one of them.
 *
 * <p>Two kinds of interval are kept: a pod's use of a configuration ({@link PodUse}, from its PodEndpoint) and a
 * configuration's egress on one gateway node ({@link Egress}, from its status: the prefix, or in private mode the
 * comma-joined secondary IPs, and the node's secondary IP that Azure maps into it). A pod could have left through
 * any gateway node of its configuration (the load balancer picks one per flow), so a question about one address
 * is answered per configuration: every pod of a configuration whose egress held that address at that time.
 */
public final class EgressHistory {
  private EgressHistory() {}

  /** A pod attached to a configuration ({@code configKey} = namespace/name) from {@code from} until {@code to} (null: still). */
  public record PodUse(String podUid, String namespace, String pod, String podIp, String configKey, Instant from, Instant to) {
    public boolean overlaps(Instant start, Instant end) {
      return !from.isAfter(end) && (to == null || !to.isBefore(start));
    }
  }

  /** A configuration's egress through one gateway node, from {@code from} until {@code to} (null: still). */
  public record Egress(String configKey, String configUid, String gatewayNode, String secondaryIp, String prefix,
                       Instant from, Instant to) {
    /** The egress as it is now, without its interval: what is compared between two statuses. */
    public Egress open() {
      return new Egress(configKey, configUid, gatewayNode, secondaryIp, prefix, null, null);
    }

    /** Whether traffic leaving through this egress could carry {@code address} as its source. */
    public boolean couldUse(String address) {
      long a = ipv4(address);
      if (a < 0) {
        return false;
      }
      if (a == ipv4(secondaryIp)) {
        return true;
      }
      for (String part : prefix.split(",")) {
        if (contains(part.trim(), a)) {
          return true;
        }
      }
      return false;
    }

    public boolean at(Instant t) {
      return !from.isAfter(t) && (to == null || to.isAfter(t));
    }
  }

  /** One gateway node of a configuration's status. */
  public record NodeProfile(String nodeName, String secondaryIp) {}

  /**
   * The egresses a configuration's status names now (no interval yet): one per gateway node with a secondary IP,
   * all sharing the status' prefix. Nothing while the status has no prefix (not provisioned yet).
   */
  public static Set<Egress> egressesOf(String configKey, String configUid, String prefix, List<NodeProfile> nodes) {
    Set<Egress> out = new LinkedHashSet<>();
    if (prefix == null || prefix.isBlank()) {
      return out;
    }
    for (NodeProfile n : nodes) {
      if (n.nodeName() != null && n.secondaryIp() != null && !n.secondaryIp().isBlank()) {
        out.add(new Egress(configKey, configUid, n.nodeName(), n.secondaryIp(), prefix, null, null));
      }
    }
    return out;
  }

  /** The pod uses among {@code uses} whose configuration had one of {@code egresses} at that time and that overlap it. */
  public static List<PodUse> podsBehind(List<Egress> egresses, List<PodUse> uses, Instant at) {
    List<PodUse> out = new ArrayList<>();
    for (PodUse u : uses) {
      boolean behind = egresses.stream().anyMatch(e -> e.configKey().equals(u.configKey()) && e.at(at));
      if (behind && u.overlaps(at, at)) {
        out.add(u);
      }
    }
    return out;
  }

  /** The address as an unsigned 32-bit number, or -1 when it is not a dotted IPv4 address. */
  public static long ipv4(String s) {
    if (s == null) {
      return -1;
    }
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return -1;
    }
    long v = 0;
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
        return -1;
      }
      int octet = Integer.parseInt(p);
      if (octet > 255) {
        return -1;
      }
      v = (v << 8) | octet;
    }
    return v;
  }

  private static boolean contains(String cidrOrIp, long address) {
    int slash = cidrOrIp.indexOf('/');
    long base = ipv4(slash < 0 ? cidrOrIp : cidrOrIp.substring(0, slash));
    if (base < 0) {
      return false;
    }
    int bits;
    try {
      bits = slash < 0 ? 32 : Integer.parseInt(cidrOrIp.substring(slash + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    if (bits < 0 || bits > 32) {
      return false;
    }
    long mask = bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL;
    return (base & mask) == (address & mask);
  }
}
