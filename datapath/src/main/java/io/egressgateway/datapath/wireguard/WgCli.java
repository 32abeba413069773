package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.WgPeer;
import java.util.ArrayList;
import java.util.List;

/** {@code wg} argument shapes shared by both backends. */
final class WgCli {
  private WgCli() {}

  /**
   * {@code set <dev> peer <key> allowed-ips <..> [endpoint <..>] persistent-keepalive <n>}; the keepalive is
   * always given, so setting a peer again with 0 turns a keepalive off.
   */
  /** One {@code set <dev>} with a {@code peer ...} clause per peer. */
  static List<String> setPeersArgs(String dev, List<WgPeer> peers) {
    List<String> a = new ArrayList<>(List.of("set", dev));
    for (WgPeer p : peers) {
      List<String> one = setPeerArgs(dev, p);
      a.addAll(one.subList(2, one.size()));
    }
    return a;
  }

  static List<String> setPeerArgs(String dev, WgPeer p) {
    List<String> a = new ArrayList<>(List.of("set", dev, "peer", p.publicKey(), "allowed-ips", String.join(",", p.allowedIps())));
    if (!p.endpoint().isEmpty()) {
      a.add("endpoint");
      a.add(p.endpoint());
    }
    a.add("persistent-keepalive");
    a.add(Integer.toString(Math.max(0, p.keepaliveSeconds())));
    return a;
  }
}
