package io.egressgateway.core.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The pod CIDRs of each node ({@code Node.spec.podCIDRs}), as far as this member knows them: a worker may only
 * ask for peers whose address lies in its own node's. Filled by whatever watches the Nodes (the app's wiring on
 * gateway members); a node that is not known has no CIDRs, so its requests are refused. Until that source has
 * listed the nodes ({@link #listed}), an unknown node says nothing about the sender: its requests are dropped
 * unchecked ({@link Refused.NotYet}), not refused. That includes the time before any source is attached: a
 * restarted gateway's remoting is up (and workers' messages arrive) before its wiring has started the Node
 * watch.
 */
public final class PodCidrs {
  private static final Pattern LITERAL = Pattern.compile("[0-9a-fA-F:.]{2,45}");

  private final Map<String, List<String>> byNode = new ConcurrentHashMap<>();
  private volatile Function<String, List<String>> source = node -> List.of();

  /** No source attached and nothing {@link #put}: nothing is known yet. */
  private static final java.util.function.BooleanSupplier NOTHING_YET = () -> false;

  private volatile java.util.function.BooleanSupplier listed = NOTHING_YET;

  /** Looks up nodes not {@link #put} explicitly in {@code lookup} (e.g. an informer's store); must not block. */
  public void use(Function<String, List<String>> lookup) {
    use(lookup, () -> true);
  }

  /** The same, with {@code listed} saying whether {@code lookup} has listed the nodes yet (e.g. its informer synced). */
  public void use(Function<String, List<String>> lookup, java.util.function.BooleanSupplier listed) {
    this.source = lookup;
    this.listed = listed;
  }

  /** Whether the nodes have been listed: false while the source is still filling (a node unknown then may exist). */
  public boolean listed() {
    return listed.getAsBoolean();
  }

  /**
   * Sets {@code node}'s CIDRs explicitly (a fixed table, e.g. in tests and benchmarks): without a source
   * ({@link #use}), the table is then what is known, and counts as listed.
   */
  public void put(String node, List<String> cidrs) {
    if (listed == NOTHING_YET) {
      listed = () -> true;
    }
    if (cidrs == null || cidrs.isEmpty()) {
      byNode.remove(node);
    } else {
      byNode.put(node, List.copyOf(cidrs));
    }
  }

  public void remove(String node) {
    byNode.remove(node);
  }

  public Optional<List<String>> of(String node) {
    List<String> cidrs = byNode.get(node);
    if (cidrs == null) {
      cidrs = source.apply(node);
    }
    return cidrs == null || cidrs.isEmpty() ? Optional.empty() : Optional.of(cidrs);
  }

  /** Whether {@code address} (an IP, or an IP with {@code /32} or {@code /128}) lies in one of {@code node}'s pod CIDRs. */
  public boolean contains(String node, String address) {
    return of(node).map(cidrs -> insideAny(address, cidrs)).orElse(false);
  }

  /** Whether host address {@code address} lies in one of {@code cidrs} (see {@link #inside}). */
  public static boolean insideAny(String address, List<String> cidrs) {
    return cidrs.stream().anyMatch(c -> inside(address, c));
  }

  /** Whether host address {@code address} (optionally {@code /32}, {@code /128}) lies in {@code cidr}. Never resolves names. */
  public static boolean inside(String address, String cidr) {
    String host = address;
    int slash = address.indexOf('/');
    if (slash >= 0) {
      host = address.substring(0, slash);
      String len = address.substring(slash + 1);
      if (!(len.equals("32") && host.indexOf(':') < 0) && !(len.equals("128") && host.indexOf(':') >= 0)) {
        return false;
      }
    }
    int cs = cidr.indexOf('/');
    if (cs < 0) {
      return false;
    }
    byte[] a = literal(host);
    byte[] net = literal(cidr.substring(0, cs));
    int bits;
    try {
      bits = Integer.parseInt(cidr.substring(cs + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    if (a == null || net == null || a.length != net.length || bits < 0 || bits > a.length * 8) {
      return false;
    }
    for (int i = 0; i < bits; i++) {
      int mask = 0x80 >>> (i % 8);
      if ((a[i / 8] & mask) != (net[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  private static byte[] literal(String s) {
    if (!LITERAL.matcher(s).matches()) {
      return null;
    }
    try {
      return InetAddress.getByName(s).getAddress();
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
