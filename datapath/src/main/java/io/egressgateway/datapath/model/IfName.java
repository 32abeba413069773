package io.egressgateway.datapath.model;

/**
 * A Linux link name: 1 to 15 of {@code [A-Za-z0-9_.-]}, not {@code .} or {@code ..}, not starting with
 * {@code -} (it would read as an option). Also the name of a wireguard-go UAPI socket and log file, so it
 * must never walk out of a directory.
 *
 * @param value the name
 */
public record IfName(String value) {
  /** The kernel's limit (IFNAMSIZ - 1). */
  public static final int MAX = 15;

  public IfName {
    if (value == null || value.isEmpty() || value.length() > MAX || !value.chars().allMatch(IfName::allowed)
        || value.equals(".") || value.equals("..") || value.charAt(0) == '-') {
      throw new IllegalArgumentException("not a link name (1-" + MAX + " of [A-Za-z0-9_.-]): " + Syntax.quote(value));
    }
  }

  public static IfName parse(String text) {
    return new IfName(text);
  }

  static boolean allowed(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  }

  @Override
  public String toString() {
    return value;
  }
}
