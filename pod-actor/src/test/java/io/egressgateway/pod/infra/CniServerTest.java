package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniServerTest {
  @TempDir Path tmp;

  static String call(Path socket, String request) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
      ch.shutdownOutput();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteBuffer b = ByteBuffer.allocate(4096);
      while (ch.read(b) >= 0) {
        b.flip();
        out.write(b.array(), 0, b.limit());
        b.clear();
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void keptDelsRunOldestFirstAndEverythingElseInTheirDirectoryIsDropped() throws Exception {
    Path socket = tmp.resolve("agent/cni.sock");
    Path kept = tmp.resolve("agent/deferred-del");
    Files.createDirectories(kept);
    Files.writeString(kept.resolve("b.json"), CniCodecTest.request("DEL").replace("c0ffee42", "second"));
    Files.setLastModifiedTime(kept.resolve("b.json"), java.nio.file.attribute.FileTime.fromMillis(2000));
    Files.writeString(kept.resolve("a.json"), CniCodecTest.request("DEL"));
    Files.setLastModifiedTime(kept.resolve("a.json"), java.nio.file.attribute.FileTime.fromMillis(1000));
    Files.writeString(kept.resolve("add.json"), CniCodecTest.request("ADD"));
    Files.writeString(kept.resolve("junk.json"), "not json");
    Files.writeString(kept.resolve(".half.json.tmp"), "being written");
    java.util.List<String> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (CniServer server = CniServer.start(socket, 2, Duration.ofSeconds(2), c -> {
      ran.add(c.command() + " " + c.containerId());
      return CompletableFuture.completedFuture(CniReply.ok(""));
    })) {
      assertEquals(2, server.runDeferredDels().toCompletableFuture().get(5, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(java.util.List.of("DEL c0ffee42", "DEL second"), ran, "only the DELs, oldest first");
      try (var left = Files.list(kept)) {
        assertEquals(java.util.List.of(".half.json.tmp"), left.map(f -> f.getFileName().toString()).toList(),
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
      assertTrue(call(socket, "garbage").contains("\"code\":6"));
      assertEquals("{\"result\":{\"cmd\":\"ADD\"}}", call(socket, CniCodecTest.request("ADD")));
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
      String answer = call(socket, CniCodecTest.request("ADD"));
      assertTrue(answer.contains("\"code\":11") && answer.contains("within 200 ms"), answer);
    }
  }

  @Test
  void staleSocketFileIsReplaced() throws Exception {
    Path socket = tmp.resolve("cni.sock");
    Files.writeString(socket, "stale");
    try (CniServer server = CniServer.start(socket, 1, Duration.ofSeconds(1), c -> CompletableFuture.completedFuture(CniReply.ok("")))) {
      assertEquals("{}", call(socket, CniCodecTest.request("DEL")));
    }
  }
}
