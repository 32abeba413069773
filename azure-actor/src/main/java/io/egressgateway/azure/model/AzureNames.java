package io.egressgateway.azure.model;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.UUID;

/** Names shared with the Go original, so a cluster moving over adopts what exists. */
public final class AzureNames {
  public static final String PREFIX = "egressgateway-";
  public static final String DEFAULT_LB = "kubeegressgateway-ilb";
  public static final String POOL_TAG = "aks-managed-poolName";
  /** On a pool's scale set or VMs: the prefix length of node-pool mode configs. */
  public static final String PREFIX_SIZE_TAG = "aks-managed-gatewayIPPrefixSize";
  /** On the NICs AKS pre-creates for a "VirtualMachines" gateway pool (any value). */
  public static final String GATEWAY_NIC_TAG = "aks-managed-static-gateway-nic";
  public static final String OWNER_TAG = "egressgateway-owner";
  public static final String PROBE_PATH = "/gw/";
  /** Namespace of the name-based id of a VM pool (upstream's agent-pool namespace). */
  private static final UUID VM_POOL_NAMESPACE = UUID.fromString("2c96e82c-842f-11f0-8ea5-6bee14278ecd");

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

  /** The last segment of an ARM id. */
  public static String nameOf(String armId) {
    return armId.substring(armId.lastIndexOf('/') + 1);
  }

  /**
   * The unique id of a VM pool (names its ILB frontend and backend pool, as a scale set's {@code uniqueId}
   * does): a name-based UUID version 3, MD5 over the namespace's 16 bytes followed by the pool name in UTF-8.
   */
  public static String vmPoolUniqueId(String poolName) {
    try {
      MessageDigest md5 = MessageDigest.getInstance("MD5");
      ByteBuffer ns = ByteBuffer.allocate(16);
      ns.putLong(VM_POOL_NAMESPACE.getMostSignificantBits()).putLong(VM_POOL_NAMESPACE.getLeastSignificantBits());
      md5.update(ns.array());
      byte[] h = md5.digest(poolName.getBytes(StandardCharsets.UTF_8));
      h[6] = (byte) ((h[6] & 0x0f) | 0x30);
      h[8] = (byte) ((h[8] & 0x3f) | 0x80);
      ByteBuffer b = ByteBuffer.wrap(h);
      return new UUID(b.getLong(), b.getLong()).toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("MD5 is a required JDK algorithm", e);
    }
  }

  /** A VM-pool NIC's public IP from a prefix: {@code <prefix name>-<FNV-1a 64 of the NIC name, hex>}. */
  public static String publicIpName(String prefixName, String nicName) {
    long h = 0xcbf29ce484222325L;
    for (byte b : nicName.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return prefixName + "-" + Long.toHexString(h);
  }
}
