package io.egressgateway.cni;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/** A real unix-socket agent for tests: records each request and answers with {@code reply(request)}. */
final class FakeAgent implements AutoCloseable {
  final Path socket;
  final List<String> requests = new CopyOnWriteArrayList<>();
  private final ServerSocketChannel server;
  private final Thread thread;

  FakeAgent(Path socket, UnaryOperator<String> reply) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    thread = new Thread(() -> serve(reply), "fake-agent");
    thread.setDaemon(true);
    thread.start();
  }

  private void serve(UnaryOperator<String> reply) {
    while (server.isOpen()) {
      try (SocketChannel ch = server.accept()) {
        String req = new String(readAll(ch), StandardCharsets.UTF_8);
        requests.add(req);
        String answer = reply.apply(req);
        if (answer != null) {
          ch.write(ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)));
        }
      } catch (IOException e) {
        return;
      }
    }
  }

  private static byte[] readAll(SocketChannel ch) throws IOException {
    var out = new java.io.ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(4096);
    while (ch.read(b) >= 0) {
      b.flip();
      out.write(b.array(), 0, b.limit());
      b.clear();
    }
    return out.toByteArray();
  }

  @Override
  public void close() throws IOException {
    server.close();
    Files.deleteIfExists(socket);
  }
}
