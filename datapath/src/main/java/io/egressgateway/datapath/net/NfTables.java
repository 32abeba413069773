package io.egressgateway.datapath.net;

import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One nftables table over nfnetlink instead of an {@code nft} process: the node agent puts a pod's reply-marking
 * table in place on every CNI ADD and removes it on DEL. A replacement is one transaction, as {@link Nft#replaceTable}
 * makes it with {@code nft -f}: declare the table (so that the delete finds it), delete it, make it again with its
 * chains and rules; it applies whole or not at all. The messages are those {@code nft} sends for the same text
 * ({@code nft --debug=mnl}): attributes in network byte order, register data in the host's. Pure codec
 * ({@link #replyMarking}, {@link #deleteTable}) and the exchange.
 */
public final class NfTables {
  static final int NFNL_SUBSYS_NFTABLES = 10;
  static final int NFNL_MSG_BATCH_BEGIN = 0x10;
  static final int NFNL_MSG_BATCH_END = 0x11;
  static final int NFT_MSG_NEWTABLE = 0;
  static final int NFT_MSG_DELTABLE = 2;
  static final int NFT_MSG_NEWCHAIN = 3;
  static final int NFT_MSG_NEWRULE = 6;
  static final int NFT_MSG_GETRULE = 7;
  static final int NFT_NAT_SNAT = 0;
  static final int NFT_MSG_NEWSETELEM = 12;
  static final int NFT_MSG_DELSETELEM = 14;
  static final int NFPROTO_IPV4 = 2;
  static final int NLM_F_CREATE = 0x400;
  static final int NLM_F_APPEND = 0x800;
  static final int NF_INET_PRE_ROUTING = 0;
  static final int NF_INET_LOCAL_OUT = 3;
  static final int NF_IP_PRI_MANGLE = -150;
  static final int NF_ACCEPT = 1;
  static final int NFT_META_MARK = 3;
  static final int NFT_META_IIFNAME = 6;
  static final int NFT_CT_STATE = 0;
  static final int NFT_CT_MARK = 3;
  static final int NF_CT_STATE_NEW_BIT = 1 << 3;
  static final int NFT_CMP_EQ = 0;
  static final int NFT_CMP_NEQ = 1;
  /** The first of nftables' 16-byte registers, as nft numbers it (NFT_REG_1). */
  static final int REG_1 = 1;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private NfTables() {}

  /**
   * Replaces the table {@code ip name} in {@code netnsDir/netns} (empty: this process's namespace) with the pod's
   * reply marking ({@link #replyMarking}), in one transaction. Fails with {@link NetlinkException}: the kernel's
   * errno when it refused (ENOENT: no such namespace), EAGAIN when it did not answer in time.
   */
  public static void replaceReplyMarking(Path netnsDir, String netns, String name, IfName ingress, int mark) throws IOException {
    Nft.requireTable("ip", name);
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
      List<Change> changes = replyMarking(name, ingress, mark);
      check(s.batch(first -> transaction(first, changes), changes.size(), TIMEOUT), "replacing table ip " + name);
    }
  }

  /**
   * Deletes the table {@code ip name} in {@code netnsDir/netns}; false when there was none. Fails as
   * {@link #replaceReplyMarking} does for anything else.
   */
  public static boolean deleteTable(Path netnsDir, String netns, String name) throws IOException {
    Nft.requireTable("ip", name);
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
      List<Change> changes = List.of(deleteTable(name));
      int[] errnos = s.batch(first -> transaction(first, changes), 1, TIMEOUT);
      if (errnos[0] == Libc.ENOENT) {
        return false;
      }
      check(errnos, "deleting table ip " + name);
      return true;
    }
  }

  /**
   * Adds the ports {@code add} to the set {@code set} (of type {@code inet_service}) of table {@code ip table} in
   * {@code netnsDir/netns} and takes {@code remove} out of it, in one transaction: nothing changes when the kernel
   * refuses any of it (ENOENT: no such table, set or element). Fails as {@link #replaceReplyMarking} does.
   */
  public static void changePorts(Path netnsDir, String netns, String table, String set, java.util.Collection<Integer> add,
      java.util.Collection<Integer> remove) throws IOException {
    Nft.requireTable("ip", table);
    Nft.requireTable("ip", set);
    List<Change> changes = portChanges(table, set, add, remove);
    if (changes.isEmpty()) {
      return;
    }
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
      check(s.batch(first -> transaction(first, changes), changes.size(), TIMEOUT), "changing set " + set + " of table ip " + table);
    }
  }

  /** {@code add element ip TABLE SET { ... }} and {@code delete element ...}, as far as there is something to do. */
  static List<Change> portChanges(String table, String set, java.util.Collection<Integer> add, java.util.Collection<Integer> remove) {
    List<Change> c = new ArrayList<>();
    if (!add.isEmpty()) {
      c.add(new Change(NFT_MSG_NEWSETELEM, NLM_F_CREATE, elements(table, set, add)));
    }
    if (!remove.isEmpty()) {
      c.add(new Change(NFT_MSG_DELSETELEM, 0, elements(table, set, remove)));
    }
    return c;
  }

  private static byte[] elements(String table, String set, java.util.Collection<Integer> ports) {
    List<byte[]> elems = new ArrayList<>();
    for (int p : ports) {
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("not a port: " + p);
      }
      // a port as the set's key holds it: two bytes, network order
      byte[] key = ByteBuffer.allocate(2).putShort((short) p).array();
      elems.add(nested(1, nested(1, Netlink.attr(1, key))));
    }
    return cat(str(1, table), str(2, set), nested(3, cat(elems.toArray(byte[][]::new))));
  }

  /**
   * The address of the first source NAT in table {@code ip table} of {@code netnsDir/netns}, in the order
   * {@code nft list table} prints its rules ({@code snat to A}: the value the rule's {@code immediate} loads into
   * the register its {@code nat} takes the address from); empty when the table has none or is not there.
   */
  public static String firstSnat(Path netnsDir, String netns, String table) throws IOException {
    Nft.requireTable("ip", table);
    try (NetlinkSocket s = NetlinkSocket.open(NsThread.named(netnsDir, netns), NetlinkSocket.NETLINK_NETFILTER, TIMEOUT)) {
      List<Netlink.Message> rules;
      try {
        rules = s.exchange(seq -> Netlink.request((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
            Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, nfgen(NFPROTO_IPV4, 0), str(1, table)), TIMEOUT);
      } catch (NetlinkException e) {
        if (e.errno() == Libc.ENOENT) {
          return "";
        }
        throw e;
      }
      return firstSnat(rules);
    }
  }

  /** {@link #firstSnat} from a rule dump. */
  static String firstSnat(List<Netlink.Message> rules) {
    for (Netlink.Message m : rules) {
      if ((m.type() & 0xff) != NFT_MSG_NEWRULE || m.payload().remaining() < 4) {
        continue;
      }
      Netlink.Attr exprs = byType(m.attrs(4)).get(4); // NFTA_RULE_EXPRESSIONS
      java.util.Map<Long, byte[]> registers = new java.util.HashMap<>();
      for (Netlink.Attr elem : exprs == null ? List.<Netlink.Attr>of() : exprs.children()) {
        java.util.Map<Integer, Netlink.Attr> expr = byType(elem.children()); // NFTA_EXPR_NAME, NFTA_EXPR_DATA
        if (expr.get(1) == null || expr.get(2) == null) {
          continue;
        }
        java.util.Map<Integer, Netlink.Attr> data = byType(expr.get(2).children());
        String name = expr.get(1).string();
        if (name.equals("immediate") && data.get(1) != null && data.get(2) != null) {
          // NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA { NFTA_DATA_VALUE }
          Netlink.Attr value = byType(data.get(2).children()).get(1);
          if (value != null) {
            registers.put(be32(data.get(1)), value.bytes());
          }
        } else if (name.equals("nat") && data.get(1) != null && data.get(2) != null && data.get(3) != null) {
          // NFTA_NAT_TYPE, NFTA_NAT_FAMILY, NFTA_NAT_REG_ADDR_MIN
          byte[] addr = registers.get(be32(data.get(3)));
          if (be32(data.get(1)) == NFT_NAT_SNAT && be32(data.get(2)) == NFPROTO_IPV4 && addr != null && addr.length >= 4) {
            return (addr[0] & 0xff) + "." + (addr[1] & 0xff) + "." + (addr[2] & 0xff) + "." + (addr[3] & 0xff);
          }
        }
      }
    }
    return "";
  }

  /** Attributes by type; of several of one type, the last. */
  private static java.util.Map<Integer, Netlink.Attr> byType(List<Netlink.Attr> attrs) {
    java.util.Map<Integer, Netlink.Attr> out = new java.util.HashMap<>();
    attrs.forEach(a -> out.put(a.type(), a));
    return out;
  }

  private static long be32(Netlink.Attr a) {
    return Integer.toUnsignedLong(a.value().order(ByteOrder.BIG_ENDIAN).getInt(0));
  }

  private static void check(int[] errnos, String what) throws NetlinkException {
    for (int e : errnos) {
      if (e != 0) {
        throw new NetlinkException(what + ": refused (" + Routes.strerror(e) + ")", e);
      }
    }
  }

  /** One message of a transaction: its type within nf_tables, its flags beyond request and ack, its attributes. */
  record Change(int type, int flags, byte[] attrs) {}

  /**
   * The transaction that makes {@code table ip <name>} what {@code nft -f} makes of
   *
   * <pre>
   * table ip NAME
   * delete table ip NAME
   * table ip NAME {
   *   chain prerouting { type filter hook prerouting priority mangle; policy accept; iifname "INGRESS" ct state new ct mark set MARK }
   *   chain output { type route hook output priority mangle; policy accept; ct mark MARK meta mark set MARK }
   * }
   * </pre>
   *
   * Connections that arrive on the pod's {@code ingress} are marked; their replies carry the mark, which the
   * pod's rule sends to the reply table.
   */
  static List<Change> replyMarking(String name, IfName ingress, int mark) {
    byte[] table = str(1, name);
    List<Change> c = new ArrayList<>();
    c.add(new Change(NFT_MSG_NEWTABLE, NLM_F_CREATE, cat(table, u32(2, 0))));
    c.add(deleteTable(name));
    c.add(new Change(NFT_MSG_NEWTABLE, NLM_F_CREATE, cat(table, u32(2, 0))));
    c.add(chain(name, "prerouting", "filter", NF_INET_PRE_ROUTING));
    c.add(rule(name, "prerouting",
        meta(NFT_META_IIFNAME),
        cmp(NFT_CMP_EQ, ifname(ingress)),
        ctLoad(NFT_CT_STATE),
        bitwise(host32(NF_CT_STATE_NEW_BIT), host32(0)),
        cmp(NFT_CMP_NEQ, host32(0)),
        immediate(host32(mark)),
        ctSet(NFT_CT_MARK)));
    c.add(chain(name, "output", "route", NF_INET_LOCAL_OUT));
    c.add(rule(name, "output",
        ctLoad(NFT_CT_MARK),
        cmp(NFT_CMP_EQ, host32(mark)),
        immediate(host32(mark)),
        metaSet(NFT_META_MARK)));
    return c;
  }

  static Change deleteTable(String name) {
    return new Change(NFT_MSG_DELTABLE, 0, str(1, name));
  }

  /**
   * The datagram: batch begin, each change numbered from {@code first} and asking for an acknowledgement, batch end.
   */
  static byte[] transaction(int first, List<Change> changes) {
    List<byte[]> msgs = new ArrayList<>();
    msgs.add(Netlink.request(NFNL_MSG_BATCH_BEGIN, Netlink.NLM_F_REQUEST, first - 1, nfgen(0, NFNL_SUBSYS_NFTABLES)));
    for (int i = 0; i < changes.size(); i++) {
      Change ch = changes.get(i);
      msgs.add(Netlink.request((NFNL_SUBSYS_NFTABLES << 8) | ch.type(), Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | ch.flags(),
          first + i, nfgen(NFPROTO_IPV4, 0), ch.attrs()));
    }
    msgs.add(Netlink.request(NFNL_MSG_BATCH_END, Netlink.NLM_F_REQUEST, first + changes.size(), nfgen(0, NFNL_SUBSYS_NFTABLES)));
    return cat(msgs.toArray(byte[][]::new));
  }

  /** struct nfgenmsg: family, version 0, resource id in network order. */
  private static byte[] nfgen(int family, int resId) {
    return ByteBuffer.allocate(4).put((byte) family).put((byte) 0).putShort((short) resId).array();
  }

  private static Change chain(String table, String name, String type, int hook) {
    byte[] hookAttr = nested(4, cat(u32(1, hook), u32(2, NF_IP_PRI_MANGLE)));
    return new Change(NFT_MSG_NEWCHAIN, NLM_F_CREATE,
        cat(str(1, table), str(3, name), str(7, type), u32(5, NF_ACCEPT), hookAttr));
  }

  private static Change rule(String table, String chain, byte[]... exprs) {
    byte[][] elems = new byte[exprs.length][];
    for (int i = 0; i < exprs.length; i++) {
      elems[i] = nested(1, exprs[i]);
    }
    return new Change(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, cat(str(1, table), str(2, chain), nested(4, cat(elems))));
  }

  /** An expression: its name, then its data. */
  private static byte[] expr(String name, byte[]... data) {
    return cat(str(1, name), nested(2, cat(data)));
  }

  /** {@code meta load KEY => reg 1}. */
  private static byte[] meta(int key) {
    return expr("meta", u32(2, key), u32(1, REG_1));
  }

  /** {@code meta set KEY with reg 1}. */
  private static byte[] metaSet(int key) {
    return expr("meta", u32(2, key), u32(3, REG_1));
  }

  /** {@code ct load KEY => reg 1}. */
  private static byte[] ctLoad(int key) {
    return expr("ct", u32(2, key), u32(1, REG_1));
  }

  /** {@code ct set KEY with reg 1}. */
  private static byte[] ctSet(int key) {
    return expr("ct", u32(2, key), u32(4, REG_1));
  }

  /** {@code cmp OP reg 1 VALUE}. */
  private static byte[] cmp(int op, byte[] value) {
    return expr("cmp", u32(1, REG_1), u32(2, op), nested(3, Netlink.attr(1, value)));
  }

  /** {@code bitwise reg 1 = (reg 1 & MASK) ^ XOR}, four bytes. */
  private static byte[] bitwise(byte[] mask, byte[] xor) {
    return expr("bitwise", u32(1, REG_1), u32(2, REG_1), u32(3, mask.length),
        nested(4, Netlink.attr(1, mask)), nested(5, Netlink.attr(1, xor)));
  }

  /** {@code immediate reg 1 VALUE}. */
  private static byte[] immediate(byte[] value) {
    return expr("immediate", u32(1, REG_1), nested(2, Netlink.attr(1, value)));
  }

  /** An interface name as a register holds it: the name, NUL-padded to 16 bytes. */
  static byte[] ifname(IfName name) {
    byte[] b = new byte[16];
    byte[] n = name.value().getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(n, 0, b, 0, n.length);
    return b;
  }

  /** A 32-bit register value, in the host's byte order. */
  private static byte[] host32(int v) {
    return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(v).array();
  }

  /** A 32-bit attribute in network byte order, as nfnetlink wants them. */
  private static byte[] u32(int type, int v) {
    return Netlink.attr(type, ByteBuffer.allocate(4).putInt(v).array());
  }

  private static byte[] str(int type, String v) {
    return Netlink.stringAttr(type, v);
  }

  private static byte[] nested(int type, byte[] children) {
    return Netlink.attr(type | Netlink.NLA_F_NESTED, children);
  }

  private static byte[] cat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    ByteBuffer b = ByteBuffer.allocate(n);
    for (byte[] p : parts) {
      b.put(p);
    }
    return b.array();
  }
}
