package io.egressgateway.datapath.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code wg show <dev> dump} reports, without the private key (dropped while parsing).
 *
 * @param publicKey  the device's public key, empty when no private key is set
 * @param listenPort the UDP port, 0 when none
 * @param peers      peers by public key
 */
public record WgDump(String publicKey, int listenPort, Map<String, Peer> peers) {
  public WgDump {
    peers = Map.copyOf(peers);
  }

  /** One peer line. */
  public record Peer(String publicKey, String endpoint, List<String> allowedIps, long latestHandshake,
      long rxBytes, long txBytes, int keepaliveSeconds) {
    public Peer {
      allowedIps = List.copyOf(allowedIps);
    }
  }

  /** Parses the tab-separated dump format; the first line is the interface, every further line a peer. */
  public static WgDump parse(String dump) {
    String[] lines = dump.strip().split("\n");
    if (lines.length == 0 || lines[0].isBlank()) {
      throw new IllegalArgumentException("empty wg dump");
    }
    String[] head = lines[0].split("\t");
    if (head.length < 4) {
      throw new IllegalArgumentException("not a wg dump interface line (" + head.length + " fields)");
    }
    String pub = "(none)".equals(head[1]) ? "" : head[1];
    Map<String, Peer> peers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].split("\t");
      if (f.length < 8) {
        throw new IllegalArgumentException("not a wg dump peer line (" + f.length + " fields)");
      }
      List<String> ips = "(none)".equals(f[3]) || f[3].isEmpty() ? List.of() : List.of(f[3].split(","));
      peers.put(f[0], new Peer(f[0], "(none)".equals(f[2]) ? "" : f[2], ips, Long.parseLong(f[4]),
          Long.parseLong(f[5]), Long.parseLong(f[6]), "off".equals(f[7]) ? 0 : Integer.parseInt(f[7])));
    }
    return new WgDump(pub, Integer.parseInt(head[2]), peers);
  }
}
