package io.egressgateway.azure.model;

import java.util.Locale;

/** Names shared with the Go original, so a cluster moving over adopts what exists. */
public final class AzureNames {
  public static final String PREFIX = "egressgateway-";
  public static final String DEFAULT_LB = "kubeegressgateway-ilb";
  public static final String POOL_TAG = "aks-managed-poolName";
  public static final String OWNER_TAG = "egressgateway-owner";
  public static final String PROBE_PATH = "/gw/";

  private AzureNames() {}

  /** The per-config ipConfig, public IP configuration and managed prefix name. */
  public static String forConfig(String uid) {
    return PREFIX + uid;
  }

  public static boolean isOurs(String name) {
    return name != null && name.toLowerCase(Locale.ROOT).startsWith(PREFIX);
  }

  public static String uidOf(String name) {
    return name.substring(PREFIX.length());
  }
}
