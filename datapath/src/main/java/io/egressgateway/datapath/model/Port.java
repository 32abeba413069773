package io.egressgateway.datapath.model;

/**
 * A UDP or TCP port, 1 to 65535.
 *
 * @param value the number
 */
public record Port(int value) {
  public Port {
    if (value < 1 || value > 65535) {
      throw new IllegalArgumentException("port out of range (1-65535): " + value);
    }
  }

  /** Parses decimal digits only: no sign, no leading zero, no spaces. */
  public static Port parse(String text) {
    if (text == null || text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')
        || text.charAt(0) == '0') {
      throw new IllegalArgumentException("not a port (1-65535): " + Syntax.quote(text));
    }
    return new Port(Integer.parseInt(text));
  }

  @Override
  public String toString() {
    return Integer.toString(value);
  }
}
