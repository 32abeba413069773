package io.egressgateway.datapath.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A netlink socket, opened in a named network namespace without starting a process: a thread of its own
 * enters the namespace ({@code setns}), opens the socket and ends, and the socket answers for that namespace
 * for as long as it is open. An open socket holds its namespace: whoever keeps one closes it when the
 * namespace's user is done with it.
 *
 * <p>Requests and answers as {@link Netlink} frames them; a request's answers are matched by sequence number,
 * so the late answers of a request that timed out are passed over.
 *
 * <p>Owns: one file descriptor. Thread-safe: requests take turns.
 */
public final class NetlinkSocket implements AutoCloseable {
  public static final int NETLINK_ROUTE = 0;
  public static final int NETLINK_GENERIC = 16;
  public static final int NETLINK_NETFILTER = 12;
  public static final int ENOENT = Libc.ENOENT;
  public static final int ENODEV = Libc.ENODEV;
  private static final int AF_NETLINK = 16;
  private static final int SOCK_RAW = 3;
  private static final int SOCK_CLOEXEC = 0x80000;
  private static final int SOL_SOCKET = 1;
  private static final int SO_RCVTIMEO = 20;
  private static final int MSG_TRUNC = 0x20;
  /** A dump's datagrams are at most a page or two; anything longer is cut (MSG_TRUNC says so). */
  private static final int DATAGRAM = 64 << 10;

  /** A failed call; {@code errno} is the C library's error number (0 when none applies). */
  public static final class NetlinkException extends IOException {
    private final int errno;

    public NetlinkException(String message, int errno) {
      super(message);
      this.errno = errno;
    }

    public int errno() {
      return errno;
    }
  }

  private final String where;
  private final byte[] buf = new byte[DATAGRAM];
  private int fd;
  private int seq;
  /** The receive timeout the socket has now; set again only when a request asks for another. */
  private Duration receiveTimeout;

  private NetlinkSocket(int fd, String where) {
    this.fd = fd;
    this.where = where;
    this.seq = (int) (System.nanoTime() & 0x3fffffff);
  }

  /**
   * A socket of {@code protocol} in the namespace {@code netns} (a file such as {@code /var/run/netns/<name>});
   * null: the caller's own namespace. Fails with {@link NetlinkException} (errno ENOENT when the namespace does
   * not exist), or {@link LinkageError} where the C library cannot be bound.
   */
  public static NetlinkSocket open(Path netns, int protocol, Duration timeout) throws IOException {
    if (netns == null) {
      return new NetlinkSocket(create(protocol), "this namespace");
    }
    // the thread stays in the pod's namespace once it entered it, so it ends right after
    int fd = NsThread.call(netns, timeout, "netlink-setns", () -> create(protocol), s -> Libc.c().close(s));
    return new NetlinkSocket(fd, netns.toString());
  }

  private static int create(int protocol) throws NetlinkException {
    int s = Libc.c().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (s < 0) {
      int e = Libc.errno();
      throw new NetlinkException("cannot open a netlink socket (errno " + e + ")", e);
    }
    return s;
  }

  /**
   * Sends the request {@code request} builds for the next sequence number and gathers its answers: the
   * messages up to NLMSG_DONE for a dump, up to the acknowledgement for a request that asked for one. Fails
   * with {@link NetlinkException} on an error answer (its errno), a timeout (errno EAGAIN) or a closed socket.
   */
  public synchronized List<Netlink.Message> exchange(IntFunction<byte[]> request, Duration timeout) throws IOException {
    if (fd < 0) {
      throw new NetlinkException("netlink socket in " + where + " is closed", 0);
    }
    int mine = ++seq;
    byte[] req = request.apply(mine);
    int flags = Short.toUnsignedInt(ByteBuffer.wrap(req, 6, 2).order(ByteOrder.nativeOrder()).getShort());
    boolean dump = (flags & Netlink.NLM_F_DUMP) == Netlink.NLM_F_DUMP;
    long deadline = send(req, timeout, "request");
    List<Netlink.Message> out = new ArrayList<>();
    while (true) {
      long n = receive(deadline, "");
      if (n > buf.length) {
        throw new NetlinkException("netlink answer in " + where + " longer than " + buf.length + " bytes", MSG_TRUNC);
      }
      for (Netlink.Message m : Netlink.split(ByteBuffer.wrap(buf, 0, (int) n).slice())) {
        if (m.seq() != mine) {
          continue; // a late answer to an earlier request
        }
        if (m.type() == Netlink.NLMSG_ERROR) {
          int e = Netlink.errno(m);
          if (e != 0) {
            throw new NetlinkException("netlink request in " + where + " refused (errno " + e + ")", e);
          }
          if (!dump) {
            return out; // the acknowledgement
          }
        } else if (m.type() == Netlink.NLMSG_DONE) {
          int e = Netlink.errno(m);
          if (e != 0) {
            throw new NetlinkException("netlink dump in " + where + " failed (errno " + e + ")", e);
          }
          return out;
        } else {
          out.add(copy(m));
          if (!dump && (m.flags() & Netlink.NLM_F_MULTI) == 0 && (flags & Netlink.NLM_F_ACK) == 0) {
            return out;
          }
        }
      }
      if (System.nanoTime() - deadline > 0) {
        throw new NetlinkException("no complete netlink answer in " + where + " in time", Libc.EAGAIN);
      }
    }
  }

  /**
   * Sends one datagram of several messages (a netfilter transaction: begin, the changes, end) and gathers the
   * acknowledgements of the {@code acks} messages that ask for one: {@code build} gets the first of the sequence
   * numbers reserved for them and numbers them on from it; the framing messages around them take the numbers
   * just before and after. Returns each acknowledged message's errno in order (0: done). Fails with
   * {@link NetlinkException} on a timeout (errno EAGAIN) or a closed socket.
   */
  public synchronized int[] batch(IntFunction<byte[]> build, int acks, Duration timeout) throws IOException {
    if (fd < 0) {
      throw new NetlinkException("netlink socket in " + where + " is closed", 0);
    }
    int first = seq + 2;
    seq += acks + 2;
    long deadline = send(build.apply(first), timeout, "batch");
    int[] errnos = new int[acks];
    boolean[] answered = new boolean[acks];
    int left = acks;
    while (left > 0) {
      long n = receive(deadline, " to a batch");
      for (Netlink.Message m : Netlink.split(ByteBuffer.wrap(buf, 0, (int) Math.min(n, buf.length)).slice())) {
        int i = m.seq() - first;
        if (m.type() == Netlink.NLMSG_ERROR && (i == -1 || i == acks) && Netlink.errno(m) != 0) {
          // the transaction's framing refused (no nf_tables here, say): none of it was looked at
          throw new NetlinkException("netlink batch in " + where + " refused (errno " + Netlink.errno(m) + ")", Netlink.errno(m));
        }
        if (m.type() == Netlink.NLMSG_ERROR && i >= 0 && i < acks && !answered[i]) {
          answered[i] = true;
          errnos[i] = Netlink.errno(m);
          left--;
        }
      }
      if (left > 0 && System.nanoTime() - deadline > 0) {
        throw new NetlinkException("no complete netlink answer to a batch in " + where + " in time", Libc.EAGAIN);
      }
    }
    return errnos;
  }

  /** Sends {@code req} whole ({@code what} names it in a failure); returns the deadline of its answers. */
  private long send(byte[] req, Duration timeout, String what) throws NetlinkException {
    long deadline = System.nanoTime() + timeout.toNanos();
    receiveTimeout(timeout);
    if (Libc.c().send(fd, req, req.length, 0) != req.length) {
      int e = Libc.errno();
      throw new NetlinkException("netlink " + what + " in " + where + " not sent (errno " + e + ")", e);
    }
    return deadline;
  }

  /** One datagram into the buffer, its length; an interrupted receive is tried again until the deadline. */
  private long receive(long deadline, String toWhat) throws NetlinkException {
    while (true) {
      long n = Libc.c().recv(fd, buf, buf.length, 0);
      if (n >= 0) {
        return n;
      }
      int e = Libc.errno();
      if (e != Libc.EINTR || System.nanoTime() >= deadline) {
        throw new NetlinkException(e == Libc.EAGAIN ? "no netlink answer" + toWhat + " in " + where + " in time"
            : "netlink answer in " + where + " not received (errno " + e + ")", e);
      }
    }
  }

  /** The buffer is reused by the next receive: a message handed out keeps a copy of its payload. */
  private static Netlink.Message copy(Netlink.Message m) {
    ByteBuffer p = ByteBuffer.allocate(m.payload().remaining()).order(ByteOrder.nativeOrder());
    p.put(m.payload().duplicate()).flip();
    return new Netlink.Message(m.type(), m.flags(), m.seq(), p);
  }

  private void receiveTimeout(Duration timeout) throws NetlinkException {
    if (timeout.equals(receiveTimeout)) {
      return;
    }
    long micros = Math.max(1000, timeout.toNanos() / 1000);
    ByteBuffer tv = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder());
    tv.putLong(micros / 1_000_000).putLong(micros % 1_000_000);
    if (Libc.c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv.array(), 16) < 0) {
      int e = Libc.errno();
      throw new NetlinkException("cannot set the netlink socket's timeout (errno " + e + ")", e);
    }
    receiveTimeout = timeout;
  }

  @Override
  public synchronized void close() {
    if (fd >= 0) {
      Libc.c().close(fd);
      fd = -1;
    }
  }
}
