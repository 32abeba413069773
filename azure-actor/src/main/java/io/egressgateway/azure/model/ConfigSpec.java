package io.egressgateway.azure.model;

/**
 * What one gateway configuration asks of its pool. {@code provisionPublicIps=false} is private mode (no
 * prefix); otherwise a managed prefix of {@code prefixLength} is created, unless {@code byoPrefixId} names
 * an existing one (whose length must then equal {@code prefixLength}).
 */
public record ConfigSpec(String configKey, String uid, boolean provisionPublicIps, int prefixLength, String byoPrefixId) {
  public ConfigSpec {
    byoPrefixId = byoPrefixId == null ? "" : byoPrefixId;
  }

  public boolean managedPrefix() {
    return provisionPublicIps && byoPrefixId.isEmpty();
  }

  /** Problems with the spec itself, before any Azure call; empty when valid. */
  public String validationError() {
    if (uid == null || !uid.matches("[A-Za-z0-9-]{1,64}")) {
      return "uid must be 1-64 letters, digits or dashes";
    }
    if (provisionPublicIps && (prefixLength < 1 || prefixLength > 31)) {
      return "publicIpPrefixSize must be between 1 and 31, got " + prefixLength;
    }
    if (!provisionPublicIps && !byoPrefixId.isEmpty()) {
      return "publicIpPrefixId is not allowed when provisionPublicIps is false";
    }
    return "";
  }
}
