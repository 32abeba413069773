package io.egressgateway.datapath.net;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The C library calls this package makes without a process (netlink sockets, namespaces, sysctl files), bound by
 * jnr-ffi at first use: {@link #c()} throws {@link LinkageError} where the library cannot be bound, and callers
 * fall back to commands.
 */
final class Libc {
  static final int ENOENT = 2;
  static final int EINTR = 4;
  static final int EAGAIN = 11;
  static final int ENODEV = 19;
  static final int EROFS = 30;
  static final int O_RDONLY = 0;
  static final int O_WRONLY = 1;
  static final int O_CLOEXEC = 0x80000;
  static final int CLONE_NEWNS = 0x00020000;
  static final int CLONE_NEWNET = 0x40000000;
  static final long MS_REMOUNT = 32;
  static final long MS_BIND = 4096;

  /** The calls; names and types as in the C library. */
  public interface Calls {
    @SaveError
    int socket(int domain, int type, int protocol);

    @SaveError
    int setsockopt(int fd, int level, int name, @In byte[] value, int length);

    @SaveError
    @ssize_t
    long send(int fd, @In byte[] buf, @size_t long len, int flags);

    @SaveError
    @ssize_t
    long recv(int fd, @Out byte[] buf, @size_t long len, int flags);

    @SaveError
    @ssize_t
    long read(int fd, @Out byte[] buf, @size_t long len);

    @SaveError
    @ssize_t
    long write(int fd, @In byte[] buf, @size_t long len);

    @SaveError
    int open(String path, int flags);

    @SaveError
    int setns(int fd, int nstype);

    @SaveError
    int unshare(int flags);

    @SaveError
    int mount(String source, String target, String fstype, long flags, Pointer data);

    int close(int fd);
  }

  private Libc() {}

  private static final class Holder {
    static final Calls C = LibraryLoader.create(Calls.class).load("c");
    static final jnr.ffi.Runtime RUNTIME = jnr.ffi.Runtime.getRuntime(C);
  }

  /** The bound library; {@link LinkageError} (or an error initialising it) where it cannot be bound. */
  static Calls c() {
    return Holder.C;
  }

  /** The errno of this thread's last failed call. */
  static int errno() {
    return Holder.RUNTIME.getLastError();
  }
}
