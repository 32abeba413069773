package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.net.Netlink;
import io.egressgateway.datapath.net.NetlinkSocket;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Reads kernel WireGuard devices over generic netlink (family {@code wireguard}, {@code WG_CMD_GET_DEVICE}),
 * the way {@code wg show} does, without starting {@code ip netns exec ... wg show} for each read: the failover
 * watchdog reads every pod tunnel ten times a second, and a process each time cost about 2.5 ms of CPU.
 *
 * <p>One socket is kept per namespace, opened in it ({@link NetlinkSocket}) at the first read. A kept socket
 * holds its namespace, so a socket unused for {@code idleAfter} is closed (the watchdog reads a watched device
 * every 100 ms; a pod that is gone is read no more), and {@link #forget} closes one at once. A read that finds
 * no such device on a kept socket is tried once more on a new socket (the namespace may have been replaced
 * under the same name).
 *
 * <p>Owns: the sockets. Persists: nothing. Thread-safe.
 */
final class WgNetlink implements AutoCloseable {
  static final String FAMILY = "wireguard";
  static final int WG_CMD_GET_DEVICE = 0;
  static final int WG_GENL_VERSION = 1;
  static final int WGDEVICE_A_IFNAME = 2;
  static final int WGDEVICE_A_PUBLIC_KEY = 4;
  static final int WGDEVICE_A_LISTEN_PORT = 6;
  static final int WGDEVICE_A_PEERS = 8;
  static final int WGPEER_A_PUBLIC_KEY = 1;
  static final int WGPEER_A_ENDPOINT = 4;
  static final int WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
  static final int WGPEER_A_LAST_HANDSHAKE_TIME = 6;
  static final int WGPEER_A_RX_BYTES = 7;
  static final int WGPEER_A_TX_BYTES = 8;
  static final int WGPEER_A_ALLOWEDIPS = 9;
  static final int WGALLOWEDIP_A_FAMILY = 1;
  static final int WGALLOWEDIP_A_IPADDR = 2;
  static final int WGALLOWEDIP_A_CIDR_MASK = 3;
  static final int AF_INET = 2;
  static final int AF_INET6 = 10;

  /** The kernel has no WireGuard (the family is not registered): reading with netlink cannot work here. */
  static final class NoWireGuard extends IOException {
    NoWireGuard(String message) {
      super(message);
    }
  }

  /** A socket kept for one namespace, the WireGuard family's id there, and when it was last read from. */
  private static final class Kept {
    final NetlinkSocket socket;
    final int family;
    volatile long lastUsed;

    Kept(NetlinkSocket socket, int family, long lastUsed) {
      this.socket = socket;
      this.family = family;
      this.lastUsed = lastUsed;
    }
  }

  private final Map<String, Kept> open = new ConcurrentHashMap<>();
  private final Path netnsDir;
  private final Duration timeout;
  private final long idleAfterNanos;
  private final LongSupplier nanoClock;
  private final ScheduledExecutorService sweeper;

  WgNetlink(Path netnsDir, Duration timeout, Duration idleAfter, LongSupplier nanoClock) {
    this.netnsDir = netnsDir;
    this.timeout = timeout;
    this.idleAfterNanos = idleAfter.toNanos();
    this.nanoClock = nanoClock;
    ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "wg-netlink-sweep");
      t.setDaemon(true);
      return t;
    });
    long every = Math.max(100, idleAfter.toMillis() / 2);
    s.scheduleWithFixedDelay(() -> {
      try {
        sweep();
      } catch (RuntimeException | LinkageError e) {
        // a failed pass must not end the schedule (its next run would never come)
        org.slf4j.LoggerFactory.getLogger(WgNetlink.class).warn("closing idle netlink sockets failed: {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
    this.sweeper = s;
  }

  WgNetlink() {
    this(Path.of("/var/run/netns"), Duration.ofSeconds(5), Duration.ofSeconds(3), System::nanoTime);
  }

  /** Device {@code ifname} in namespace {@code netns} (empty: this one), as {@code wg show <dev> dump} reports it. */
  WgDump dump(String netns, String ifname) throws IOException {
    Kept kept = open.get(netns);
    if (kept != null) {
      try {
        return read(kept, ifname);
      } catch (NetlinkException e) {
        drop(netns, kept);
        if (e.errno() != NetlinkSocket.ENODEV && e.errno() != NetlinkSocket.ENOENT) {
          throw e;
        }
        // the namespace may be a new one by the same name: once more on a new socket
      }
    }
    Kept fresh = connect(netns);
    try {
      WgDump d = read(fresh, ifname);
      Kept before = open.put(netns, fresh);
      if (before != null) {
        before.socket.close(); // another thread's, made meanwhile
      }
      return d;
    } catch (IOException | RuntimeException e) {
      fresh.socket.close();
      throw e;
    }
  }

  /** Closes the socket kept for {@code netns}, if any (its devices are gone or moved). */
  void forget(String netns) {
    Kept k = open.remove(netns);
    if (k != null) {
      k.socket.close();
    }
  }

  int openCount() {
    return open.size();
  }

  @Override
  public void close() {
    sweeper.shutdownNow();
    open.keySet().forEach(this::forget);
  }

  void sweep() {
    long now = nanoClock.getAsLong();
    open.forEach((netns, k) -> {
      if (now - k.lastUsed >= idleAfterNanos) {
        drop(netns, k);
      }
    });
  }

  private void drop(String netns, Kept k) {
    open.remove(netns, k);
    k.socket.close();
  }

  private WgDump read(Kept k, String ifname) throws IOException {
    k.lastUsed = nanoClock.getAsLong();
    return parse(k.socket.exchange(seq -> request(k.family, seq, ifname), timeout), ifname);
  }

  private Kept connect(String netns) throws IOException {
    Path ns = netns.isEmpty() ? null : netnsDir.resolve(NetnsName.parse(netns).value());
    NetlinkSocket s = NetlinkSocket.open(ns, NetlinkSocket.NETLINK_GENERIC, timeout);
    try {
      int family;
      try {
        family = Netlink.familyId(s.exchange(seq -> Netlink.familyRequest(seq, FAMILY), timeout));
      } catch (NetlinkException e) {
        if (e.errno() == NetlinkSocket.ENOENT) {
          throw new NoWireGuard("the kernel has no WireGuard (no generic netlink family '" + FAMILY + "')");
        }
        throw e;
      }
      return new Kept(s, family, nanoClock.getAsLong());
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  /** The dump request for one device by name. */
  static byte[] request(int family, int seq, String ifname) {
    return Netlink.genlRequest(family, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, seq, WG_CMD_GET_DEVICE,
        WG_GENL_VERSION, Netlink.stringAttr(WGDEVICE_A_IFNAME, ifname));
  }

  /**
   * The device the messages of one dump describe. The kernel splits a device over several messages when its
   * peers do not fit one: later messages carry only the name and more peers, and a peer whose allowed IPs do not
   * fit is written again at the start of the next message with only its key and the rest of them.
   */
  static WgDump parse(List<Netlink.Message> messages, String ifname) {
    if (messages.isEmpty()) {
      throw new IllegalArgumentException("no answer describes WireGuard device " + ifname);
    }
    String publicKey = "";
    int listenPort = 0;
    Map<String, PeerFields> peers = new LinkedHashMap<>();
    for (Netlink.Message m : messages) {
      for (Netlink.Attr a : m.attrs(Netlink.GENL_HEADER)) {
        switch (a.type()) {
          case WGDEVICE_A_PUBLIC_KEY -> publicKey = key(a);
          case WGDEVICE_A_LISTEN_PORT -> listenPort = a.u16();
          case WGDEVICE_A_PEERS -> {
            for (Netlink.Attr p : a.children()) {
              PeerFields parts = peer(p);
              PeerFields before = peers.get(parts.key);
              if (before == null) {
                peers.put(parts.key, parts);
              } else {
                before.allowed.addAll(parts.allowed); // the same peer, continued
              }
            }
          }
          default -> { }
        }
      }
    }
    Map<String, WgDump.Peer> out = new LinkedHashMap<>();
    peers.forEach((k, p) -> out.put(k, p.build()));
    return new WgDump(publicKey, listenPort, out);
  }

  private static String key(Netlink.Attr a) {
    byte[] k = a.bytes();
    if (k.length != 32) {
      throw new IllegalArgumentException("WireGuard key of " + k.length + " bytes");
    }
    return Base64.getEncoder().encodeToString(k);
  }

  /** One peer's attributes; the public key is required. */
  private static PeerFields peer(Netlink.Attr peer) {
    PeerFields p = new PeerFields(null);
    for (Netlink.Attr a : peer.children()) {
      switch (a.type()) {
        case WGPEER_A_PUBLIC_KEY -> p.key = key(a);
        case WGPEER_A_ENDPOINT -> p.endpoint = endpoint(a.value());
        case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL -> p.keepalive = a.u16();
        case WGPEER_A_LAST_HANDSHAKE_TIME -> p.handshake = a.u64(); // struct __kernel_timespec: seconds first
        case WGPEER_A_RX_BYTES -> p.rx = a.u64();
        case WGPEER_A_TX_BYTES -> p.tx = a.u64();
        case WGPEER_A_ALLOWEDIPS -> a.children().forEach(ip -> p.allowed.add(allowedIp(ip)));
        default -> { }
      }
    }
    if (p.key == null) {
      throw new IllegalArgumentException("WireGuard peer without a public key");
    }
    return p;
  }

  /** {@code ip:port} or {@code [ip6]:port} from a struct sockaddr_in or sockaddr_in6; empty for none. */
  static String endpoint(ByteBuffer sockaddr) {
    ByteBuffer b = sockaddr.duplicate().order(ByteOrder.nativeOrder());
    if (b.remaining() < 2) {
      return "";
    }
    int family = Short.toUnsignedInt(b.getShort(0));
    if (family == AF_INET && b.remaining() >= 8) {
      int port = Short.toUnsignedInt(b.order(ByteOrder.BIG_ENDIAN).getShort(2));
      return address(b, 4, 4) + ":" + port;
    }
    if (family == AF_INET6 && b.remaining() >= 24) {
      int port = Short.toUnsignedInt(b.order(ByteOrder.BIG_ENDIAN).getShort(2));
      return "[" + address(b, 8, 16) + "]:" + port;
    }
    return "";
  }

  private static String allowedIp(Netlink.Attr ip) {
    int family = 0;
    ByteBuffer addr = null;
    int mask = -1;
    for (Netlink.Attr a : ip.children()) {
      switch (a.type()) {
        case WGALLOWEDIP_A_FAMILY -> family = a.u16();
        case WGALLOWEDIP_A_IPADDR -> addr = a.value();
        case WGALLOWEDIP_A_CIDR_MASK -> mask = a.u8();
        default -> { }
      }
    }
    int len = family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
    if (len < 0 || addr == null || addr.remaining() < len || mask < 0) {
      throw new IllegalArgumentException("WireGuard allowed IP with family " + family + ", mask " + mask);
    }
    return address(addr, 0, len) + "/" + mask;
  }

  private static String address(ByteBuffer b, int at, int len) {
    byte[] a = new byte[len];
    b.duplicate().position(at).get(a);
    try {
      return InetAddress.getByAddress(a).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
