package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.net.Netlink;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The WireGuard generic netlink codec against messages laid out as {@code linux/wireguard.h} documents
 * them (attribute numbers, nesting, a device split over several messages). The socket side runs against
 * the kernel in {@code NetlinkPrivilegedTest}.
 */
class WgNetlinkTest {
  private static final ByteOrder HOST = ByteOrder.nativeOrder();
  private final WgKeys.KeyPair device = WgKeys.generate();
  private final String gateway = WgKeys.generate().publicKey();
  private final String other = WgKeys.generate().publicKey();

  private static byte[] cat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  private static byte[] nested(int type, byte[]... children) {
    return Netlink.attr(type | Netlink.NLA_F_NESTED, cat(children));
  }

  private static byte[] u16(int type, int v) {
    return Netlink.attr(type, ByteBuffer.allocate(2).order(HOST).putShort((short) v).array());
  }

  private static byte[] u64(int type, long v) {
    return Netlink.attr(type, ByteBuffer.allocate(8).order(HOST).putLong(v).array());
  }

  private static byte[] key(int type, String base64) {
    return Netlink.attr(type, Base64.getDecoder().decode(base64));
  }

  /** struct sockaddr_in: family (host order), port and address (network order), 8 bytes of zero. */
  private static byte[] sockaddrIn(int a, int b, int c, int d, int port) {
    ByteBuffer s = ByteBuffer.allocate(16).order(HOST).putShort((short) WgNetlink.AF_INET);
    s.order(ByteOrder.BIG_ENDIAN).putShort((short) port).put(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    return s.array();
  }

  private static byte[] allowed(int family, byte[] addr, int mask) {
    return nested(0, u16(WgNetlink.WGALLOWEDIP_A_FAMILY, family), Netlink.attr(WgNetlink.WGALLOWEDIP_A_IPADDR, addr),
        Netlink.attr(WgNetlink.WGALLOWEDIP_A_CIDR_MASK, new byte[] {(byte) mask}));
  }

  /** One message of the kernel's dump: the message and generic headers, then the attributes. */
  private static Netlink.Message message(byte[]... attrs) {
    byte[] whole = Netlink.genlRequest(0x1b, Netlink.NLM_F_MULTI, 7, WgNetlink.WG_CMD_GET_DEVICE, 1, attrs);
    return Netlink.split(ByteBuffer.wrap(whole)).get(0);
  }

  @Test
  void aDeviceWithItsPeerReadsAsWgShowDumpWould() {
    byte[] timespec = ByteBuffer.allocate(16).order(HOST).putLong(1_700_000_123L).putLong(456_789L).array();
    Netlink.Message m = message(
        Netlink.stringAttr(WgNetlink.WGDEVICE_A_IFNAME, "wg0"),
        key(3, device.privateKey()), // WGDEVICE_A_PRIVATE_KEY: never read
        key(WgNetlink.WGDEVICE_A_PUBLIC_KEY, device.publicKey()),
        u16(WgNetlink.WGDEVICE_A_LISTEN_PORT, 40001),
        nested(WgNetlink.WGDEVICE_A_PEERS, nested(0,
            key(WgNetlink.WGPEER_A_PUBLIC_KEY, gateway),
            Netlink.attr(WgNetlink.WGPEER_A_ENDPOINT, sockaddrIn(10, 224, 0, 9, 6000)),
            u16(WgNetlink.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1),
            Netlink.attr(WgNetlink.WGPEER_A_LAST_HANDSHAKE_TIME, timespec),
            u64(WgNetlink.WGPEER_A_RX_BYTES, 64),
            u64(WgNetlink.WGPEER_A_TX_BYTES, 5_000_000_000L),
            nested(WgNetlink.WGPEER_A_ALLOWEDIPS, allowed(WgNetlink.AF_INET, new byte[] {0, 0, 0, 0}, 0)))));

    WgDump d = WgNetlink.parse(List.of(m), "wg0");
    assertEquals(device.publicKey(), d.publicKey());
    assertEquals(40001, d.listenPort());
    WgDump.Peer p = d.peers().get(gateway);
    assertEquals(new WgDump.Peer(gateway, "10.224.0.9:6000", List.of("0.0.0.0/0"), 1_700_000_123L, 64, 5_000_000_000L, 1), p);
  }

  @Test
  void aDeviceSplitOverMessagesIsJoined() {
    byte[] v6 = new byte[16];
    v6[0] = (byte) 0xfd;
    v6[15] = 1;
    Netlink.Message first = message(
        Netlink.stringAttr(WgNetlink.WGDEVICE_A_IFNAME, "wg0"),
        u16(WgNetlink.WGDEVICE_A_LISTEN_PORT, 51820),
        nested(WgNetlink.WGDEVICE_A_PEERS, nested(0,
            key(WgNetlink.WGPEER_A_PUBLIC_KEY, gateway),
            nested(WgNetlink.WGPEER_A_ALLOWEDIPS, allowed(WgNetlink.AF_INET, new byte[] {10, (byte) 244, 1, 5}, 32)))));
    // the same peer again with only its key and the allowed IPs that did not fit, then another peer
    Netlink.Message second = message(
        Netlink.stringAttr(WgNetlink.WGDEVICE_A_IFNAME, "wg0"),
        nested(WgNetlink.WGDEVICE_A_PEERS,
            nested(0, key(WgNetlink.WGPEER_A_PUBLIC_KEY, gateway),
                nested(WgNetlink.WGPEER_A_ALLOWEDIPS, allowed(WgNetlink.AF_INET6, v6, 128))),
            nested(0, key(WgNetlink.WGPEER_A_PUBLIC_KEY, other))));

    WgDump d = WgNetlink.parse(List.of(first, second), "wg0");
    assertEquals("", d.publicKey(), "no private key, no public key");
    assertEquals(51820, d.listenPort());
    assertEquals(2, d.peers().size());
    assertEquals(List.of("10.244.1.5/32", "fd00:0:0:0:0:0:0:1/128"), d.peers().get(gateway).allowedIps());
    assertEquals("", d.peers().get(other).endpoint());
    assertEquals(0, d.peers().get(other).keepaliveSeconds());
  }

  @Test
  void anIpv6EndpointIsBracketed() {
    ByteBuffer s = ByteBuffer.allocate(28).order(HOST).putShort((short) WgNetlink.AF_INET6);
    s.order(ByteOrder.BIG_ENDIAN).putShort((short) 443).putInt(0);
    byte[] addr = new byte[16];
    addr[0] = (byte) 0xfd;
    addr[15] = 9;
    s.put(addr).putInt(0);
    assertEquals("[fd00:0:0:0:0:0:0:9]:443", WgNetlink.endpoint(s.flip()));
    assertEquals("", WgNetlink.endpoint(ByteBuffer.allocate(16)), "AF_UNSPEC: no endpoint");
  }

  @Test
  void brokenAnswersAreRefusedNotGuessed() {
    assertThrows(IllegalArgumentException.class, () -> WgNetlink.parse(List.of(), "wg0"));
    Netlink.Message shortKey = message(Netlink.attr(WgNetlink.WGDEVICE_A_PUBLIC_KEY, new byte[31]));
    assertThrows(IllegalArgumentException.class, () -> WgNetlink.parse(List.of(shortKey), "wg0"));
    Netlink.Message keyless = message(nested(WgNetlink.WGDEVICE_A_PEERS, nested(0, u64(WgNetlink.WGPEER_A_RX_BYTES, 1))));
    assertThrows(IllegalArgumentException.class, () -> WgNetlink.parse(List.of(keyless), "wg0"));
    // an attribute claiming more bytes than its message holds
    byte[] whole = Netlink.genlRequest(0x1b, 0, 1, 0, 1, Netlink.attr(WgNetlink.WGDEVICE_A_LISTEN_PORT, new byte[] {1, 2}));
    ByteBuffer.wrap(whole).order(HOST).putShort(Netlink.HEADER + Netlink.GENL_HEADER, (short) 40);
    Netlink.Message lying = Netlink.split(ByteBuffer.wrap(whole)).get(0);
    assertThrows(IllegalArgumentException.class, () -> WgNetlink.parse(List.of(lying), "wg0"));
    // a message claiming more bytes than the datagram holds
    ByteBuffer.wrap(whole).order(HOST).putInt(0, whole.length + 4);
    assertThrows(IllegalArgumentException.class, () -> Netlink.split(ByteBuffer.wrap(whole)));
  }

  @Test
  void theRequestIsADumpOfOneDeviceByName() {
    byte[] r = WgNetlink.request(0x1b, 42, "wg0");
    ByteBuffer b = ByteBuffer.wrap(r).order(HOST);
    assertEquals(r.length, b.getInt(0));
    assertEquals(0x1b, b.getShort(4));
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, b.getShort(6));
    assertEquals(42, b.getInt(8));
    assertEquals(WgNetlink.WG_CMD_GET_DEVICE, r[16]);
    assertEquals(WgNetlink.WG_GENL_VERSION, r[17]);
    // one attribute: length 8 ("wg0" and its NUL), type IFNAME, no padding needed
    assertEquals(8, b.getShort(20));
    assertEquals(WgNetlink.WGDEVICE_A_IFNAME, b.getShort(22));
    byte[] name = new byte[4];
    b.position(24);
    b.get(name);
    assertArrayEquals(new byte[] {'w', 'g', '0', 0}, name);
    assertEquals(28, r.length);
  }

  @Test
  void commandsThatRunElsewhereAreNotReadOverThisProcesssNetlink() {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
    try (WgNetlink netlink = new WgNetlink(java.nio.file.Path.of("/nonexistent"), java.time.Duration.ofSeconds(1),
        java.time.Duration.ofSeconds(3), now::get)) {
      // every command goes through `true`: it "succeeds" with no output, so wg show's dump is empty
      KernelWireGuard kernel = new KernelWireGuard(new io.egressgateway.datapath.command.CommandRunner().within(List.of("true")), netlink);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernel.dump(WgDevice.created("wgx0", "egwtnone")));
      assertEquals("empty wg dump", e.getMessage());
      assertEquals(0, kernel.netlinkFallbacks(), "netlink was not tried (it would have failed: no such namespace under /nonexistent)");
      assertEquals(0, netlink.openCount());

      // the same with commands run here: netlink is tried first, fails for want of the namespace, and wg show reads
      KernelWireGuard direct = new KernelWireGuard(new io.egressgateway.datapath.command.CommandRunner(), netlink);
      assertThrows(RuntimeException.class, () -> direct.dump(WgDevice.created("wgx0", "egwtnone")));
      assertEquals(1, direct.netlinkFallbacks());
    }
  }
}
