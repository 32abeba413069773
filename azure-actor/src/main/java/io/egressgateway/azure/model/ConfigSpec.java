package io.egressgateway.azure.model;

/**
 * What one gateway configuration asks of its pool. {@code provisionPublicIps=false} is private mode (no
 * prefix); otherwise a managed prefix of {@code prefixLength} is created, unless {@code byoPrefixId} names
 * an existing one (whose length must then equal the prefix length). A {@code prefixLength} of 0 leaves the
 * length to the pool: its {@code aks-managed-gatewayIPPrefixSize} tag, else the configured default.
 *
 * <p>{@code legacyRuleName} and {@code legacyIpConfigName} are the names the Go original gave this config's
 * resources (its GatewayLBConfiguration's uid for the LB rule and probe; {@code egressgateway-<its
 * GatewayVMConfiguration's uid>} for the ipConfig, public IP configuration and managed prefix); empty means
 * ours ({@code uid} and {@code egressgateway-<uid>}). The pool keeps the names it accepted first.
 */
public record ConfigSpec(String configKey, String uid, boolean provisionPublicIps, int prefixLength, String byoPrefixId,
                         String legacyRuleName, String legacyIpConfigName) {
  public ConfigSpec {
    byoPrefixId = byoPrefixId == null ? "" : byoPrefixId;
    legacyRuleName = legacyRuleName == null ? "" : legacyRuleName;
    legacyIpConfigName = legacyIpConfigName == null ? "" : legacyIpConfigName;
  }

  public ConfigSpec(String configKey, String uid, boolean provisionPublicIps, int prefixLength, String byoPrefixId) {
    this(configKey, uid, provisionPublicIps, prefixLength, byoPrefixId, "", "");
  }

  public boolean managedPrefix() {
    return provisionPublicIps && byoPrefixId.isEmpty();
  }

  /** Name of the LB rule and probe. */
  public String ruleName() {
    return legacyRuleName.isEmpty() ? uid : legacyRuleName;
  }

  /** Name of the ipConfig, its public IP configuration and the managed prefix. */
  public String ipConfigName() {
    return legacyIpConfigName.isEmpty() ? AzureNames.forConfig(uid) : legacyIpConfigName;
  }

  /** This spec with the Azure names of {@code accepted}: names chosen once never flip. */
  public ConfigSpec withNamesOf(ConfigSpec accepted) {
    return new ConfigSpec(configKey, uid, provisionPublicIps, prefixLength, byoPrefixId, accepted.legacyRuleName, accepted.legacyIpConfigName);
  }

  public ConfigSpec withPrefixLength(int length) {
    return new ConfigSpec(configKey, uid, provisionPublicIps, length, byoPrefixId, legacyRuleName, legacyIpConfigName);
  }

  /** Problems with the spec itself, before any Azure call; empty when valid. */
  public String validationError() {
    if (uid == null || !uid.matches("[A-Za-z0-9-]{1,64}")) {
      return "uid must be 1-64 letters, digits or dashes";
    }
    if (provisionPublicIps && (prefixLength < 0 || prefixLength > 31)) {
      return "publicIpPrefixSize must be between 1 and 31 (or 0 for the pool's), got " + prefixLength;
    }
    if (!provisionPublicIps && !byoPrefixId.isEmpty()) {
      return "publicIpPrefixId is not allowed when provisionPublicIps is false";
    }
    if (!legacyRuleName.isEmpty() && !legacyRuleName.matches("[A-Za-z0-9-]{1,64}")) {
      return "legacy rule name must be 1-64 letters, digits or dashes";
    }
    if (!legacyIpConfigName.isEmpty() && !(AzureNames.isOurs(legacyIpConfigName) && legacyIpConfigName.matches("[A-Za-z0-9-]{15,78}"))) {
      return "legacy ipConfig name must be egressgateway-<uid>";
    }
    return "";
  }
}
