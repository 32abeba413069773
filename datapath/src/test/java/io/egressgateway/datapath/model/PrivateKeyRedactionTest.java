package io.egressgateway.datapath.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.wireguard.WgKeys;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every value of this module that holds a private key keeps it out of {@code toString} (logs, errors). */
class PrivateKeyRedactionTest {

  @Test
  void noRecordHoldingAPrivateKeyPrintsIt() {
    WgKeys.KeyPair pair = WgKeys.generate();
    WgKeys.KeyPair peer = WgKeys.generate();
    WgConfig config = new WgConfig(pair.privateKey(), 51820,
        List.of(new WgPeer(peer.publicKey(), List.of("10.244.1.5/32"), "", 0)));
    for (Object holder : List.of(pair, config, WgKey.parse(pair.privateKey()))) {
      String shown = holder.toString();
      assertFalse(shown.contains(pair.privateKey()), holder.getClass().getSimpleName() + " shows the private key: " + shown);
      // nor any 12-character piece of it (a truncated key is still a leak)
      for (int i = 0; i + 12 <= pair.privateKey().length(); i += 4) {
        assertFalse(shown.contains(pair.privateKey().substring(i, i + 12)), shown);
      }
    }
    assertTrue(pair.toString().contains(pair.publicKey()), "the public half stays visible for diagnosis");
    assertEquals("WgConfig[listenPort=51820, peers=1]", config.toString());
    assertTrue(config.toConf().contains(pair.privateKey()), "only the device configuration itself carries it");
  }
}
