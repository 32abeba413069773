package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.WgDump;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kept UAPI connections against a stand-in for wireguard-go's UAPI socket (many requests per connection). */
class UapiConnectionsTest {
  @TempDir
  Path dir;

  private final WgKeys.KeyPair device = WgKeys.generate();
  private final String peer = WgKeys.generate().publicKey();
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger answered = new AtomicInteger();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  /** What the stand-in does after each answer: 0 keep the connection, 1 close it, 2 go silent. */
  private volatile int mode;
  private final AtomicLong now = new AtomicLong();
  private Path socket;
  private ServerSocketChannel server;
  private Thread acceptor;

  @BeforeEach
  void serve() throws IOException {
    socket = dir.resolve("wgtest0.sock");
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    acceptor = new Thread(() -> {
      while (server.isOpen()) {
        try {
          SocketChannel c = server.accept();
          accepted.incrementAndGet();
          Thread t = new Thread(() -> answer(c), "uapi-stand-in");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "uapi-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
    Files.deleteIfExists(socket);
  }

  /** One request per "\n\n"-terminated block, answered like wireguard-go. */
  private void answer(SocketChannel c) {
    try (c) {
      ByteBuffer buf = ByteBuffer.allocate(4096);
      StringBuilder in = new StringBuilder();
      while (c.read(buf) >= 0) {
        buf.flip();
        in.append(StandardCharsets.US_ASCII.decode(buf));
        buf.clear();
        int end;
        while ((end = in.indexOf("\n\n")) >= 0) {
          String request = in.substring(0, end + 2);
          in.delete(0, end + 2);
          requests.add(request);
          if (mode == 2) {
            continue; // silent
          }
          String reply = request.startsWith("get=1") ? getReply() : "errno=0\n\n";
          answered.incrementAndGet(); // before the write: the client may check the count as soon as it reads
          c.write(ByteBuffer.wrap(reply.getBytes(StandardCharsets.US_ASCII)));
          if (mode == 1) {
            return;
          }
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private String getReply() {
    HexFormat hex = HexFormat.of();
    return "private_key=" + hex.formatHex(java.util.Base64.getDecoder().decode(device.privateKey())) + "\nlisten_port=40001\n"
        + "public_key=" + hex.formatHex(java.util.Base64.getDecoder().decode(peer)) + "\nendpoint=10.224.0.9:6000\n"
        + "last_handshake_time_sec=1700000000\nrx_bytes=64\ntx_bytes=96\npersistent_keepalive_interval=1\n"
        + "allowed_ip=0.0.0.0/0\nprotocol_version=1\nerrno=0\n\n";
  }

  private UapiConnections connections() {
    return new UapiConnections(Duration.ofSeconds(60), now::get);
  }

  @Test
  void readsAndSetsShareOneConnection() throws IOException {
    try (UapiConnections uapi = connections()) {
      for (int i = 0; i < 5; i++) {
        WgDump d = uapi.get(socket, Duration.ofSeconds(2));
        assertEquals(device.publicKey(), d.publicKey());
        assertEquals(40001, d.listenPort());
        assertEquals(64, d.peers().get(peer).rxBytes());
      }
      uapi.set(socket, WgUapi.removeBody(peer), Duration.ofSeconds(2));
      assertEquals(1, accepted.get(), "one connection for six requests");
      assertEquals(6, answered.get());
      assertEquals(1, uapi.openCount());
      assertTrue(requests.get(5).startsWith("set=1\npublic_key="), requests.get(5));
    }
  }

  @Test
  void aLivenessCheckAsksOnTheKeptConnection() throws IOException {
    try (UapiConnections uapi = connections()) {
      assertTrue(uapi.answers(socket, Duration.ofSeconds(2)));
      assertEquals(device.publicKey(), uapi.get(socket, Duration.ofSeconds(2)).publicKey());
      assertTrue(uapi.answers(socket, Duration.ofSeconds(2)));
      assertEquals(1, accepted.get());
      assertEquals(List.of("get=1\n\n", "get=1\n\n", "get=1\n\n"), requests);
      mode = 2;
      assertThrows(IOException.class, () -> uapi.answers(socket, Duration.ofMillis(300)), "no answer in time");
    }
  }

  @Test
  void aConnectionTheDeviceClosedIsReplacedWithoutAnError() throws IOException {
    mode = 1; // like a wireguard-go that ended after answering: the kept connection is dead
    try (UapiConnections uapi = connections()) {
      uapi.get(socket, Duration.ofSeconds(2));
      uapi.get(socket, Duration.ofSeconds(2));
      uapi.set(socket, WgUapi.removeBody(peer), Duration.ofSeconds(2));
      assertEquals(3, accepted.get(), "each request after a closed connection went on a new one");
      assertEquals(3, answered.get());
    }
  }

  @Test
  void anUnansweredRequestFailsInTimeAndDropsItsConnection() throws IOException {
    try (UapiConnections uapi = connections()) {
      uapi.get(socket, Duration.ofSeconds(2));
      mode = 2;
      long t0 = System.nanoTime();
      IOException e = assertThrows(IOException.class, () -> uapi.get(socket, Duration.ofMillis(300)));
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(e.getMessage().contains("in time"), e.getMessage());
      assertTrue(tookMs >= 250 && tookMs < 2000, "failed after " + tookMs + " ms");
      assertEquals(0, uapi.openCount(), "the connection of a request that timed out is closed");
      assertEquals(2, requests.size(), "a request that timed out is not sent again: " + requests);
      mode = 0;
      assertEquals(device.publicKey(), uapi.get(socket, Duration.ofSeconds(2)).publicKey());
      assertEquals(2, accepted.get());
    }
  }

  @Test
  void aSetTheDeviceRefusesFails() throws IOException {
    try (UapiConnections uapi = connections()) {
      server.close(); // nothing listens any more
      Files.deleteIfExists(socket);
      assertThrows(IOException.class, () -> uapi.set(socket, WgUapi.removeBody(peer), Duration.ofSeconds(1)));
      assertEquals(0, uapi.openCount());
    }
  }

  @Test
  void forgottenAndIdleConnectionsAreClosed() throws IOException {
    try (UapiConnections uapi = connections()) {
      uapi.get(socket, Duration.ofSeconds(2));
      uapi.forget(socket);
      assertEquals(0, uapi.openCount());
      uapi.get(socket, Duration.ofSeconds(2));
      assertEquals(2, accepted.get());

      Path other = dir.resolve("missing.sock");
      now.addAndGet(Duration.ofSeconds(61).toNanos());
      // a request (here one that fails) sweeps the connections unused for a minute
      assertThrows(IOException.class, () -> uapi.get(other, Duration.ofSeconds(1)));
      assertEquals(0, uapi.openCount(), "the idle connection was closed");
    }
  }
}
