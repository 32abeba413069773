package io.egressgateway.datapath.model;

import java.util.Base64;

/**
 * A WireGuard key (public or private) in its canonical form: standard base64 of exactly 32 bytes, 44
 * characters with the padding, nothing around it. {@link #toString()} never shows the key: a public key
 * is printed with {@link #value()} where that is wanted, and a private key never.
 *
 * @param value the base64 text
 */
public record WgKey(String value) {
  public WgKey {
    if (!isValid(value)) {
      throw new IllegalArgumentException("not a WireGuard key (base64 of 32 bytes, 44 characters)"
          + (value == null ? "" : ", got " + value.length() + " characters"));
    }
  }

  public static WgKey parse(String text) {
    return new WgKey(text);
  }

  /** True when {@code text} is canonical base64 of 32 bytes. */
  public static boolean isValid(String text) {
    if (text == null || text.length() != 44) {
      return false;
    }
    try {
      byte[] raw = Base64.getDecoder().decode(text);
      return raw.length == 32 && Base64.getEncoder().encodeToString(raw).equals(text);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The 32 raw bytes. */
  public byte[] bytes() {
    return Base64.getDecoder().decode(value);
  }

  @Override
  public String toString() {
    return "WgKey[redacted]";
  }
}
