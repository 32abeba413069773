package io.egressgateway.pod.model;

import java.util.Objects;

/**
 * One IPv4 route in a pod namespace, as we program it. Routes we create carry protocol {@link #PROTO}, our
 * ownership marker: only routes with it are ever deleted by the planner.
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
    via = via == null ? "" : via;
    Objects.requireNonNull(dev, "dev");
    dst = normalize(dst);
  }

  public static Route main(String dst, String via, String dev) {
    return new Route(dst, via, dev, MAIN);
  }

  /** {@code default} and bare addresses become CIDRs, so that observed and desired compare equal. */
  static String normalize(String dst) {
    if (dst.equals("default")) {
      return "0.0.0.0/0";
    }
    return dst.contains("/") ? dst : dst + "/32";
  }

  /** The arguments after {@code ip -4 route replace|del}. */
  public java.util.List<String> args() {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(dst));
    if (!via.isEmpty()) {
      a.add("via");
      a.addAll(java.util.List.of(via.split(" ")));
    }
    a.addAll(java.util.List.of("dev", dev));
    if (via.isEmpty()) {
      a.addAll(java.util.List.of("scope", "link"));
    }
    a.addAll(java.util.List.of("table", Integer.toString(table), "proto", Integer.toString(PROTO)));
    return a;
  }
}
