package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.Endpoint;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgKey;
import java.io.IOException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * wireguard-go's UAPI ({@code get=1}, {@code set=1}) without exec'ing {@code wg}: the bodies of set requests
 * and the parse of a get's answer. {@link UapiConnections} carries them over the device's socket. The pod
 * failover watchdog reads every tunnel several times a second, and a CNI ADD or a gateway's peer change should
 * not pay for a process start each; a socket round trip costs a small fraction of one.
 */
public final class WgUapi {
  private static final HexFormat HEX = HexFormat.of();

  private WgUapi() {}

  /** A whole configuration: key, port, and exactly these peers ({@code wg setconf}). */
  public static String configBody(io.egressgateway.datapath.model.WgConfig c) {
    StringBuilder b = new StringBuilder("private_key=").append(hex(c.privateKey())).append('\n');
    if (c.listenPort() > 0) {
      b.append("listen_port=").append(c.listenPort()).append('\n');
    }
    b.append("replace_peers=true\n");
    c.peers().forEach(p -> b.append(peerBody(p)));
    return b.toString();
  }

  /** Adds or updates a peer like {@code wg set <dev> peer ...}: its allowed IPs replaced, keepalive set. */
  public static String peerBody(io.egressgateway.datapath.model.WgPeer p) {
    if (!p.endpoint().isEmpty() && !(Endpoint.parse(p.endpoint()).literal() && LITERAL_ENDPOINT.matcher(p.endpoint()).matches())) {
      throw new IllegalArgumentException("UAPI takes literal endpoints only, not " + p.endpoint());
    }
    StringBuilder b = new StringBuilder("public_key=").append(hex(p.publicKey())).append('\n');
    if (!p.endpoint().isEmpty()) {
      b.append("endpoint=").append(p.endpoint()).append('\n');
    }
    b.append("persistent_keepalive_interval=").append(p.keepaliveSeconds()).append('\n');
    b.append("replace_allowed_ips=true\n");
    p.allowedIps().forEach(ip -> b.append("allowed_ip=").append(ip).append('\n'));
    return b.toString();
  }

  public static String removeBody(String publicKey) {
    return "public_key=" + hex(publicKey) + "\nremove=true\n";
  }

  private static final java.util.regex.Pattern LITERAL_ENDPOINT =
      java.util.regex.Pattern.compile("(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9a-fA-F:.]+\\]):\\d{1,5}");

  private static String hex(String base64) {
    return HEX.formatHex(WgKey.parse(base64).bytes());
  }

  /**
   * Parses a {@code get=1} answer: interface keys first, then one block per peer starting at public_key. The
   * device's public key comes from its private key (hex) through {@code publicKeyOfHex}.
   */
  static WgDump parse(String reply, java.util.function.UnaryOperator<String> publicKeyOfHex) throws IOException {
    String publicKey = "";
    int listenPort = 0;
    Map<String, WgDump.Peer> peers = new LinkedHashMap<>();
    PeerFields peer = null;
    for (String line : reply.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new IOException("not a UAPI line: " + line);
      }
      String k = line.substring(0, eq);
      String v = line.substring(eq + 1);
      switch (k) {
        case "errno" -> {
          if (!v.equals("0")) {
            throw new IOException("UAPI get failed with errno " + v);
          }
        }
        case "private_key" -> publicKey = publicKeyOfHex.apply(v);
        case "listen_port" -> listenPort = Integer.parseInt(v);
        case "public_key" -> {
          if (peer != null) {
            peers.put(peer.key, peer.build());
          }
          peer = new PeerFields(base64OfHex(v));
        }
        case "endpoint" -> requirePeer(peer, k).endpoint = v;
        case "allowed_ip" -> requirePeer(peer, k).allowed.add(v);
        case "last_handshake_time_sec" -> requirePeer(peer, k).handshake = Long.parseLong(v);
        case "rx_bytes" -> requirePeer(peer, k).rx = Long.parseLong(v);
        case "tx_bytes" -> requirePeer(peer, k).tx = Long.parseLong(v);
        case "persistent_keepalive_interval" -> requirePeer(peer, k).keepalive = Integer.parseInt(v);
        default -> { } // fwmark, preshared_key, protocol_version, last_handshake_time_nsec
      }
    }
    if (peer != null) {
      peers.put(peer.key, peer.build());
    }
    return new WgDump(publicKey, listenPort, peers);
  }

  private static PeerFields requirePeer(PeerFields p, String key) throws IOException {
    if (p == null) {
      throw new IOException("UAPI key " + key + " before any public_key");
    }
    return p;
  }

  static String base64OfHex(String hex) {
    return Base64.getEncoder().encodeToString(HEX.parseHex(hex));
  }
}
