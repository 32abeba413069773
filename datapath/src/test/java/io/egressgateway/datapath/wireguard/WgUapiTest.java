package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgPeer;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class WgUapiTest {
  @Test
  void setBodiesAreWhatWgWouldSend() {
    WgKeys.KeyPair dev = WgKeys.generate();
    String peer = WgKeys.generate().publicKey();
    String peerHex = HexFormat.of().formatHex(java.util.Base64.getDecoder().decode(peer));
    String conf = WgUapi.configBody(new WgConfig(dev.privateKey(), 6000,
        List.of(new WgPeer(peer, List.of("0.0.0.0/0", "::/0"), "10.224.1.6:6000", 1))));
    assertTrue(conf.startsWith("private_key=" + HexFormat.of().formatHex(java.util.Base64.getDecoder().decode(dev.privateKey()))
        + "\nlisten_port=6000\nreplace_peers=true\npublic_key=" + peerHex + "\n"), conf);
    assertTrue(conf.endsWith("endpoint=10.224.1.6:6000\npersistent_keepalive_interval=1\nreplace_allowed_ips=true\n"
        + "allowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"), conf);
    assertEquals("public_key=" + peerHex + "\nremove=true\n", WgUapi.removeBody(peer));
    assertEquals("public_key=" + peerHex + "\nendpoint=[fd00::1]:6000\npersistent_keepalive_interval=0\n"
        + "replace_allowed_ips=true\nallowed_ip=10.244.1.5/32\n",
        WgUapi.peerBody(new WgPeer(peer, List.of("10.244.1.5/32"), "[fd00::1]:6000", 0)));
    assertThrows(IllegalArgumentException.class, () -> WgUapi.peerBody(new WgPeer(peer, List.of(), "gw.example:6000", 0)));
    assertThrows(IllegalArgumentException.class, () -> WgUapi.removeBody("bm90IGEga2V5"));
  }
}
