package io.egressgateway.datapath.net;

import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One link by name, read over rtnetlink ({@code RTM_GETLINK}) instead of an {@code ip -o link show} process: the
 * node agent looks up a pod's {@code wg0} a few times per CNI call. A socket is opened in the namespace for the
 * one request and closed (about 0.2 ms; an {@code ip} process is about 3 ms), so none is left holding a pod's
 * namespace. Pure codec ({@link #request}, {@link #parse}) and the exchange.
 */
public final class Links {
  static final int RTM_NEWLINK = 16;
  static final int RTM_GETLINK = 18;
  static final int IFLA_IFNAME = 3;
  static final int IFLA_IFALIAS = 20;
  static final int IFF_UP = 0x1;
  /** struct ifinfomsg: family, pad, type, index, flags, change. */
  static final int IFINFOMSG = 16;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private Links() {}

  /**
   * The link {@code name} in {@code netnsDir/netns} (empty: this process's namespace); empty when there is no
   * such link or no such namespace, as {@code ip -n <ns> link show dev <name>} would fail. Other failures
   * (netlink unusable here) are thrown for the caller to fall back.
   */
  public static Optional<Net.Link> get(Path netnsDir, String netns, String name) throws IOException {
    Path ns = netns == null || netns.isEmpty() ? null : netnsDir.resolve(NetnsName.parse(netns).value());
    NetlinkSocket s;
    try {
      s = NetlinkSocket.open(ns, NetlinkSocket.NETLINK_ROUTE, TIMEOUT);
    } catch (NetlinkException e) {
      if (e.errno() == NetlinkSocket.ENOENT) {
        return Optional.empty(); // no such namespace
      }
      throw e;
    }
    try (s) {
      return Optional.of(parse(s.exchange(seq -> request(seq, name), TIMEOUT)));
    } catch (NetlinkException e) {
      if (e.errno() == NetlinkSocket.ENODEV) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** RTM_GETLINK for one link by name. */
  static byte[] request(int seq, String name) {
    return Netlink.request(RTM_GETLINK, Netlink.NLM_F_REQUEST, seq, new byte[IFINFOMSG], Netlink.stringAttr(IFLA_IFNAME, name));
  }

  /** The link an RTM_NEWLINK answer describes. */
  static Net.Link parse(List<Netlink.Message> answers) {
    for (Netlink.Message m : answers) {
      if (m.type() != RTM_NEWLINK || m.payload().remaining() < IFINFOMSG) {
        continue;
      }
      ByteBuffer p = m.payload();
      boolean up = (p.getInt(8) & IFF_UP) != 0;
      String name = null;
      String alias = "";
      for (Netlink.Attr a : m.attrs(IFINFOMSG)) {
        if (a.type() == IFLA_IFNAME) {
          name = a.string();
        } else if (a.type() == IFLA_IFALIAS) {
          alias = a.string();
        }
      }
      if (name != null) {
        return new Net.Link(name, alias, up);
      }
    }
    throw new IllegalArgumentException("no link in the answer to RTM_GETLINK");
  }
}
