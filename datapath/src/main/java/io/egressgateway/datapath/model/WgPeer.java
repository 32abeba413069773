package io.egressgateway.datapath.model;

import java.util.List;
import java.util.Objects;

/**
 * One WireGuard peer as we configure it.
 *
 * @param publicKey  base64 public key
 * @param allowedIps CIDRs routed to this peer (a pod is {@code a.b.c.d/32})
 * @param endpoint   {@code host:port} or empty (a gateway learns pod endpoints from handshakes)
 * @param keepaliveSeconds persistent keepalive, 0 = off
 */
public record WgPeer(String publicKey, List<String> allowedIps, String endpoint, int keepaliveSeconds) {
  public WgPeer {
    Objects.requireNonNull(publicKey, "publicKey");
    allowedIps = List.copyOf(allowedIps);
    endpoint = endpoint == null ? "" : endpoint;
    if (keepaliveSeconds < 0 || keepaliveSeconds > 65535) {
      throw new IllegalArgumentException("keepalive out of range: " + keepaliveSeconds);
    }
  }

  public static WgPeer of(String publicKey, String allowedIp) {
    return new WgPeer(publicKey, List.of(allowedIp), "", 0);
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
