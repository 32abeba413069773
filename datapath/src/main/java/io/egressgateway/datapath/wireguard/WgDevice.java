package io.egressgateway.datapath.wireguard;

/**
 * A WireGuard device wherever it currently is.
 *
 * @param name   host-unique creation name (kept in the link alias; the UAPI name under wireguard-go)
 * @param netns  namespace the link is in now; empty = the agent's own namespace
 * @param ifname the link's current name there ({@code wg0} after a move, else {@link #name()})
 */
public record WgDevice(String name, String netns, String ifname) {
  /** Creation names are link names: at most 15 characters, no '/', ':' or whitespace. */
  public static final int MAX_NAME = 15;

  public WgDevice {
    requireLinkName(name);
    requireLinkName(ifname);
    netns = netns == null ? "" : netns;
  }

  public static WgDevice created(String name, String netns) {
    return new WgDevice(name, netns, name);
  }

  public WgDevice movedTo(String ns, String newName) {
    return new WgDevice(name, ns, newName);
  }

  static void requireLinkName(String n) {
    if (n == null || n.isEmpty() || n.length() > MAX_NAME || !n.matches("[A-Za-z0-9_.-]+")) {
      throw new IllegalArgumentException("not a link name: '" + n + "'");
    }
  }
}
