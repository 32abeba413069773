package io.egressgateway.kube.model;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.XECPrivateKey;
import java.security.interfaces.XECPublicKey;
import java.util.Arrays;
import java.util.Base64;

/** WireGuard (Curve25519) key pairs from the JDK: raw 32-byte little-endian keys, base64 like {@code wg genkey}. */
public final class WireGuardKeys {
  private WireGuardKeys() {}

  /** A key pair as two base64 strings. */
  public record Pair(String privateKey, String publicKey) {
    @Override
    public String toString() {
      return "Pair[publicKey=" + publicKey + "]";
    }
  }

  public static Pair generate() {
    try {
      KeyPair kp = KeyPairGenerator.getInstance("X25519").generateKeyPair();
      byte[] priv = ((XECPrivateKey) kp.getPrivate()).getScalar().orElseThrow();
      BigInteger u = ((XECPublicKey) kp.getPublic()).getU();
      return new Pair(Base64.getEncoder().encodeToString(priv), Base64.getEncoder().encodeToString(littleEndian32(u)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 is not available in this JDK", e);
    }
  }

  /** True for the base64 form of exactly 32 bytes. */
  public static boolean isKey(String base64) {
    if (base64 == null || base64.length() != 44) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(base64).length == 32;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static byte[] littleEndian32(BigInteger u) {
    byte[] be = u.toByteArray();
    byte[] le = new byte[32];
    for (int i = 0; i < 32 && i < be.length; i++) {
      le[i] = be[be.length - 1 - i];
    }
    return Arrays.copyOf(le, 32);
  }
}
