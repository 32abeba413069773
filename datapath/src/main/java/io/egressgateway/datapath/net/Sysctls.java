package io.egressgateway.datapath.net;

import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Sysctls of a named network namespace read and written without a process: a thread of its own enters the
 * namespace ({@link NsThread}), where {@code /proc/sys/net} shows that namespace's values, and reads and
 * writes the files. Before, each write was {@code ip netns exec}, a shell, {@code mount} and {@code sysctl}:
 * four processes per pod ADD for its reverse-path filter.
 *
 * <p>A container that is not privileged (the chart's worker and gateway) has {@code /proc/sys} mounted
 * read-only. When a write is refused as read-only, the thread moves into a mount namespace of its own
 * ({@code unshare(CLONE_NEWNS)}, needs {@code SYS_ADMIN}), remounts {@code /proc/sys} writable there and
 * writes again: the container's own mount stays read-only, and the mount namespace ends with the thread. That
 * is what {@code ip netns exec} did for the command.
 */
public final class Sysctls {
  /** A key as sysctl names it: dotted words, no path of its own. */
  private static final Pattern KEY = Pattern.compile("[a-z0-9_]+(\\.[a-z0-9_]+)+");
  private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9_.-]{1,32}");
  private static final Path PROC_SYS = Path.of("/proc/sys");

  private Sysctls() {}

  /** Throws {@link IllegalArgumentException} unless {@code key} and {@code value} are a plain sysctl setting. */
  public static void check(String key, String value) {
    if (key == null || !KEY.matcher(key).matches() || value == null || !VALUE.matcher(value).matches()) {
      throw new IllegalArgumentException("refused sysctl " + key + "=" + value);
    }
  }

  /**
   * Gives each key of {@code values} (in its order) its value in {@code netns} (a file such as
   * {@code /var/run/netns/<name>}; null: this process's namespace), writing only those that differ; returns the
   * keys written. Fails with {@link NetlinkException} carrying the errno (ENOENT: no such namespace or key,
   * EROFS or EPERM: not writable here) or {@link LinkageError} where the C library cannot be bound.
   */
  public static List<String> ensure(Path netns, Map<String, String> values, Duration timeout) throws IOException {
    values.forEach(Sysctls::check);
    return NsThread.call(netns, timeout, "sysctl-setns", () -> {
      List<String> written = new ArrayList<>();
      boolean remounted = false;
      for (Map.Entry<String, String> kv : values.entrySet()) {
        String path = PROC_SYS.resolve(kv.getKey().replace('.', '/')).toString();
        if (kv.getValue().equals(read(path))) {
          continue;
        }
        int e = write(path, kv.getValue());
        if (e == Libc.EROFS && !remounted) {
          writableProcSys();
          remounted = true;
          e = write(path, kv.getValue());
        }
        if (e != 0) {
          throw new NetlinkException("cannot set " + kv.getKey() + " (errno " + e + ")", e);
        }
        written.add(kv.getKey());
      }
      return written;
    }, w -> { });
  }

  private static String read(String path) throws NetlinkException {
    int fd = Libc.c().open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
    if (fd < 0) {
      int e = Libc.errno();
      throw new NetlinkException("cannot read " + path + " (errno " + e + ")", e);
    }
    try {
      byte[] buf = new byte[64];
      long n = Libc.c().read(fd, buf, buf.length);
      if (n < 0) {
        int e = Libc.errno();
        throw new NetlinkException("cannot read " + path + " (errno " + e + ")", e);
      }
      return new String(buf, 0, (int) n, StandardCharsets.US_ASCII).strip();
    } finally {
      Libc.c().close(fd);
    }
  }

  /** 0, or the errno of the open or the write. */
  private static int write(String path, String value) {
    int fd = Libc.c().open(path, Libc.O_WRONLY | Libc.O_CLOEXEC);
    if (fd < 0) {
      return Libc.errno();
    }
    try {
      byte[] b = (value + "\n").getBytes(StandardCharsets.US_ASCII);
      return Libc.c().write(fd, b, b.length) == b.length ? 0 : Libc.errno();
    } finally {
      Libc.c().close(fd);
    }
  }

  /**
   * This thread into a mount namespace of its own with {@code /proc/sys} writable. Where {@code /proc/sys} is
   * no mount of its own (a host, a privileged container) the remount fails and the write's error stands.
   */
  private static void writableProcSys() throws NetlinkException {
    if (Libc.c().unshare(Libc.CLONE_NEWNS) < 0) {
      int e = Libc.errno();
      throw new NetlinkException("/proc/sys is read-only and no mount namespace could be made (errno " + e + ")", e);
    }
    if (Libc.c().mount("none", PROC_SYS.toString(), null, Libc.MS_REMOUNT | Libc.MS_BIND, null) < 0) {
      int e = Libc.errno();
      throw new NetlinkException("/proc/sys is read-only and could not be remounted writable (errno " + e + ")", e);
    }
  }
}
