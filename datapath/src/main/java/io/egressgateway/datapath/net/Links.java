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
 * One link by name, read or changed over rtnetlink ({@code RTM_GETLINK}, {@code RTM_NEWLINK},
 * {@code RTM_DELLINK}) instead of an {@code ip link} process: the node agent looks up a pod's {@code wg0} a few
 * times per CNI call, brings a new tunnel device up and moves it into the pod, and deletes it on DEL. A socket is
 * opened in the namespace for the one call and closed (about 0.2 ms; an {@code ip} process is about 3 ms), so none
 * is left holding a pod's namespace. Pure codec ({@link #request}, {@link #parse}, {@link #upRequest},
 * {@link #moveRequest}, {@link #deleteRequest}) and the exchanges.
 */
public final class Links {
  static final int RTM_NEWLINK = 16;
  static final int RTM_DELLINK = 17;
  static final int RTM_GETLINK = 18;
  static final int IFLA_IFNAME = 3;
  static final int IFLA_IFALIAS = 20;
  static final int IFLA_NET_NS_FD = 28;
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
    Path ns = NsThread.named(netnsDir, netns);
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

  /**
   * Brings the link {@code name} in {@code netnsDir/netns} (empty: this process's namespace) up. Fails with
   * {@link NetlinkException} (errno ENODEV: no such link; ENOENT: no such namespace).
   */
  public static void up(Path netnsDir, String netns, String name) throws IOException {
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      s.exchange(seq -> upRequest(seq, name), TIMEOUT);
    }
  }

  /**
   * Deletes the link {@code name} in {@code netnsDir/netns} (empty: this process's namespace). Fails with
   * {@link NetlinkException} (errno ENODEV: no such link; ENOENT: no such namespace).
   */
  public static void delete(Path netnsDir, String netns, String name) throws IOException {
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      s.exchange(seq -> deleteRequest(seq, name), TIMEOUT);
    }
  }

  /**
   * Moves the link {@code name} from {@code netnsDir/from} (empty: this process's namespace) into
   * {@code netnsDir/to}, named {@code newName} there, with {@code alias}, and up: one request, as
   * {@code ip link set dev <name> netns <to> name <newName> alias <alias> up} sends it (the kernel gives the link
   * its new name as it enters the namespace). Fails with {@link NetlinkException} (errno ENODEV: no such link;
   * EEXIST: the name is taken there; ENOENT: no such namespace).
   */
  public static void move(Path netnsDir, String from, String name, String to, String newName, String alias) throws IOException {
    int fd = NsThread.open(netnsDir.resolve(NetnsName.parse(to).value()));
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, from), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      int index = index(s.exchange(seq -> request(seq, name), TIMEOUT));
      s.exchange(seq -> moveRequest(seq, index, fd, newName, alias), TIMEOUT);
    } finally {
      Libc.c().close(fd);
    }
  }

  /** struct ifinfomsg for link {@code index} (0: named by IFLA_IFNAME), setting IFF_UP when {@code up}. */
  private static byte[] ifinfo(int index, boolean up) {
    ByteBuffer b = Netlink.order(ByteBuffer.allocate(IFINFOMSG));
    b.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(index);
    b.putInt(up ? IFF_UP : 0).putInt(up ? IFF_UP : 0);
    return b.array();
  }

  /** RTM_NEWLINK (a change, acknowledged) bringing the link {@code name} up. */
  static byte[] upRequest(int seq, String name) {
    return Netlink.request(RTM_NEWLINK, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, seq, ifinfo(0, true),
        Netlink.stringAttr(IFLA_IFNAME, name));
  }

  /** RTM_DELLINK (acknowledged) for the link {@code name}. */
  static byte[] deleteRequest(int seq, String name) {
    return Netlink.request(RTM_DELLINK, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, seq, ifinfo(0, false),
        Netlink.stringAttr(IFLA_IFNAME, name));
  }

  /** RTM_NEWLINK (a change, acknowledged) moving link {@code index} into the namespace {@code nsFd}. */
  static byte[] moveRequest(int seq, int index, int nsFd, String newName, String alias) {
    byte[] fd = Netlink.order(ByteBuffer.allocate(4)).putInt(nsFd).array();
    return Netlink.request(RTM_NEWLINK, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, seq, ifinfo(index, true),
        Netlink.attr(IFLA_NET_NS_FD, fd), Netlink.stringAttr(IFLA_IFNAME, newName),
        Netlink.attr(IFLA_IFALIAS, alias.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
  }

  /** The index of the link an RTM_NEWLINK answer describes. */
  static int index(List<Netlink.Message> answers) {
    for (Netlink.Message m : answers) {
      if (m.type() == RTM_NEWLINK && m.payload().remaining() >= IFINFOMSG) {
        return m.payload().getInt(4);
      }
    }
    throw new IllegalArgumentException("no link in the answer to RTM_GETLINK");
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
