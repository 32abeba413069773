package io.egressgateway.datapath.model;

/**
 * An IPv4 network in CIDR notation, parsed strictly: four decimal octets, a prefix length of 0 to 32, no
 * host bits set ({@code ip route} refuses {@code 10.0.0.1/8}, so it is refused here, where the mistake is
 * still easy to name), and nothing around it.
 *
 * @param address the network address as an unsigned 32-bit value
 * @param length  the prefix length
 */
public record Ipv4Cidr(int address, int length) {
  /** {@code 0.0.0.0/0}. */
  public static final Ipv4Cidr ANY = new Ipv4Cidr(0, 0);

  public Ipv4Cidr {
    if (length < 0 || length > 32) {
      throw new IllegalArgumentException("prefix length out of range: " + length);
    }
    if ((address & ~mask(length)) != 0) {
      throw new IllegalArgumentException(new Ipv4Address(address) + "/" + length + " has host bits set; the network is "
          + new Ipv4Address(address & mask(length)) + "/" + length);
    }
  }

  /** Parses {@code a.b.c.d/n}; the message of the exception says what is wrong with {@code text}. */
  public static Ipv4Cidr parse(String text) {
    String s = text == null ? "" : text;
    int slash = s.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException(Syntax.quote(s) + " is not an IPv4 CIDR (a.b.c.d/n): the prefix length is missing");
    }
    Ipv4Address a;
    try {
      a = Ipv4Address.parse(s.substring(0, slash));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(Syntax.quote(s) + " is not an IPv4 CIDR (a.b.c.d/n)");
    }
    int length = Syntax.decimal(s.substring(slash + 1), 32, "IPv4 CIDR (a.b.c.d/n)", s);
    try {
      return new Ipv4Cidr(a.bits(), length);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(Syntax.quote(s) + ": " + e.getMessage(), e);
    }
  }

  /** Like {@link #parse}, but a bare address {@code a.b.c.d} means its {@code /32}. */
  public static Ipv4Cidr parseNetworkOrHost(String text) {
    if (text != null && text.indexOf('/') < 0) {
      try {
        return Ipv4Address.parse(text).host();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(Syntax.quote(text) + " is not an IPv4 CIDR (a.b.c.d/n) or address");
      }
    }
    return parse(text);
  }

  /** True when {@code text} is an IPv4 CIDR in canonical form. */
  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return new Ipv4Address(address) + "/" + length;
  }

  private static int mask(int length) {
    return length == 0 ? 0 : -1 << (32 - length);
  }
}
