package io.egressgateway.datapath.model;

/**
 * An IPv4 address in its one canonical text form: four decimal octets without leading zeros, nothing
 * around them. Whatever checked a value before, it is parsed into this right before it reaches a command.
 *
 * @param bits the address as an unsigned 32-bit value
 */
public record Ipv4Address(int bits) {

  /** Parses {@code a.b.c.d}; anything else (spaces, a newline, {@code 010.0.0.1}, a prefix) is refused. */
  public static Ipv4Address parse(String text) {
    if (text == null || text.length() > 15) {
      throw new IllegalArgumentException("not an IPv4 address (a.b.c.d): " + Syntax.quote(text));
    }
    String[] octets = text.split("\\.", -1);
    if (octets.length != 4) {
      throw new IllegalArgumentException("not an IPv4 address (a.b.c.d): " + Syntax.quote(text));
    }
    int bits = 0;
    for (String o : octets) {
      bits = (bits << 8) | Syntax.decimal(o, 255, "IPv4 address (a.b.c.d)", text);
    }
    return new Ipv4Address(bits);
  }

  /** True when {@code text} is an IPv4 address in canonical form. */
  public static boolean isValid(String text) {
    try {
      parse(text);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** This address as a host network ({@code /32}). */
  public Ipv4Cidr host() {
    return new Ipv4Cidr(bits, 32);
  }

  @Override
  public String toString() {
    return ((bits >>> 24) & 255) + "." + ((bits >>> 16) & 255) + "." + ((bits >>> 8) & 255) + "." + (bits & 255);
  }
}
