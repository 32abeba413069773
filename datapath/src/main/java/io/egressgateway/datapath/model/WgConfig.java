package io.egressgateway.datapath.model;

import java.util.List;
import java.util.Objects;

/**
 * A whole device configuration, applied in one bulk operation ({@code wg setconf}/{@code syncconf}).
 * {@link #toString()} never shows the private key.
 *
 * @param privateKey base64 private key
 * @param listenPort UDP port, 0 = random
 * @param peers      all peers
 */
public record WgConfig(String privateKey, int listenPort, List<WgPeer> peers) {
  public WgConfig {
    Objects.requireNonNull(privateKey, "privateKey");
    if (!WgKey.isValid(privateKey)) {
      throw new IllegalArgumentException("the private key is not a WireGuard key (base64 of 32 bytes)");
    }
    peers = List.copyOf(peers);
    if (listenPort < 0 || listenPort > 65535) {
      throw new IllegalArgumentException("listen port out of range: " + listenPort);
    }
  }

  /** The configuration in {@code wg setconf} syntax (contains the private key: feed it through stdin only). */
  public String toConf() {
    StringBuilder b = new StringBuilder(64 + peers.size() * 120)
        .append("[Interface]\nPrivateKey = ").append(privateKey).append('\n');
    if (listenPort > 0) {
      b.append("ListenPort = ").append(listenPort).append('\n');
    }
    for (WgPeer p : peers) {
      b.append('\n').append(p.toConf());
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return "WgConfig[listenPort=" + listenPort + ", peers=" + peers.size() + "]";
  }
}
