package io.egressgateway.datapath.model;

/**
 * A WireGuard peer endpoint {@code host:port}: the host is an IPv4 address ({@link Ipv4Address}), an IPv6
 * literal in brackets, or a DNS name (labels of {@code [A-Za-z0-9-]}, not starting or ending with
 * {@code -}). Nothing else, so it is one argument of {@code wg} and one line of a UAPI request.
 *
 * @param host the host as written (brackets kept for IPv6)
 * @param port the port
 */
public record Endpoint(String host, Port port) {
  public Endpoint {
    if (!validHost(host)) {
      throw new IllegalArgumentException("not an endpoint host (IPv4, [IPv6] or DNS name): " + Syntax.quote(host));
    }
    java.util.Objects.requireNonNull(port, "port");
  }

  public static Endpoint of(Ipv4Address ip, Port port) {
    return new Endpoint(ip.toString(), port);
  }

  /** Parses {@code host:port}. */
  public static Endpoint parse(String text) {
    int colon = text == null ? -1 : text.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("not an endpoint (host:port): " + Syntax.quote(text));
    }
    return new Endpoint(text.substring(0, colon), Port.parse(text.substring(colon + 1)));
  }

  /** True when the host is a literal address (what wireguard-go's UAPI takes), not a name. */
  public boolean literal() {
    return host.startsWith("[") || Ipv4Address.isValid(host);
  }

  private static boolean validHost(String h) {
    if (h == null || h.isEmpty() || h.length() > 253) {
      return false;
    }
    if (h.startsWith("[")) {
      return h.endsWith("]") && Syntax.ipv6Literal(h.substring(1, h.length() - 1));
    }
    if (h.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.')) {
      return Ipv4Address.isValid(h);
    }
    for (String label : h.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")
          || !label.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
