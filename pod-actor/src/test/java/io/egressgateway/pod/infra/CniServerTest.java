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
