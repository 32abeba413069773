package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Base64;
import javax.crypto.KeyAgreement;
import org.junit.jupiter.api.Test;

class WireGuardKeysTest {

  @Test
  void keysAreWireGuardShapedAndFresh() {
    WireGuardKeys.Pair a = WireGuardKeys.generate();
    WireGuardKeys.Pair b = WireGuardKeys.generate();
    assertTrue(WireGuardKeys.isKey(a.privateKey()));
    assertTrue(WireGuardKeys.isKey(a.publicKey()));
    assertNotEquals(a.privateKey(), b.privateKey());
    assertFalse(a.toString().contains(a.privateKey()), "toString never shows the private key");
    assertFalse(WireGuardKeys.isKey("abc"));
  }

  /** Rebuilding the keys from their raw encodings gives the same Diffie-Hellman secret both ways. */
  @Test
  void rawEncodingsRoundTripThroughX25519() throws Exception {
    WireGuardKeys.Pair a = WireGuardKeys.generate();
    WireGuardKeys.Pair b = WireGuardKeys.generate();
    assertArrayEquals(agree(a.privateKey(), b.publicKey()), agree(b.privateKey(), a.publicKey()));
  }

  static byte[] agree(String priv, String pub) throws Exception {
    KeyFactory kf = KeyFactory.getInstance("XDH");
    PrivateKey k = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, Base64.getDecoder().decode(priv)));
    byte[] le = Base64.getDecoder().decode(pub);
    byte[] be = new byte[33];
    for (int i = 0; i < 32; i++) {
      be[32 - i] = le[i];
    }
    PublicKey p = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, new BigInteger(be)));
    KeyAgreement ka = KeyAgreement.getInstance("XDH");
    ka.init(k);
    ka.doPhase(p, true);
    return ka.generateSecret();
  }
}
