package io.egressgateway.datapath.wireguard;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Base64;
import javax.crypto.KeyAgreement;

/**
 * WireGuard keys in pure Java (X25519 from the JDK), in WireGuard's format: 32 raw little-endian bytes,
 * base64. The private key only ever lives in memory and in the device; never log it.
 */
public final class WgKeys {
  /** A key pair; {@link #toString()} hides the private half. */
  public record KeyPair(String privateKey, String publicKey) {
    @Override
    public String toString() {
      return "KeyPair[public=" + publicKey + "]";
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final BigInteger BASE_POINT = BigInteger.valueOf(9);

  private WgKeys() {}

  /** A fresh, clamped private key and its public key. */
  public static KeyPair generate() {
    byte[] k = new byte[32];
    RANDOM.nextBytes(k);
    k[0] &= (byte) 248;
    k[31] &= 127;
    k[31] |= 64;
    String priv = Base64.getEncoder().encodeToString(k);
    return new KeyPair(priv, publicKeyOf(priv));
  }

  /** The public key of a base64 private key (X25519 of the key with the base point, like {@code wg pubkey}). */
  public static String publicKeyOf(String privateKey) {
    byte[] k = decode(privateKey);
    try {
      KeyFactory kf = KeyFactory.getInstance("XDH");
      var priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, k));
      var base = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, BASE_POINT));
      KeyAgreement ka = KeyAgreement.getInstance("XDH");
      ka.init(priv);
      ka.doPhase(base, true);
      return Base64.getEncoder().encodeToString(ka.generateSecret());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a usable X25519 private key", e);
    }
  }

  /** True when {@code key} is base64 of exactly 32 bytes. */
  public static boolean isValid(String key) {
    try {
      return key != null && Base64.getDecoder().decode(key).length == 32;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static byte[] decode(String key) {
    if (!isValid(key)) {
      throw new IllegalArgumentException("a WireGuard key is base64 of 32 bytes");
    }
    return Base64.getDecoder().decode(key);
  }
}
