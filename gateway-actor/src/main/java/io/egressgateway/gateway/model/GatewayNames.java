package io.egressgateway.gateway.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Names of what we create for a config on one node; the prefixes are our ownership markers. Device and
 * veth names are link names (15 characters at most) and host-unique: they hash the node name with the
 * config uid, so several simulated gateway nodes on one machine never collide.
 *
 * @param node         this node's name
 * @param netnsPrefix  prefix of our per-config namespaces (the rest is the config uid)
 */
public record GatewayNames(String node, String netnsPrefix) {
  public static final String TUNNEL_IF = "wg0";
  public static final String HOST_IF = "host0";
  public static final String NFT_TABLE = "egress_gateway";
  /**
   * A config uid as Kubernetes makes them (lower-case alphanumerics and inner dashes, at most 63): it is part
   * of a namespace name and of an iptables comment, so a leading dash (an option to a command) is refused.
   */
  private static final java.util.regex.Pattern UID = java.util.regex.Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  public GatewayNames {
    if (node == null || node.isBlank()) {
      throw new IllegalArgumentException("node name is required");
    }
    if (netnsPrefix == null || !netnsPrefix.matches("[A-Za-z0-9_.-]{1,40}")) {
      throw new IllegalArgumentException("netns prefix must be 1-40 of [A-Za-z0-9_.-]: '" + netnsPrefix + "'");
    }
  }

  public String netns(String uid) {
    requireUid(uid);
    return netnsPrefix + uid;
  }

  /** The config uid of one of our namespaces, or null for a namespace that is not ours. */
  public String uidOf(String netns) {
    if (!netns.startsWith(netnsPrefix)) {
      return null;
    }
    String uid = netns.substring(netnsPrefix.length());
    return UID.matcher(uid).matches() ? uid : null;
  }

  /** Host-unique WireGuard creation name (link alias; wireguard-go UAPI name). */
  public String device(String uid) {
    return "egw" + hash(uid);
  }

  /** Host end of the veth whose other end is {@code host0} in the config namespace. */
  public String hostVeth(String uid) {
    return "egv" + hash(uid);
  }

  public static void requireUid(String uid) {
    if (uid == null || !UID.matcher(uid).matches()) {
      throw new IllegalArgumentException("not a config uid: '" + uid + "'");
    }
  }

  private String hash(String uid) {
    requireUid(uid);
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest((node + "/" + uid).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
