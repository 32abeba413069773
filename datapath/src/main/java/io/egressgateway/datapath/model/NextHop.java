package io.egressgateway.datapath.model;

import java.util.List;

/**
 * The next hop of an IPv4 route: an IPv4 address, or an IPv6 one (RFC 5549, written {@code inet6 <addr>},
 * as the tunnel's {@code fe80::1}).
 *
 * @param inet6   true for an IPv6 next hop
 * @param address the address text (canonical IPv4, or an IPv6 literal)
 */
public record NextHop(boolean inet6, String address) {
  /** The tunnel's next hop: the gateway side of {@code wg0} holds {@code fe80::1}. */
  public static final NextHop TUNNEL = new NextHop(true, "fe80::1");

  public NextHop {
    if (inet6 ? !Syntax.ipv6Literal(address) : !Ipv4Address.isValid(address)) {
      throw new IllegalArgumentException("not an " + (inet6 ? "IPv6" : "IPv4") + " next hop: " + Syntax.quote(address));
    }
  }

  public static NextHop of(Ipv4Address a) {
    return new NextHop(false, a.toString());
  }

  /** Parses {@code a.b.c.d} or {@code inet6 <ipv6>} (as {@link #toString()} writes them). */
  public static NextHop parse(String text) {
    if (text != null && text.startsWith("inet6 ")) {
      return new NextHop(true, text.substring("inet6 ".length()));
    }
    return new NextHop(false, text);
  }

  /** The words after {@code via} in an {@code ip route} command. */
  public List<String> args() {
    return inet6 ? List.of("inet6", address) : List.of(address);
  }

  @Override
  public String toString() {
    return inet6 ? "inet6 " + address : address;
  }
}
