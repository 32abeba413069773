package io.egressgateway.pod.model;

import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NextHop;
import java.util.Objects;
import java.util.Optional;

/**
 * One IPv4 route in a pod namespace, as we program it. Routes we create carry protocol {@link #PROTO}, our
 * ownership marker: only routes with it are ever deleted by the planner. Every field is parsed when the
 * route is made ({@link Ipv4Cidr}, {@link NextHop}, {@link IfName}) and kept in its canonical text, so a
 * route holds nothing but words that are safe in an {@code ip -batch} line, and observed and desired
 * routes compare equal.
 *
 * @param dst     destination CIDR ({@code 0.0.0.0/0} for the default)
 * @param via     next hop; an IPv6 next hop (RFC 5549, {@code fe80::1} on wg0) is written with {@code inet6 }
 *                in front; empty for an on-link route
 * @param dev     output device
 * @param table   routing table (254 = main)
 */
public record Route(String dst, String via, String dev, int table) {
  /** Routing protocol number that marks our routes ({@code ip route ... proto 77}). */
  public static final int PROTO = 77;
  public static final int MAIN = 254;
  /** The table holding the copy of eth0's default route for replies to ingress connections. */
  public static final int REPLY_TABLE = 8738;
  /** The IPv6 link-local next hop of the tunnel (the gateway side of wg0 holds it). */
  public static final String TUNNEL_VIA = "inet6 fe80::1";

  public Route {
    Objects.requireNonNull(dst, "dst");
    Objects.requireNonNull(dev, "dev");
    dst = normalize(dst);
    via = via == null || via.isEmpty() ? "" : NextHop.parse(via).toString();
    dev = IfName.parse(dev).value();
    if (table < 1) {
      throw new IllegalArgumentException("routing table out of range: " + table);
    }
  }

  public static Route main(String dst, String via, String dev) {
    return new Route(dst, via, dev, MAIN);
  }

  /**
   * {@code default} and bare addresses become CIDRs, so that observed and desired compare equal; anything
   * that is not an IPv4 CIDR or address is refused.
   */
  static String normalize(String dst) {
    if (dst.equals("default")) {
      return "0.0.0.0/0";
    }
    return Ipv4Cidr.parseNetworkOrHost(dst).toString();
  }

  /** The destination as a typed value. */
  public Ipv4Cidr cidr() {
    return Ipv4Cidr.parse(dst);
  }

  /** The next hop as a typed value; empty for an on-link route. */
  public Optional<NextHop> nextHop() {
    return via.isEmpty() ? Optional.empty() : Optional.of(NextHop.parse(via));
  }

  /** The output device as a typed value. */
  public IfName device() {
    return IfName.parse(dev);
  }

  /** The arguments after {@code ip -4 route replace|del}. */
  public java.util.List<String> args() {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(cidr().toString()));
    nextHop().ifPresent(h -> {
      a.add("via");
      a.addAll(h.args());
    });
    a.addAll(java.util.List.of("dev", device().value()));
    if (via.isEmpty()) {
      a.addAll(java.util.List.of("scope", "link"));
    }
    a.addAll(java.util.List.of("table", Integer.toString(table), "proto", Integer.toString(PROTO)));
    return a;
  }
}
