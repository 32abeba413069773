package io.egressgateway.sandbox;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The client side of {@link Traffic}, run as one process inside a pod's network namespace for as long as the
 * traffic lasts: it starts an HTTP GET to the echo every {@code everyMs} (each with {@code timeoutMs} in all,
 * so they overlap, as {@code curl -m} would) and prints one line per request: its start and end
 * ({@link System#nanoTime()}, which on Linux is the machine's monotonic clock, the same in every process) and
 * the body of the reply ({@code -} for none). It ends when its standard input closes, after the requests in
 * flight.
 *
 * <p>Why a process of its own and not a {@code curl} per request: {@code ip netns exec} plus {@code curl} cost
 * tens of milliseconds of CPU each, twenty times a second; on a loaded two-core machine that alone made
 * requests miss their second, so a failed request said as much about the machine as about the tunnel.
 */
public final class TrafficProbe {
  private TrafficProbe() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: TrafficProbe ECHO_IP PORT EVERY_MS TIMEOUT_MS");
      System.exit(2);
    }
    InetSocketAddress echo = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    long everyMs = Long.parseLong(args[2]);
    int timeoutMs = Integer.parseInt(args[3]);
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.US_ASCII);
    ExecutorService pool = Executors.newFixedThreadPool((int) Math.max(4, 2 * timeoutMs / Math.max(1, everyMs)));
    Thread stdin = new Thread(() -> {
      try {
        while (System.in.read() >= 0) {
          // only its end matters
        }
      } catch (IOException e) {
        // closed: the same
      }
    }, "stdin");
    stdin.setDaemon(true);
    stdin.start();
    synchronized (out) {
      out.println("ready");
      out.flush();
    }
    long next = System.nanoTime();
    while (stdin.isAlive()) {
      pool.submit(() -> {
        long start = System.nanoTime();
        String seen = request(echo, start + timeoutMs * 1_000_000L);
        long end = System.nanoTime();
        synchronized (out) {
          out.println(start + " " + end + " " + (seen.isEmpty() ? "-" : seen));
          out.flush();
        }
      });
      next += everyMs * 1_000_000L;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
      } else {
        next = System.nanoTime(); // late (a starved machine): no burst to catch up
      }
    }
    pool.shutdown();
    pool.awaitTermination(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
    out.flush();
  }

  /** One GET; the reply's body, trimmed, or empty when none came before {@code deadline} (nanoTime). */
  static String request(InetSocketAddress echo, long deadline) {
    try (Socket s = new Socket()) {
      s.connect(echo, remainingMs(deadline));
      OutputStream os = s.getOutputStream();
      os.write(("GET / HTTP/1.0\r\nHost: " + echo.getHostString() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      os.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream reply = new ByteArrayOutputStream();
      byte[] buf = new byte[512];
      while (true) {
        s.setSoTimeout(remainingMs(deadline));
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        reply.write(buf, 0, n);
      }
      String text = reply.toString(StandardCharsets.US_ASCII);
      int body = text.indexOf("\r\n\r\n");
      return body < 0 || !text.startsWith("HTTP/") ? "" : text.substring(body + 4).trim();
    } catch (IOException e) {
      return ""; // refused, reset, unreachable or out of time (SocketTimeoutException, DeadlineException): no reply
    }
  }

  private static int remainingMs(long deadline) throws DeadlineException {
    long ms = (deadline - System.nanoTime()) / 1_000_000L;
    if (ms <= 0) {
      throw new DeadlineException();
    }
    return (int) ms;
  }

  /** The request's time is up. */
  private static final class DeadlineException extends IOException {
    DeadlineException() {
      super("deadline passed");
    }
  }
}
