package io.egressgateway.pod.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Host-unique WireGuard device names for pods: {@code wg} + 12 hex characters of the SHA-256 of the
 * container id (14 characters, within the 15 a link name allows). A hash rather than a prefix of the id
 * (as upstream does): ids that share their start (some runtimes and test API servers hand out sequential
 * ones) still get distinct names, and 48 bits make a collision among a node's pods negligible. The name
 * is the device's creation name, kept in the link alias after the move into the pod.
 */
public final class DeviceNames {
  private DeviceNames() {}

  public static String forContainer(String containerId) {
    String clean = containerId == null ? "" : containerId.trim();
    if (clean.length() < 4) {
      throw new IllegalArgumentException("container id too short to name a device: '" + containerId + "'");
    }
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(clean.getBytes(StandardCharsets.UTF_8));
      return "wg" + HexFormat.of().formatHex(h, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
