package io.egressgateway.datapath.model;

/**
 * The name of a named network namespace (a file under {@code /var/run/netns}): 1 to 255 of
 * {@code [A-Za-z0-9_.-]}, not {@code .} or {@code ..}, not starting with {@code -}. No {@code /}, so it
 * never names a file elsewhere; no whitespace or control character, so it is one argument and one word
 * of a batch line.
 *
 * @param value the name
 */
public record NetnsName(String value) {
  public static final int MAX = 255;

  public NetnsName {
    if (value == null || value.isEmpty() || value.length() > MAX || !value.chars().allMatch(IfName::allowed)
        || value.equals(".") || value.equals("..") || value.charAt(0) == '-') {
      throw new IllegalArgumentException("not a network namespace name (1-" + MAX + " of [A-Za-z0-9_.-]): "
          + Syntax.quote(value));
    }
  }

  public static NetnsName parse(String text) {
    return new NetnsName(text);
  }

  @Override
  public String toString() {
    return value;
  }
}
