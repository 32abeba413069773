package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cni.wire.CniWire;
import io.egressgateway.pod.model.CniReply;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniServerTest {
  @TempDir Path tmp;

  /** One call as the plugin makes it: the request frame, half-close, the answer frame. */
  static CniWire.Answer call(Path socket, byte[] request) throws Exception {
    return CniWire.Answer.decode(raw(socket, request));
  }

  static byte[] raw(Path socket, byte[] request) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ByteBuffer req = ByteBuffer.wrap(request);
      while (req.hasRemaining()) {
        ch.write(req);
      }
      ch.shutdownOutput();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer b = ByteBuffer.allocate(4096);
      while (ch.read(b) >= 0) {
        b.flip();
        out.write(b.array(), 0, b.limit());
        b.clear();
      }
      return out.toByteArray();
    }
  }

  private static final CniWire.Answer DONE = CniWire.Answer.ok("");

  @Test
  void keptDelsRunOldestFirstAndEverythingElseInTheirDirectoryIsDropped() throws Exception {
    Path socket = tmp.resolve("agent/cni.sock");
    Path kept = tmp.resolve("agent/deferred-del");
    Files.createDirectories(kept);
    Files.write(kept.resolve("b.del"), new CniWire.Request("DEL", "second", "/var/run/netns/p", "eth0", "", "",
        CniCodecTest.CONFIG).encode());
    Files.setLastModifiedTime(kept.resolve("b.del"), java.nio.file.attribute.FileTime.fromMillis(2000));
    // kept by a plugin older than the frames (during the upgrade that brought them): still run
    Files.writeString(kept.resolve("a.json"), CniCodecTest.legacyRequest("DEL"));
    Files.setLastModifiedTime(kept.resolve("a.json"), java.nio.file.attribute.FileTime.fromMillis(1000));
    Files.write(kept.resolve("add.del"), CniCodecTest.request("ADD"));
    Files.writeString(kept.resolve("junk.json"), "not json");
    Files.write(kept.resolve("cut.del"), Arrays.copyOf(CniCodecTest.request("DEL"), 40));
    Files.writeString(kept.resolve(".half.del.tmp"), "being written");
    Files.writeString(kept.resolve("notes.txt"), "not ours");
    java.util.List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.start(socket, 2, Duration.ofSeconds(2), c -> {
      ran.add(c.command() + " " + c.containerId());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    })) {
      assertEquals(2, server.runDeferredDels().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(java.util.List.of("DEL c0ffee42", "DEL second"), ran, "only the DELs, oldest first");
      try (var left = Files.list(kept)) {
        assertEquals(java.util.List.of(".half.del.tmp", "notes.txt"), left.map(f -> f.getFileName().toString()).sorted().toList(),
            "what ran and what is not a DEL is removed; a file still being written is left alone");
      }
      assertEquals(0, server.runDeferredDels().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
    }
    try (CniServer none = CniServer.start(tmp.resolve("other/cni.sock"), 1, Duration.ofSeconds(2),
        c -> CompletableFuture.completedFuture(CniReply.ok("")))) {
      assertEquals(0, none.runDeferredDels().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS), "no directory, nothing to run");
    }
  }

  @Test
  void rootOnlySocketAnswersAndSurvivesGarbage() throws Exception {
    Path socket = tmp.resolve("agent/cni.sock");
    try (CniServer server = CniServer.start(socket, 2, Duration.ofSeconds(2),
        c -> CompletableFuture.completedFuture(CniReply.ok("{\"cmd\":\"" + c.command() + "\"}")))) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
      CniWire.Answer garbage = call(socket, "garbage".getBytes(StandardCharsets.UTF_8));
      assertEquals(6, garbage.code());
      assertEquals("unreadable request from the CNI plugin", garbage.msg());
      assertTrue(garbage.details().contains("does not begin with 'kube-egress-cni/1'"), garbage.details());
      assertEquals(CniWire.Answer.ok("{\"cmd\":\"ADD\"}"), call(socket, CniCodecTest.request("ADD")));
    }
    assertTrue(Files.notExists(socket), "socket removed on close");
  }

  @Test
  void aSharedDirectoryIsRefusedAndLeftAsItWas() throws Exception {
    Path shared = tmp.resolve("shared");
    Files.createDirectory(shared);
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () ->
        CniServer.start(shared.resolve("cni.sock"), 1, Duration.ofSeconds(1), c -> CompletableFuture.completedFuture(CniReply.ok(""))));
    assertTrue(e.getMessage().contains("writable by nobody else"), e.getMessage());
    assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared)));
  }

  @Test
  void slowHandlerEndsInTryAgainLater() throws Exception {
    Path socket = tmp.resolve("cni.sock");
    try (CniServer server = CniServer.start(socket, 1, Duration.ofMillis(200), c -> new CompletableFuture<>())) {
      CniWire.Answer answer = call(socket, CniCodecTest.request("ADD"));
      assertEquals(11, answer.code());
      assertTrue(answer.msg().contains("within 200 ms"), answer.toString());
    }
  }

  @Test
  void staleSocketFileIsReplaced() throws Exception {
    Path socket = tmp.resolve("cni.sock");
    Files.writeString(socket, "stale");
    try (CniServer server = CniServer.start(socket, 1, Duration.ofSeconds(1), c -> CompletableFuture.completedFuture(CniReply.ok("")))) {
      assertEquals(DONE, call(socket, CniCodecTest.request("DEL")));
    }
  }

  @Test
  void aSilentClientIsCutOffAtTheReadDeadlineAndTooManyAreRefusedAtOnce() throws Exception {
    Path socket = tmp.resolve("cni.sock");
    java.util.List<String> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.List<SocketChannel> silent = new java.util.ArrayList<>();
    try (CniServer server = CniServer.start(socket, 2, Duration.ofSeconds(1),
        c -> CompletableFuture.completedFuture(CniReply.ok(""))).onRefused(refused::add)) {
      for (int i = 0; i < CniServer.MAX_CONNECTIONS; i++) {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        silent.add(ch); // connected, never sends
      }
      CniWire.Answer busy = call(socket, CniCodecTest.request("ADD"));
      assertEquals(11, busy.code());
      assertTrue(busy.msg().contains("open already"), busy.toString());
      assertTrue(refused.contains("busy"), refused.toString()); // counted before the answer is sent
      // the two serving threads each hold a silent client until its deadline, then close it
      long t0 = System.nanoTime();
      ByteBuffer b = ByteBuffer.allocate(16);
      assertEquals(-1, silent.get(0).read(b), "closed by the agent");
      long waited = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(waited >= CniServer.READ_DEADLINE.toMillis() - 1000, "cut off after the deadline, not before: " + waited);
      assertTrue(refused.contains("deadline"), refused.toString());
    } finally {
      for (SocketChannel ch : silent) {
        ch.close();
      }
    }
  }

  @Test
  void peerCredentialsDecide() {
    assertTrue(CniServer.allowedPeer("root"));
    assertTrue(CniServer.allowedPeer(System.getProperty("user.name")), "the agent's own user");
    org.junit.jupiter.api.Assertions.assertFalse(CniServer.allowedPeer("nobody"));
    org.junit.jupiter.api.Assertions.assertFalse(CniServer.allowedPeer(""), "unknown credentials are refused");
  }

  /**
   * A client that is not root, on a socket whose permissions were opened up by mistake: the peer credentials
   * still refuse it. Runs the client as {@code nobody} (root needed to switch users).
   */
  @Test
  @org.junit.jupiter.api.Tag("privileged")
  void aClientThatIsNotRootIsRefusedEvenWhenTheFileWouldLetItIn() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) || "true".equals(System.getenv("CI")),
        "switching to another user needs root");
    Path dir = tmp.resolve("open");
    Path socket = dir.resolve("cni.sock");
    java.util.List<String> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.List<String> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.start(socket, 2, Duration.ofSeconds(1), c -> {
      handled.add(c.command());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    }).onRefused(refused::add)) {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
      Process p = new ProcessBuilder(java.util.List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
          "socat", "-t", "5", "-", "UNIX-CONNECT:" + socket)).redirectErrorStream(true).start();
      p.getOutputStream().write(CniCodecTest.request("ADD"));
      p.getOutputStream().close();
      CniWire.Answer answer = CniWire.Answer.decode(p.getInputStream().readAllBytes());
      p.waitFor();
      assertEquals(4, answer.code());
      assertTrue(answer.msg().contains("only root may call"), answer.toString());
      assertEquals(java.util.List.of("peer"), refused);
      assertTrue(handled.isEmpty(), "nothing reached the handler");
      assertEquals(DONE, call(socket, CniCodecTest.request("DEL")), "root still gets through");
    }
  }

  @Test
  void aHeldServerRunsItsKeptDelsBeforeAnyCallAndSaysItIsStarting() throws Exception {
    Path socket = tmp.resolve("agent/cni.sock");
    Files.createDirectories(socket.getParent().resolve("deferred-del"));
    Files.write(socket.getParent().resolve("deferred-del/a.del"), CniCodecTest.request("DEL"));
    java.util.List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.startHeld(socket, 2, Duration.ofSeconds(5), c -> {
      ran.add(c.command());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    })) {
      assertEquals(50, call(socket, new CniWire.Request("STATUS", "", "", "", "", "", "{}").encode()).code(),
          "not available while held");
      CompletableFuture<CniWire.Answer> add = CompletableFuture.supplyAsync(() -> {
        try {
          return call(socket, CniCodecTest.request("ADD"));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      // the ADD is connected and waiting; the kept DEL runs first, then the ADD is let through
      assertEquals(1, server.runDeferredDels().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(java.util.List.of("DEL"), ran, "nothing but the kept DEL before admission");
      server.admitCalls();
      assertEquals(DONE, add.get(5, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(java.util.List.of("DEL", "ADD"), ran);
    }
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "truncated frame     | kube-egress-cni/1\\ncommand 3\\nADD\\nconfig 900\\n{}                    | cut off in field 'config'",
      "oversized length    | kube-egress-cni/1\\ncommand 3\\nADD\\nconfig 2000000\\n{}\\nend\\n    | more than the frame's limit",
      "bad field name      | kube-egress-cni/1\\ncom/mand 3\\nADD\\nend\\n                           | bad field name 'com/mand'",
      "newline in a name   | kube-egress-cni/1\\ncommand\\n 3\\nADD\\nend\\n                         | has no length",
      "JSON of an older plugin | {\"command\":\"ADD\"}                                            | older plugin",
      "no configuration    | kube-egress-cni/1\\ncommand 3\\nADD\\nend\\n                            | no network configuration"})
  void hostileFramesAreAnsweredWithADecodingErrorAndTheServerGoesOn(String what, String frame, String says) throws Exception {
    Path socket = tmp.resolve("cni.sock");
    java.util.List<String> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.start(socket, 1, Duration.ofSeconds(2), c -> {
      handled.add(c.command());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    })) {
      CniWire.Answer a = call(socket, frame.replace("\\n", "\n").getBytes(StandardCharsets.UTF_8));
      assertEquals(6, a.code(), what);
      assertTrue(a.details().contains(says), what + ": " + a.details());
      assertTrue(handled.isEmpty(), "nothing reached the handler");
      // a value may hold newlines, even a line that reads like the end: only the length decides
      byte[] tricky = new CniWire.Request("DEL", "c\nend\n", "/var/run/netns/p", "eth0", "", "", CniCodecTest.CONFIG).encode();
      assertEquals(DONE, call(socket, tricky));
      assertEquals(java.util.List.of("DEL"), handled);
    }
  }

  @Test
  void aRequestOverTheLimitIsClosedUnanswered() throws Exception {
    Path socket = tmp.resolve("cni.sock");
    java.util.List<String> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.start(socket, 1, Duration.ofSeconds(2), c -> {
      handled.add(c.command());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    })) {
      byte[] big = new CniWire.Request("ADD", "c", "", "", "", "", "x".repeat(CniWire.MAX_REQUEST)).encode();
      assertEquals(0, raw(socket, big).length, "no answer: the plugin reports an unreadable answer");
      assertTrue(handled.isEmpty());
      assertEquals(DONE, call(socket, CniCodecTest.request("DEL")), "and the server goes on");
    }
  }
}
