package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.model.WgDump;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * UAPI connections kept open, one per device socket. wireguard-go answers any number of requests on one
 * connection, and the failover watchdog reads every pod tunnel ten times a second: a kept connection saves
 * the connect, wireguard-go's accept and a goroutine per request, and the device's public key is derived
 * from its private key once per connection instead of once per read (an X25519 multiplication). Measured
 * (docs/benchmarks.md, "Second pass: the watchdog's reads and the signatures"): about 0.4 ms of CPU per read
 * on a new connection each, 0.07 on a kept one, the member and wireguard-go together.
 *
 * <p>A request on a kept connection that finds it closed (the device's wireguard-go ended or was replaced)
 * is sent once more on a new connection; every request here is a read or an idempotent set, so sending one
 * twice is safe. A request that gets no complete answer within its timeout closes its connection. Connections
 * unused for {@code idleAfter} are closed at a later request; {@link #forget} closes one at once (a device
 * deleted or lost).
 *
 * <p>Owns: the connections (one file descriptor each). Persists: nothing. Thread-safe: requests on one
 * connection take turns.
 */
final class UapiConnections implements AutoCloseable {
  private static final int MAX_REPLY = 64 << 20;
  /** Closes the connection of a request that overran its timeout (a blocking read has no timeout of its own). */
  private static final ScheduledThreadPoolExecutor TIMEOUTS = timeouts();

  private final Map<Path, Conn> open = new ConcurrentHashMap<>();
  private final long idleAfterNanos;
  private final LongSupplier nanoClock;
  private volatile long nextSweep;

  UapiConnections(Duration idleAfter, LongSupplier nanoClock) {
    this.idleAfterNanos = idleAfter.toNanos();
    this.nanoClock = nanoClock;
    this.nextSweep = nanoClock.getAsLong() + idleAfterNanos;
  }

  UapiConnections() {
    this(Duration.ofSeconds(60), System::nanoTime);
  }

  /** The device behind {@code socket}, as {@code wg show <dev> dump} would report it. */
  WgDump get(Path socket, Duration timeout) throws IOException {
    Exchanged e = exchange(socket, "get=1\n\n", timeout);
    return WgUapi.parse(e.reply(), e.conn()::publicKeyOfHex);
  }

  /**
   * Whether the device answers: a get whose answer ends in errno=0, read but not parsed (no key derived), for
   * liveness checks. Fails like {@link #get} when the device does not answer in time.
   */
  boolean answers(Path socket, Duration timeout) throws IOException {
    return exchange(socket, "get=1\n\n", timeout).reply().endsWith("errno=0\n\n");
  }

  /** Applies {@code body} (UAPI set lines, without the leading {@code set=1}); fails unless errno=0. */
  void set(Path socket, String body, Duration timeout) throws IOException {
    String reply = exchange(socket, "set=1\n" + body + "\n", timeout).reply().trim();
    if (!reply.equals("errno=0")) {
      throw new IOException("UAPI set on " + socket + " answered " + reply);
    }
  }

  /** Closes the connection to {@code socket}, if one is open. */
  void forget(Path socket) {
    Conn c = open.remove(socket);
    if (c != null) {
      c.close();
    }
  }

  /** How many connections are open. */
  int openCount() {
    return open.size();
  }

  @Override
  public void close() {
    open.keySet().forEach(this::forget);
  }

  private record Exchanged(String reply, Conn conn) {}

  private Exchanged exchange(Path socket, String request, Duration timeout) throws IOException {
    sweep();
    Conn kept = open.get(socket);
    if (kept != null) {
      try {
        return new Exchanged(kept.exchange(request, timeout, nanoClock.getAsLong()), kept);
      } catch (IOException e) {
        open.remove(socket, kept);
        kept.close();
        if (!(e instanceof PeerGone)) {
          throw e;
        }
        // the process behind the socket ended or was replaced: once more on a new connection
      }
    }
    Conn fresh = Conn.connect(socket);
    try {
      String reply = fresh.exchange(request, timeout, nanoClock.getAsLong());
      Conn before = open.put(socket, fresh);
      if (before != null) {
        before.close(); // another thread's, made meanwhile
      }
      return new Exchanged(reply, fresh);
    } catch (IOException e) {
      fresh.close();
      throw e;
    }
  }

  private void sweep() {
    long now = nanoClock.getAsLong();
    if (now - nextSweep < 0) {
      return;
    }
    nextSweep = now + idleAfterNanos;
    open.forEach((socket, c) -> {
      if (now - c.lastUsed >= idleAfterNanos && open.remove(socket, c)) {
        c.close();
      }
    });
  }

  /** The connection closed under a request before its answer was complete: worth one more try elsewhere. */
  private static final class PeerGone extends IOException {
    PeerGone(String message) {
      super(message);
    }
  }

  private static final class Conn {
    private final Path socket;
    private final SocketChannel ch;
    private final ByteBuffer buf = ByteBuffer.allocate(16 << 10);
    private volatile long lastUsed;
    /** The last private key seen (hex) and its public key (base64): a device's key rarely changes. */
    private String privateHex;
    private String publicKey;

    private Conn(Path socket, SocketChannel ch) {
      this.socket = socket;
      this.ch = ch;
    }

    static Conn connect(Path socket) throws IOException {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new Conn(socket, ch);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }

    synchronized String exchange(String request, Duration timeout, long now) throws IOException {
      lastUsed = now;
      // this request's own flag, set before the close: the request woken by the close learns why at once (its
      // future is done only once the task has returned), and an earlier request's late deadline is not its own
      AtomicBoolean expired = new AtomicBoolean();
      ScheduledFuture<?> deadline = TIMEOUTS.schedule(() -> {
        expired.set(true);
        close();
      }, timeout.toNanos(), TimeUnit.NANOSECONDS);
      try {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
        try {
          while (out.hasRemaining()) {
            ch.write(out);
          }
        } catch (ClosedChannelException e) {
          throw timedOutOr(expired);
        } catch (IOException e) {
          throw new PeerGone("UAPI socket " + socket + " closed: " + e.getMessage());
        }
        StringBuilder reply = new StringBuilder();
        buf.clear();
        while (true) {
          int n;
          try {
            n = ch.read(buf);
          } catch (ClosedChannelException e) {
            throw timedOutOr(expired);
          } catch (IOException e) {
            throw new PeerGone("UAPI socket " + socket + " closed: " + e.getMessage());
          }
          if (n < 0) {
            throw new PeerGone("UAPI socket " + socket + " closed before the answer was complete");
          }
          buf.flip();
          reply.append(StandardCharsets.US_ASCII.decode(buf));
          buf.clear();
          if (reply.length() > MAX_REPLY) {
            throw new IOException("UAPI answer from " + socket + " is too large");
          }
          // the answer ends with "errno=N" and an empty line
          int errno = reply.lastIndexOf("errno=");
          if (errno >= 0 && reply.indexOf("\n\n", errno) >= 0) {
            return reply.toString();
          }
        }
      } finally {
        deadline.cancel(false);
      }
    }

    private IOException timedOutOr(AtomicBoolean expired) {
      return expired.get()
          ? new IOException("no complete UAPI answer from " + socket + " in time")
          : new PeerGone("UAPI connection to " + socket + " was closed");
    }

    synchronized String publicKeyOfHex(String hex) {
      if (!hex.equals(privateHex)) {
        publicKey = WgKeys.publicKeyOf(WgUapi.base64OfHex(hex));
        privateHex = hex;
      }
      return publicKey;
    }

    void close() {
      try {
        ch.close();
      } catch (IOException e) {
        // nothing left to do with it
      }
    }
  }

  private static ScheduledThreadPoolExecutor timeouts() {
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "uapi-timeouts");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true);
    return t;
  }
}
