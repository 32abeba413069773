package io.egressgateway.pod.model;

/**
 * Host-unique WireGuard device names for pods: {@code wg} + the first 8 characters of the container id (as
 * upstream). The name is the device's creation name, kept in the link alias after the move into the pod.
 */
public final class DeviceNames {
  private DeviceNames() {}

  public static String forContainer(String containerId) {
    String clean = containerId == null ? "" : containerId.replaceAll("[^A-Za-z0-9]", "");
    if (clean.length() < 4) {
      throw new IllegalArgumentException("container id too short to name a device: '" + containerId + "'");
    }
    return "wg" + clean.substring(0, Math.min(8, clean.length())).toLowerCase(java.util.Locale.ROOT);
  }
}
