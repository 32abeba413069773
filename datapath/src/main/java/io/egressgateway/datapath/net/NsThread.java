package io.egressgateway.datapath.net;

import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Work done inside a named network namespace without starting a process: a thread of its own enters the
 * namespace ({@code setns}), does the work and ends. A thread that entered another namespace (or a mount
 * namespace of its own) is never given back to a pool, and the caller's thread never moves.
 */
final class NsThread {
  /** What the thread does once inside. */
  interface Work<T> {
    T run() throws IOException;
  }

  private NsThread() {}

  /**
   * Runs {@code work} on a new thread inside {@code netns} (a file such as {@code /var/run/netns/<name>}; null:
   * this process's namespace, still on a thread of its own) and returns its result. Fails with
   * {@link NetlinkException} (errno ENOENT when the namespace does not exist, EAGAIN when the work did not end
   * within {@code timeout}); a result that arrives after the timeout is handed to {@code unclaimed} (to close
   * what it holds).
   */
  static <T> T call(Path netns, Duration timeout, String name, Work<T> work, Consumer<T> unclaimed) throws IOException {
    CompletableFuture<T> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        if (netns != null) {
          enter(netns);
        }
        done.complete(work.run());
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    String where = netns == null ? "this namespace" : netns.toString();
    try {
      return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(e.getCause());
    } catch (TimeoutException e) {
      done.thenAccept(unclaimed);
      throw new NetlinkException(name + " in " + where + " did not end in time", Libc.EAGAIN);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NetlinkException("interrupted waiting for " + name + " in " + where, Libc.EINTR);
    }
  }

  /** The namespace file {@code netnsDir/netns}; null for the empty name (this process's namespace). */
  static Path named(Path netnsDir, String netns) {
    return netns == null || netns.isEmpty() ? null : netnsDir.resolve(NetnsName.parse(netns).value());
  }

  /**
   * A file descriptor for the namespace {@code netns} (to enter it, or to hand it to the kernel); the caller
   * closes it. Fails with {@link NetlinkException} (errno ENOENT when the namespace does not exist).
   */
  static int open(Path netns) throws NetlinkException {
    int fd = Libc.c().open(netns.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
    if (fd < 0) {
      int e = Libc.errno();
      throw new NetlinkException("network namespace " + netns + " cannot be opened (errno " + e + ")", e);
    }
    return fd;
  }

  private static void enter(Path netns) throws NetlinkException {
    int ns = open(netns);
    try {
      if (Libc.c().setns(ns, Libc.CLONE_NEWNET) < 0) {
        int e = Libc.errno();
        throw new NetlinkException("cannot enter network namespace " + netns + " (errno " + e + ")", e);
      }
    } finally {
      Libc.c().close(ns);
    }
  }
}
