package io.egressgateway.datapath.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Netlink's framing, as {@code linux/netlink.h} and {@code linux/genetlink.h} lay it out: messages (a 16-byte
 * header: length, type, flags, sequence, port), generic netlink's 4-byte header (command, version) and
 * type-length-value attributes, everything in the host's byte order and padded to 4 bytes. Pure: no sockets.
 */
public final class Netlink {
  public static final int NLMSG_ERROR = 2;
  public static final int NLMSG_DONE = 3;
  public static final int NLM_F_REQUEST = 0x1;
  public static final int NLM_F_MULTI = 0x2;
  public static final int NLM_F_ACK = 0x4;
  public static final int NLM_F_DUMP = 0x300;
  public static final int HEADER = 16;
  public static final int GENL_HEADER = 4;
  /** The generic netlink controller's family, which names the others. */
  public static final int GENL_ID_CTRL = 0x10;
  public static final int CTRL_CMD_GETFAMILY = 3;
  public static final int CTRL_ATTR_FAMILY_ID = 1;
  public static final int CTRL_ATTR_FAMILY_NAME = 2;
  /** Attribute type bits that are flags, not part of the type. */
  private static final int NLA_TYPE_MASK = 0x3fff;
  public static final int NLA_F_NESTED = 0x8000;

  private Netlink() {}

  static ByteBuffer order(ByteBuffer b) {
    return b.order(ByteOrder.nativeOrder());
  }

  static int align(int n) {
    return (n + 3) & ~3;
  }

  /** One attribute: header, value, padding. */
  public static byte[] attr(int type, byte[] value) {
    ByteBuffer b = order(ByteBuffer.allocate(align(4 + value.length)));
    b.putShort((short) (4 + value.length)).putShort((short) type).put(value);
    return b.array();
  }

  /** A NUL-terminated string attribute. */
  public static byte[] stringAttr(int type, String value) {
    byte[] s = value.getBytes(StandardCharsets.US_ASCII);
    byte[] z = new byte[s.length + 1];
    System.arraycopy(s, 0, z, 0, s.length);
    return attr(type, z);
  }

  /** A request: the message header, then {@code body} (a family's header and its attributes). */
  public static byte[] request(int type, int flags, int seq, byte[]... body) {
    int len = HEADER;
    for (byte[] part : body) {
      len += part.length;
    }
    ByteBuffer b = order(ByteBuffer.allocate(len));
    b.putInt(len).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
    for (byte[] part : body) {
      b.put(part);
    }
    return b.array();
  }

  /** A generic netlink request: the message header, command and version, then the attributes. */
  public static byte[] genlRequest(int family, int flags, int seq, int command, int version, byte[]... attrs) {
    byte[][] body = new byte[attrs.length + 1][];
    body[0] = new byte[] {(byte) command, (byte) version, 0, 0};
    System.arraycopy(attrs, 0, body, 1, attrs.length);
    return request(family, flags, seq, body);
  }

  /** The family-lookup request for {@code name} (answered with its id, or ENOENT). */
  public static byte[] familyRequest(int seq, String name) {
    return genlRequest(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1,
        stringAttr(CTRL_ATTR_FAMILY_NAME, name));
  }

  /** The family id in the controller's answers to {@link #familyRequest}. */
  public static int familyId(List<Message> answers) {
    for (Message m : answers) {
      for (Attr a : m.attrs(GENL_HEADER)) {
        if (a.type() == CTRL_ATTR_FAMILY_ID) {
          return a.u16();
        }
      }
    }
    throw new IllegalArgumentException("the controller's answer carries no family id");
  }

  /** One message of a reply; {@code payload} holds what follows its 16-byte header. */
  public record Message(int type, int flags, int seq, ByteBuffer payload) {
    /** The attributes after the first {@code skip} bytes of the payload (generic netlink: 4). */
    public List<Attr> attrs(int skip) {
      ByteBuffer p = payload.duplicate().order(payload.order());
      if (p.remaining() < skip) {
        throw new IllegalArgumentException("netlink message shorter than its family header");
      }
      p.position(p.position() + skip);
      return Attr.all(p.slice().order(payload.order()));
    }
  }

  /** One attribute; {@code value} is exactly its value. */
  public record Attr(int type, boolean nested, ByteBuffer value) {
    /** Every attribute in {@code b}, in order. */
    public static List<Attr> all(ByteBuffer b) {
      List<Attr> out = new ArrayList<>();
      ByteBuffer p = b.duplicate().order(b.order());
      while (p.remaining() >= 4) {
        int start = p.position();
        int len = Short.toUnsignedInt(p.getShort());
        int type = Short.toUnsignedInt(p.getShort());
        if (len < 4 || len > p.limit() - start) {
          throw new IllegalArgumentException("netlink attribute of " + len + " bytes where " + (p.limit() - start) + " are left");
        }
        ByteBuffer v = p.duplicate().order(b.order());
        v.position(start + 4).limit(start + len);
        out.add(new Attr(type & NLA_TYPE_MASK, (type & NLA_F_NESTED) != 0, v.slice().order(b.order())));
        p.position(Math.min(p.limit(), start + align(len)));
      }
      return out;
    }

    public List<Attr> children() {
      return all(value);
    }

    public int u8() {
      need(1);
      return Byte.toUnsignedInt(value.get(0));
    }

    public int u16() {
      need(2);
      return Short.toUnsignedInt(value.getShort(0));
    }

    public long u32() {
      need(4);
      return Integer.toUnsignedLong(value.getInt(0));
    }

    public long u64() {
      need(8);
      return value.getLong(0);
    }

    public byte[] bytes() {
      byte[] out = new byte[value.remaining()];
      value.duplicate().get(out);
      return out;
    }

    /** A NUL-terminated string. */
    public String string() {
      byte[] b = bytes();
      int n = 0;
      while (n < b.length && b[n] != 0) {
        n++;
      }
      return new String(b, 0, n, StandardCharsets.US_ASCII);
    }

    private void need(int n) {
      if (value.remaining() < n) {
        throw new IllegalArgumentException("netlink attribute " + type + " has " + value.remaining() + " bytes, wants " + n);
      }
    }
  }

  /** The messages in one datagram the kernel sent. */
  public static List<Message> split(ByteBuffer datagram) {
    ByteBuffer d = datagram.duplicate().order(ByteOrder.nativeOrder());
    List<Message> out = new ArrayList<>();
    while (d.remaining() >= HEADER) {
      int start = d.position();
      int len = d.getInt();
      int type = Short.toUnsignedInt(d.getShort());
      int flags = Short.toUnsignedInt(d.getShort());
      int seq = d.getInt();
      d.getInt(); // port
      if (len < HEADER || len > d.limit() - start) {
        throw new IllegalArgumentException("netlink message of " + len + " bytes where " + (d.limit() - start) + " are left");
      }
      ByteBuffer p = d.duplicate().order(ByteOrder.nativeOrder());
      p.position(start + HEADER).limit(start + len);
      out.add(new Message(type, flags, seq, p.slice().order(ByteOrder.nativeOrder())));
      d.position(Math.min(d.limit(), start + align(len)));
    }
    return out;
  }

  /** The error number an NLMSG_ERROR or NLMSG_DONE message carries (0: none, or an acknowledgement). */
  public static int errno(Message m) {
    return m.payload().remaining() >= 4 ? -m.payload().getInt(0) : 0;
  }
}
