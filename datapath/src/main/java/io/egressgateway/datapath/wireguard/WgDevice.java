package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.NetnsName;

/**
 * A WireGuard device wherever it currently is.
 *
 * @param name   host-unique creation name (kept in the link alias; the UAPI name under wireguard-go)
 * @param netns  namespace the link is in now; empty = the agent's own namespace
 * @param ifname the link's current name there ({@code wg0} after a move, else {@link #name()})
 */
public record WgDevice(String name, String netns, String ifname) {
  /** Creation names are link names: at most 15 characters, no '/', ':' or whitespace. */
  public static final int MAX_NAME = IfName.MAX;

  /** Every name is parsed ({@link IfName}, {@link NetnsName}): a device names nothing a command could misread. */
  public WgDevice {
    requireLinkName(name);
    requireLinkName(ifname);
    netns = netns == null ? "" : netns;
    if (!netns.isEmpty()) {
      NetnsName.parse(netns);
    }
  }

  public static WgDevice created(String name, String netns) {
    return new WgDevice(name, netns, name);
  }

  public WgDevice movedTo(String ns, String newName) {
    return new WgDevice(name, ns, newName);
  }

  static void requireLinkName(String n) {
    IfName.parse(n);
  }
}
