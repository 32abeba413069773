package io.egressgateway.datapath.net;

import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NextHop;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A namespace's routes and rules over rtnetlink instead of an {@code ip -batch} process: the node agent reads a
 * pod's rule and the routes it marked with its protocol, and makes its changes, on every CNI ADD and DEL. One
 * socket is opened in the namespace for the call and closed. Reads answer what {@code ip -4 -j rule show pref P}
 * and {@code ip -4 -j route show table all proto P} would ({@link Entry} holds a route as {@code ip} names its
 * parts); changes are the messages {@code ip rule add|del} and {@code ip route replace|del} send for the same
 * words ({@link IpBatch.Op}). Pure codec ({@link #routeRequest}, {@link #ruleRequest}, {@link #parseRoutes},
 * {@link #parseRule}, {@link #ipv6Text}) and the exchanges.
 */
public final class Routes {
  static final int RTM_NEWROUTE = 24;
  static final int RTM_DELROUTE = 25;
  static final int RTM_GETROUTE = 26;
  static final int RTM_NEWRULE = 32;
  static final int RTM_DELRULE = 33;
  static final int RTM_GETRULE = 34;
  static final int NLM_F_REPLACE = 0x100;
  static final int NLM_F_EXCL = 0x200;
  static final int NLM_F_CREATE = 0x400;
  static final int AF_INET = 2;
  static final int AF_INET6 = 10;
  static final int RTA_DST = 1;
  static final int RTA_OIF = 4;
  static final int RTA_GATEWAY = 5;
  static final int RTA_TABLE = 15;
  static final int RTA_VIA = 18;
  static final int FRA_PRIORITY = 6;
  static final int FRA_FWMARK = 10;
  static final int FRA_TABLE = 15;
  static final int RT_SCOPE_UNIVERSE = 0;
  static final int RT_SCOPE_LINK = 253;
  static final int RT_SCOPE_NOWHERE = 255;
  static final int RTN_UNICAST = 1;
  static final int FR_ACT_TO_TBL = 1;
  /** struct rtmsg and struct fib_rule_hdr: eight bytes, then 32 bits of flags. */
  static final int RTMSG = 12;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private Routes() {}

  /**
   * One IPv4 route as {@code ip -j route show} names its parts: {@code dst} a CIDR ({@code 0.0.0.0/0} for the
   * default), {@code via} the next hop ({@code inet6 <addr>} for an IPv6 one) or empty for an on-link route,
   * {@code dev} the output device (empty when the route has none, a blackhole or multipath route say),
   * {@code table} the table's number.
   */
  public record Entry(String dst, String via, String dev, int table) {}

  /** What a namespace holds of ours: whether a rule sits at the preference asked for, and the marked routes. */
  public record Owned(boolean rule, List<Entry> routes) {}

  /**
   * The rule at {@code pref} (not asked when negative) and the IPv4 routes of protocol {@code proto} in every
   * table of {@code netnsDir/netns} (empty: this process's namespace). Fails with {@link NetlinkException} (errno
   * ENOENT: no such namespace).
   */
  public static Owned read(Path netnsDir, String netns, int pref, int proto) throws IOException {
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      boolean rule = pref >= 0 && parseRule(s.exchange(Routes::ruleDump, TIMEOUT), pref);
      List<Netlink.Message> routes = s.exchange(Routes::routeDump, TIMEOUT);
      Map<Integer, String> names = linkNames(s.exchange(Routes::linkDump, TIMEOUT));
      return new Owned(rule, parseRoutes(routes, proto, names));
    }
  }

  /** An IPv4 rule: its preference and the table it looks up (0: none, another action). */
  public record RuleEntry(int pref, int table) {}

  /** An IPv4 route of any table and protocol: {@link Entry}, with its route type (1: unicast). */
  public record RouteEntry(Entry route, int type) {}

  /**
   * A namespace's IPv4 rules, routes (every table) and addresses (by device, {@code a.b.c.d/len}, in the kernel's
   * order): what the gateway checks its configuration against, in one exchange per kind instead of an {@code ip}
   * process per question.
   */
  public record Snapshot(List<RuleEntry> rules, List<RouteEntry> routes, Map<String, List<String>> addresses) {
    /** The first address of {@code dev}, without its prefix length; empty when it has none. */
    public String firstAddress(String dev) {
      List<String> a = addresses.getOrDefault(dev, List.of());
      return a.isEmpty() ? "" : a.get(0).substring(0, a.get(0).indexOf('/'));
    }
  }

  /** The IPv4 rules, routes and addresses of {@code netnsDir/netns} (empty: this process's). Fails as {@link #read}. */
  public static Snapshot snapshot(Path netnsDir, String netns) throws IOException {
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      List<Netlink.Message> rules = s.exchange(Routes::ruleDump, TIMEOUT);
      List<Netlink.Message> routes = s.exchange(Routes::routeDump, TIMEOUT);
      List<Netlink.Message> addrs = s.exchange(Routes::addrDump, TIMEOUT);
      Map<Integer, String> names = linkNames(s.exchange(Routes::linkDump, TIMEOUT));
      return new Snapshot(parseRules(rules), parseAllRoutes(routes, names), parseAddresses(addrs, names));
    }
  }

  static final int RTM_NEWADDR = 20;
  static final int RTM_GETADDR = 22;
  static final int IFA_ADDRESS = 1;
  static final int IFA_LOCAL = 2;
  /** struct ifaddrmsg: family, prefix length, flags, scope, index. */
  static final int IFADDRMSG = 8;

  static byte[] addrDump(int seq) {
    byte[] h = new byte[IFADDRMSG];
    h[0] = AF_INET;
    return Netlink.request(RTM_GETADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, h);
  }

  /** Every IPv4 rule of a rule dump: preference (0 when the kernel leaves it out) and table. */
  static List<RuleEntry> parseRules(List<Netlink.Message> dump) {
    List<RuleEntry> out = new ArrayList<>();
    for (Netlink.Message m : dump) {
      if (m.type() != RTM_NEWRULE || m.payload().remaining() < RTMSG || m.payload().get(0) != AF_INET) {
        continue;
      }
      long pref = 0;
      long table = Byte.toUnsignedInt(m.payload().get(4));
      for (Netlink.Attr a : m.attrs(RTMSG)) {
        if (a.type() == FRA_PRIORITY) {
          pref = a.u32();
        } else if (a.type() == FRA_TABLE) {
          table = a.u32();
        }
      }
      out.add(new RuleEntry((int) pref, (int) table));
    }
    return out;
  }

  /** Every IPv4 route of a route dump, whatever its protocol, with its type. */
  static List<RouteEntry> parseAllRoutes(List<Netlink.Message> dump, Map<Integer, String> names) {
    List<RouteEntry> out = new ArrayList<>();
    for (Netlink.Message m : dump) {
      if (isIpv4Route(m)) {
        out.add(new RouteEntry(route(m, names), Byte.toUnsignedInt(m.payload().get(7))));
      }
    }
    return out;
  }

  /** IPv4 addresses by device name ({@code a.b.c.d/len}), in the dump's order. */
  static Map<String, List<String>> parseAddresses(List<Netlink.Message> dump, Map<Integer, String> names) {
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    for (Netlink.Message m : dump) {
      ByteBuffer p = m.payload();
      if (m.type() != RTM_NEWADDR || p.remaining() < IFADDRMSG || p.get(0) != AF_INET) {
        continue;
      }
      int len = Byte.toUnsignedInt(p.get(1));
      String dev = names.getOrDefault(p.getInt(4), "");
      Integer local = null;
      Integer address = null;
      for (Netlink.Attr a : m.attrs(IFADDRMSG)) {
        if (a.type() == IFA_LOCAL && a.value().remaining() == 4) {
          local = a.value().order(java.nio.ByteOrder.BIG_ENDIAN).getInt(0);
        } else if (a.type() == IFA_ADDRESS && a.value().remaining() == 4) {
          address = a.value().order(java.nio.ByteOrder.BIG_ENDIAN).getInt(0);
        }
      }
      // ip shows IFA_LOCAL as the address (IFA_ADDRESS is the peer's on a point-to-point link)
      Integer shown = local != null ? local : address;
      if (shown != null) {
        out.computeIfAbsent(dev, d -> new ArrayList<>()).add(new Ipv4Address(shown) + "/" + len);
      }
    }
    return out;
  }

  /** What became of one change: done, or refused by the kernel with its errno. */
  public record Outcome(IpBatch.Op op, int errno) {
    public boolean done() {
      return errno == 0;
    }
  }

  /**
   * Makes the changes {@code ops} in {@code netnsDir/netns} in order, each acknowledged, and returns what became
   * of each one tried: all of them when {@code force}, else up to and including the first the kernel refused
   * (as {@code ip -batch} and {@code ip -force -batch} go on). Other failures (no answer in time, the socket)
   * are thrown, and so is a namespace that does not exist (errno ENOENT). {@code done} is told each change
   * made, so that a caller that falls back to a command knows where to start.
   */
  public static List<Outcome> apply(Path netnsDir, String netns, List<IpBatch.Op> ops, boolean force,
      java.util.function.IntConsumer done) throws IOException {
    List<Outcome> out = new ArrayList<>();
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_ROUTE, TIMEOUT)) {
      Map<String, Integer> indexes = new HashMap<>();
      for (int i = 0; i < ops.size(); i++) {
        IpBatch.Op op = ops.get(i);
        int errno = 0;
        try {
          int oif = op instanceof IpBatch.RouteOp r ? index(s, indexes, r.dev().value()) : 0;
          s.exchange(seq -> request(seq, op, oif), TIMEOUT);
        } catch (NetlinkException e) {
          if (e.errno() == Libc.EAGAIN || e.errno() == 0) {
            throw e;
          }
          errno = e.errno();
        }
        out.add(new Outcome(op, errno));
        done.accept(i + 1);
        if (errno != 0 && !force) {
          break;
        }
      }
    }
    return out;
  }

  private static int index(NetlinkSocket s, Map<String, Integer> indexes, String dev) throws IOException {
    Integer known = indexes.get(dev);
    if (known == null) {
      known = Links.index(s.exchange(seq -> Links.request(seq, dev), TIMEOUT));
      indexes.put(dev, known);
    }
    return known;
  }

  static int type(IpBatch.Op op) {
    if (op instanceof IpBatch.RouteOp r) {
      return r.verb() == IpBatch.RouteVerb.REPLACE ? RTM_NEWROUTE : RTM_DELROUTE;
    }
    return op instanceof IpBatch.RuleAdd ? RTM_NEWRULE : RTM_DELRULE;
  }

  /** The flags {@code ip} sends: replace creates or replaces; a rule is added only when no equal one exists. */
  static int flags(IpBatch.Op op) {
    int f = Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK;
    if (op instanceof IpBatch.RouteOp r) {
      return r.verb() == IpBatch.RouteVerb.REPLACE ? f | NLM_F_CREATE | NLM_F_REPLACE : f;
    }
    return op instanceof IpBatch.RuleAdd ? f | NLM_F_CREATE | NLM_F_EXCL : f;
  }

  /** The request for one change, the link's index given (tests build them without a socket). */
  static byte[] request(int seq, IpBatch.Op op, int oif) {
    byte[] body;
    if (op instanceof IpBatch.RouteOp r) {
      body = routeBody(r, oif);
    } else if (op instanceof IpBatch.RuleAdd r) {
      body = ruleBody(r.pref(), r.fwmark(), r.table(), true);
    } else {
      body = ruleBody(((IpBatch.RuleDel) op).pref(), 0, 0, false);
    }
    return Netlink.request(type(op), flags(op), seq, body);
  }

  /**
   * struct rtmsg and attributes for {@code ip route replace|del <dst> [via <hop>] dev <dev> [scope link] table T
   * proto P}, as {@code ip} fills them: a replace is a unicast route, scope link without a next hop and universe
   * with one; a delete leaves the type open and, without {@code scope link}, the scope too (any matches).
   */
  static byte[] routeBody(IpBatch.RouteOp r, int oif) {
    boolean replace = r.verb() == IpBatch.RouteVerb.REPLACE;
    int scope = r.via() == null ? RT_SCOPE_LINK : replace ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
    ByteBuffer h = Netlink.order(ByteBuffer.allocate(RTMSG));
    h.put((byte) AF_INET).put((byte) r.dst().length()).put((byte) 0).put((byte) 0)
        .put((byte) (r.table() < 256 ? r.table() : 0)).put((byte) r.proto()).put((byte) scope)
        .put((byte) (replace ? RTN_UNICAST : 0)).putInt(0);
    List<byte[]> parts = new ArrayList<>(List.of(h.array()));
    if (r.dst().length() > 0) {
      parts.add(Netlink.attr(RTA_DST, ipv4(r.dst().address())));
    }
    if (r.via() != null) {
      parts.add(r.via().inet6()
          ? Netlink.attr(RTA_VIA, via6(r.via().address()))
          : Netlink.attr(RTA_GATEWAY, ipv4(Ipv4Address.parse(r.via().address()).bits())));
    }
    parts.add(u32Attr(RTA_OIF, oif));
    parts.add(u32Attr(RTA_TABLE, r.table()));
    return concat(parts);
  }

  /**
   * struct fib_rule_hdr and attributes for {@code ip rule add pref P fwmark M lookup T} ({@code add}) or
   * {@code ip rule del pref P}.
   */
  static byte[] ruleBody(int pref, int fwmark, int table, boolean add) {
    ByteBuffer h = Netlink.order(ByteBuffer.allocate(RTMSG));
    h.put((byte) AF_INET).put((byte) 0).put((byte) 0).put((byte) 0)
        .put((byte) (add && table < 256 ? table : 0)).put((byte) 0).put((byte) 0)
        .put((byte) (add ? FR_ACT_TO_TBL : 0)).putInt(0);
    List<byte[]> parts = new ArrayList<>(List.of(h.array(), u32Attr(FRA_PRIORITY, pref)));
    if (add) {
      parts.add(u32Attr(FRA_FWMARK, fwmark));
      parts.add(u32Attr(FRA_TABLE, table));
    }
    return concat(parts);
  }

  static byte[] ruleDump(int seq) {
    return dump(RTM_GETRULE, seq);
  }

  static byte[] routeDump(int seq) {
    return dump(RTM_GETROUTE, seq);
  }

  static byte[] linkDump(int seq) {
    return Netlink.request(Links.RTM_GETLINK, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, new byte[Links.IFINFOMSG]);
  }

  private static byte[] dump(int type, int seq) {
    byte[] h = new byte[RTMSG];
    h[0] = AF_INET;
    return Netlink.request(type, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, h);
  }

  /** Whether a rule of the dump sits at preference {@code pref}. */
  static boolean parseRule(List<Netlink.Message> dump, int pref) {
    return parseRules(dump).stream().anyMatch(r -> r.pref() == pref);
  }


  /** Link index to name, from a link dump. */
  static Map<Integer, String> linkNames(List<Netlink.Message> dump) {
    Map<Integer, String> names = new HashMap<>();
    for (Netlink.Message m : dump) {
      if (m.type() != Links.RTM_NEWLINK || m.payload().remaining() < Links.IFINFOMSG) {
        continue;
      }
      int index = m.payload().getInt(4);
      for (Netlink.Attr a : m.attrs(Links.IFINFOMSG)) {
        if (a.type() == Links.IFLA_IFNAME) {
          names.put(index, a.string());
        }
      }
    }
    return names;
  }

  /** The IPv4 routes of protocol {@code proto} in a route dump, with their devices named from {@code names}. */
  static List<Entry> parseRoutes(List<Netlink.Message> dump, int proto, Map<Integer, String> names) {
    List<Entry> out = new ArrayList<>();
    for (Netlink.Message m : dump) {
      if (isIpv4Route(m) && Byte.toUnsignedInt(m.payload().get(5)) == proto) {
        out.add(route(m, names));
      }
    }
    return out;
  }

  private static boolean isIpv4Route(Netlink.Message m) {
    return m.type() == RTM_NEWROUTE && m.payload().remaining() >= RTMSG && m.payload().get(0) == AF_INET;
  }

  /** One IPv4 route message ({@link #isIpv4Route}) as {@code ip} names its parts. */
  private static Entry route(Netlink.Message m, Map<Integer, String> names) {
    ByteBuffer p = m.payload();
    int dstLen = Byte.toUnsignedInt(p.get(1));
    int table = Byte.toUnsignedInt(p.get(4));
    int dst = 0;
    String via = "";
    String dev = "";
    for (Netlink.Attr a : m.attrs(RTMSG)) {
      switch (a.type()) {
        case RTA_DST -> dst = a.value().order(java.nio.ByteOrder.BIG_ENDIAN).getInt(0);
        case RTA_GATEWAY -> via = new Ipv4Address(a.value().order(java.nio.ByteOrder.BIG_ENDIAN).getInt(0)).toString();
        case RTA_VIA -> via = via(a.bytes());
        case RTA_OIF -> dev = names.getOrDefault((int) a.u32(), "");
        case RTA_TABLE -> table = (int) a.u32();
        default -> { }
      }
    }
    return new Entry(new Ipv4Cidr(dst, dstLen).toString(), via, dev, table);
  }

  /** struct rtvia's text as {@code ip -j} gives it ({@code inet6 <addr>}; an IPv4 one as the address alone). */
  static String via(byte[] rtvia) {
    if (rtvia.length < 2) {
      return "";
    }
    int family = Short.toUnsignedInt(Netlink.order(ByteBuffer.wrap(rtvia)).getShort(0));
    byte[] addr = java.util.Arrays.copyOfRange(rtvia, 2, rtvia.length);
    if (family == AF_INET6 && addr.length == 16) {
      return "inet6 " + ipv6Text(addr);
    }
    if (family == AF_INET && addr.length == 4) {
      return new Ipv4Address(ByteBuffer.wrap(addr).getInt()).toString();
    }
    return "family" + family;
  }

  /**
   * An IPv6 address as RFC 5952 writes it (and glibc's inet_ntop for addresses without an IPv4 tail): lower-case
   * hex without leading zeros, the longest run of two or more zero groups (the first of equal ones) as {@code ::}.
   */
  static String ipv6Text(byte[] a) {
    int[] w = new int[8];
    for (int i = 0; i < 8; i++) {
      w[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
    }
    int best = -1;
    int bestLen = 0;
    for (int i = 0; i < 8; ) {
      if (w[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && w[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    if (bestLen < 2) {
      best = -1;
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == best) {
        b.append("::");
        i += bestLen - 1;
        continue;
      }
      if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
        b.append(':');
      }
      b.append(Integer.toHexString(w[i]));
    }
    return b.toString();
  }

  /** struct rtvia for an IPv6 next hop: the family, then the sixteen bytes. */
  static byte[] via6(String address) {
    ByteBuffer b = Netlink.order(ByteBuffer.allocate(18));
    b.putShort((short) AF_INET6).put(ipv6Bytes(address));
    return b.array();
  }

  /** The sixteen bytes of an IPv6 literal ({@link NextHop} checked it); an IPv4-mapped one stays mapped. */
  static byte[] ipv6Bytes(String literal) {
    try {
      InetAddress a = InetAddress.getByName(literal.startsWith("[") ? literal : "[" + literal + "]");
      if (a instanceof Inet4Address) {
        byte[] m = new byte[16];
        m[10] = (byte) 0xff;
        m[11] = (byte) 0xff;
        System.arraycopy(a.getAddress(), 0, m, 12, 4);
        return m;
      }
      return a.getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IPv6 address: " + literal, e);
    }
  }

  private static byte[] ipv4(int bits) {
    return ByteBuffer.allocate(4).putInt(bits).array();
  }

  private static byte[] u32Attr(int type, int value) {
    return Netlink.attr(type, Netlink.order(ByteBuffer.allocate(4)).putInt(value).array());
  }

  private static byte[] concat(List<byte[]> parts) {
    int n = parts.stream().mapToInt(p -> p.length).sum();
    ByteBuffer b = ByteBuffer.allocate(n);
    parts.forEach(b::put);
    return b.array();
  }

  /** The C library's text for the errnos a route or rule change meets, as {@code ip} prints it after "RTNETLINK answers:". */
  public static String strerror(int errno) {
    return switch (errno) {
      case 1 -> "Operation not permitted";
      case 2 -> "No such file or directory";
      case 3 -> "No such process";
      case 17 -> "File exists";
      case 19 -> "No such device";
      case 22 -> "Invalid argument";
      case 101 -> "Network is unreachable";
      default -> "errno " + errno;
    };
  }
}
