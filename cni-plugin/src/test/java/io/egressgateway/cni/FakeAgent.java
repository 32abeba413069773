package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A real unix-socket agent for tests: records each request (decoded, and as it came) and answers with
 * {@code reply(request)}, an answer frame, or with {@link #raw} bytes for hostile answers.
 */
final class FakeAgent implements AutoCloseable {
  final Path socket;
  final List<CniWire.Request> requests = new CopyOnWriteArrayList<>();
  final List<byte[]> frames = new CopyOnWriteArrayList<>();
  private final ServerSocketChannel server;
  private final Thread thread;

  FakeAgent(Path socket, Function<CniWire.Request, CniWire.Answer> reply) throws IOException {
    this(socket, reply.andThen(a -> a == null ? null : a.encode()), true);
  }

  /** Answers {@code reply(request)} as it is (null: nothing, just close). */
  static FakeAgent raw(Path socket, Function<CniWire.Request, byte[]> reply) throws IOException {
    return new FakeAgent(socket, reply, true);
  }

  private FakeAgent(Path socket, Function<CniWire.Request, byte[]> reply, boolean raw) throws IOException {
    this.socket = socket;
    Files.deleteIfExists(socket);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    thread = new Thread(() -> serve(reply), "fake-agent");
    thread.setDaemon(true);
    thread.start();
  }

  private void serve(Function<CniWire.Request, byte[]> reply) {
    while (server.isOpen()) {
      try (SocketChannel ch = server.accept()) {
        byte[] frame = readAll(ch);
        frames.add(frame);
        CniWire.Request req = CniWire.Request.decode(frame);
        requests.add(req);
        byte[] answer = reply.apply(req);
        if (answer != null) {
          ByteBuffer out = ByteBuffer.wrap(answer);
          while (out.hasRemaining()) {
            ch.write(out);
          }
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
