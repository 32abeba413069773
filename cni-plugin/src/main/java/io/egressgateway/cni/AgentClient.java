package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Talks to the node agent over its unix socket. Owns one connection per call; persists nothing; observes
 * only the agent's answer. A call that outlives {@code timeout} is abandoned (the connection is closed).
 */
public final class AgentClient {
  private final Path socket;
  private final Duration timeout;

  public AgentClient(Path socket, Duration timeout) {
    this.socket = socket;
    this.timeout = timeout;
  }

  public Path socket() {
    return socket;
  }

  /** Sends {@code request} (a {@link CniWire} frame) and returns the agent's whole answer, not yet decoded. */
  public byte[] exchange(byte[] request) throws IOException, TimeoutException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    FutureTask<byte[]> call = new FutureTask<>(() -> talk(ch, request));
    Thread t = new Thread(call, "cni-agent-call");
    t.setDaemon(true);
    t.start();
    try {
      return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      ch.close();
      throw e;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IOException(String.valueOf(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } finally {
      ch.close();
    }
  }

  private byte[] talk(SocketChannel ch, byte[] request) throws IOException {
    ch.connect(UnixDomainSocketAddress.of(socket));
    ByteBuffer out = ByteBuffer.wrap(request);
    while (out.hasRemaining()) {
      ch.write(out);
    }
    ch.shutdownOutput();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    ByteBuffer in = ByteBuffer.allocate(16 * 1024);
    while (ch.read(in) >= 0) {
      in.flip();
      got.write(in.array(), 0, in.limit());
      in.clear();
      if (got.size() > CniWire.MAX_ANSWER) {
        throw new IOException("agent answer larger than " + CniWire.MAX_ANSWER + " bytes");
      }
    }
    return got.toByteArray();
  }
}
