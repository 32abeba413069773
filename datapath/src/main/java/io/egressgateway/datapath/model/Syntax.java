package io.egressgateway.datapath.model;

/** Shared pieces of the strict parsers of this package. */
final class Syntax {
  private Syntax() {}

  /**
   * A decimal number of at most three digits without a leading zero, at most {@code max}; {@code what} and
   * {@code whole} name the value in the message.
   */
  static int decimal(String digits, int max, String what, String whole) {
    if (digits.isEmpty() || digits.length() > 3 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
        || (digits.length() > 1 && digits.charAt(0) == '0')) {
      throw new IllegalArgumentException(quote(whole) + " is not an " + what + ": bad number " + quote(digits));
    }
    int n = Integer.parseInt(digits);
    if (n > max) {
      throw new IllegalArgumentException(quote(whole) + " is not an " + what + ": " + n + " is above " + max);
    }
    return n;
  }

  /** An IPv6 literal as far as commands are concerned: hex digits, ':' and '.', at most 45 characters. */
  static boolean ipv6Literal(String s) {
    return s != null && !s.isEmpty() && s.length() <= 45 && s.indexOf(':') >= 0
        && s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.');
  }

  /**
   * {@code s} in quotes for an error message, with control characters shown as escapes and cut at 80
   * characters, so that a hostile value cannot forge lines in a log.
   */
  static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder("'");
    for (int i = 0; i < s.length() && i < 80; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append(s.length() > 80 ? "...'" : "'").toString();
  }
}
