package io.egressgateway.datapath.model;

import java.util.List;
import java.util.Objects;

/**
 * One WireGuard peer as we configure it. Every field is parsed when the record is made (a {@link WgKey},
 * canonical CIDRs, an {@link Endpoint}), so a peer can only hold text that is safe as a {@code wg} argument, a
 * {@code wg setconf} line and a UAPI line.
 *
 * @param publicKey  base64 public key
 * @param allowedIps CIDRs routed to this peer (a pod is {@code a.b.c.d/32})
 * @param endpoint   {@code host:port} or empty (a gateway learns pod endpoints from handshakes)
 * @param keepaliveSeconds persistent keepalive, 0 = off
 */
public record WgPeer(String publicKey, List<String> allowedIps, String endpoint, int keepaliveSeconds) {
  public WgPeer {
    Objects.requireNonNull(publicKey, "publicKey");
    WgKey.parse(publicKey);
    allowedIps = List.copyOf(allowedIps);
    allowedIps.forEach(WgPeer::requireAllowedIp);
    endpoint = endpoint == null ? "" : endpoint;
    if (!endpoint.isEmpty()) {
      Endpoint.parse(endpoint);
    }
    if (keepaliveSeconds < 0 || keepaliveSeconds > 65535) {
      throw new IllegalArgumentException("keepalive out of range: " + keepaliveSeconds);
    }
  }

  public static WgPeer of(String publicKey, String allowedIp) {
    return new WgPeer(publicKey, List.of(allowedIp), "", 0);
  }

  /** A peer from typed values; {@code endpoint} may be null (none). */
  public static WgPeer of(WgKey publicKey, List<Ipv4Cidr> allowedIps, Endpoint endpoint, int keepaliveSeconds) {
    return new WgPeer(publicKey.value(), allowedIps.stream().map(Ipv4Cidr::toString).toList(),
        endpoint == null ? "" : endpoint.toString(), keepaliveSeconds);
  }

  /** An allowed IP is a canonical IPv4 CIDR or an IPv6 one ({@code <literal>/<0-128>}). */
  static void requireAllowedIp(String cidr) {
    int slash = cidr == null ? -1 : cidr.indexOf('/');
    if (slash > 0 && cidr.indexOf(':') >= 0 && Syntax.ipv6Literal(cidr.substring(0, slash))) {
      Syntax.decimal(cidr.substring(slash + 1), 128, "IPv6 CIDR", cidr);
      return;
    }
    Ipv4Cidr.parse(cidr);
  }

  /** This peer's {@code [Peer]} section in {@code wg setconf} syntax. */
  public String toConf() {
    StringBuilder b = new StringBuilder("[Peer]\nPublicKey = ").append(publicKey).append('\n');
    if (!allowedIps.isEmpty()) {
      b.append("AllowedIPs = ").append(String.join(",", allowedIps)).append('\n');
    }
    if (!endpoint.isEmpty()) {
      b.append("Endpoint = ").append(endpoint).append('\n');
    }
    if (keepaliveSeconds > 0) {
      b.append("PersistentKeepalive = ").append(keepaliveSeconds).append('\n');
    }
    return b.toString();
  }
}
