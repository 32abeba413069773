package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.WgDump;
import java.util.ArrayList;
import java.util.List;

/** One peer's fields as a device reader collects them (UAPI lines, netlink attributes), then the peer. */
final class PeerFields {
  String key;
  String endpoint = "";
  final List<String> allowed = new ArrayList<>();
  long handshake;
  long rx;
  long tx;
  int keepalive;

  PeerFields(String key) {
    this.key = key;
  }

  WgDump.Peer build() {
    return new WgDump.Peer(key, endpoint, allowed, handshake, rx, tx, keepalive);
  }
}
