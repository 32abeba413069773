package io.egressgateway.pod.model;

/**
 * An IPv4 network in CIDR notation, parsed strictly: four decimal octets, a prefix length of 0 to 32, and no
 * host bits set ({@code ip route} refuses {@code 10.0.0.1/8}, so it is refused here, where the mistake is
 * still easy to name).
 *
 * @param address the network address as an unsigned 32-bit value
 * @param length  the prefix length
 */
public record Ipv4Cidr(int address, int length) {

  public Ipv4Cidr {
    if (length < 0 || length > 32) {
      throw new IllegalArgumentException("prefix length out of range: " + length);
    }
    if ((address & ~mask(length)) != 0) {
      throw new IllegalArgumentException(dotted(address) + "/" + length + " has host bits set; the network is "
          + dotted(address & mask(length)) + "/" + length);
    }
  }

  /** Parses {@code a.b.c.d/n}; the message of the exception says what is wrong with {@code text}. */
  public static Ipv4Cidr parse(String text) {
    String s = text == null ? "" : text.trim();
    int slash = s.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("'" + s + "' is not an IPv4 CIDR (a.b.c.d/n): the prefix length is missing");
    }
    String[] octets = s.substring(0, slash).split("\\.", -1);
    if (octets.length != 4) {
      throw new IllegalArgumentException("'" + s + "' is not an IPv4 CIDR (a.b.c.d/n)");
    }
    int address = 0;
    for (String o : octets) {
      address = (address << 8) | number(o, 255, s);
    }
    int length = number(s.substring(slash + 1), 32, s);
    try {
      return new Ipv4Cidr(address, length);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + s + "': " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return dotted(address) + "/" + length;
  }

  private static int number(String digits, int max, String whole) {
    if (digits.isEmpty() || digits.length() > 3 || !digits.chars().allMatch(Character::isDigit)
        || (digits.length() > 1 && digits.charAt(0) == '0')) {
      throw new IllegalArgumentException("'" + whole + "' is not an IPv4 CIDR (a.b.c.d/n): bad number '" + digits + "'");
    }
    int n = Integer.parseInt(digits);
    if (n > max) {
      throw new IllegalArgumentException("'" + whole + "' is not an IPv4 CIDR (a.b.c.d/n): " + n + " is above " + max);
    }
    return n;
  }

  private static int mask(int length) {
    return length == 0 ? 0 : -1 << (32 - length);
  }

  private static String dotted(int a) {
    return ((a >>> 24) & 255) + "." + ((a >>> 16) & 255) + "." + ((a >>> 8) & 255) + "." + (a & 255);
  }
}
