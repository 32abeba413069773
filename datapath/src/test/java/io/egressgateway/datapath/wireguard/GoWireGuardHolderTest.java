package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link GoWireGuard} with a tunnel holder: the request it sends, and every way the holder can fail it
 * (unreachable, refusing, silent, naming a process this member cannot see) ends in a clear error.
 */
class GoWireGuardHolderTest {
  @TempDir Path dir;
  /** Released when a test is done with a silent holder. */
  private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);

  /** A holder that reads one request and answers {@code answer} (null: never answers); the request read. */
  private CompletableFuture<String> holder(Path socket, String answer) throws Exception {
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    return CompletableFuture.supplyAsync(() -> {
      try (server; SocketChannel c = server.accept()) {
        ByteBuffer in = ByteBuffer.allocate(256);
        while (c.read(in) >= 0 && in.position() < in.capacity()) {
          // until the client's end of output
        }
        String request = new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII);
        if (answer == null) {
          done.await(10, TimeUnit.SECONDS);
        } else {
          c.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.US_ASCII)));
        }
        return request;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private GoWireGuard backend(Path socket) {
    return new GoWireGuard(new CommandRunner(Duration.ofSeconds(5)), "wireguard-go", socket);
  }

  @Test
  void aRefusalIsTheHoldersOwnWordsAndTheRequestNamesNamespaceAndDevice() throws Exception {
    Path socket = dir.resolve("tunnels.sock");
    CompletableFuture<String> request = holder(socket, "error invalid device name\n");
    CommandException e = assertThrows(CommandException.class, () -> backend(socket).create("", "egwtest0"));
    assertTrue(e.getMessage().contains("the tunnel holder " + socket + " refused: error invalid device name"), e.getMessage());
    assertEquals("- egwtest0\n", request.get(5, TimeUnit.SECONDS), "no namespace is '-'");
  }

  @Test
  void aNamespaceIsSentByItsName() throws Exception {
    Path socket = dir.resolve("tunnels.sock");
    CompletableFuture<String> request = holder(socket, "error no\n");
    assertThrows(CommandException.class, () -> backend(socket).create("egw-node1", "egwtest1"));
    assertEquals("egw-node1 egwtest1\n", request.get(5, TimeUnit.SECONDS));
  }

  @Test
  void anUnreachableHolderSaysSo() {
    Path socket = dir.resolve("absent.sock");
    CommandException e = assertThrows(CommandException.class, () -> backend(socket).create("", "egwtest2"));
    assertTrue(e.getMessage().contains("cannot reach the tunnel holder " + socket), e.getMessage());
  }

  @Test
  void aSilentHolderTimesOut() throws Exception {
    Path socket = dir.resolve("tunnels.sock");
    CompletableFuture<String> request = holder(socket, null);
    CommandException e = assertThrows(CommandException.class, () -> backend(socket).create("", "egwtest3"));
    done.countDown();
    assertTrue(e.getMessage().contains("did not answer"), e.getMessage());
    assertEquals("- egwtest3\n", request.get(5, TimeUnit.SECONDS), "the holder was asked and stayed silent");
  }

  @Test
  void aProcessThisMemberCannotSeeIsExplained() throws Exception {
    Path socket = dir.resolve("tunnels.sock");
    holder(socket, "ok 999999999\n");
    CommandException e = assertThrows(CommandException.class, () -> backend(socket).create("", "egwtest4"));
    assertTrue(e.getMessage().contains("must share the host's PID namespace"), e.getMessage());
  }
}
