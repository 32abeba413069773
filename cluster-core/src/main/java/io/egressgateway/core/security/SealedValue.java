package io.egressgateway.core.security;

import io.egressgateway.core.CborSerializable;
import java.util.Arrays;

/**
 * Bytes sealed by {@link Seals}, as a value of replicated data: every member gossips it on, none can change it
 * without breaking its signature, and each reader opens it itself.
 */
public record SealedValue(byte[] bytes) implements CborSerializable {
  @Override
  public boolean equals(Object o) {
    return o instanceof SealedValue s && Arrays.equals(bytes, s.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "SealedValue[" + bytes.length + " bytes]";
  }
}
