package io.egressgateway.core.journal;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bundled PostgreSQL (zonky's binaries) running on a directory of its own:
 *
 * <pre>
 *   dir/            0700
 *     lock          held while a process runs the database on this directory
 *     password      the superuser's password, generated at the first start, 0600
 *     pgdata/       the database cluster (PostgreSQL keeps it 0700)
 * </pre>
 *
 * <p>The server listens on 127.0.0.1 only, has no unix socket, and its {@code pg_hba.conf} (rewritten at
 * every start) takes only SCRAM password logins: on a node's shared loopback no other process gets in
 * without reading the password file, which only root can. A durable directory is created atomically (the
 * cluster is made in {@code pgdata.init} and renamed once it has started once), is opened again as it is at
 * the next start, and runs with {@code fsync} and synchronous commits on: an event the member was told is
 * persisted survives a kill of the container. A server left running by a member that died without
 * stopping it (same PID namespace) is stopped first; a {@code postmaster.pid} left by a killed container,
 * whose PID may now belong to any other process, is removed.
 *
 * <p>PostgreSQL refuses to run as root. A member running as root (gateway and worker pods, the sandbox)
 * starts it the way zonky does on its own: inside a new user namespace ({@code unshare -U}), where the
 * process has no uid 0 and the files it writes still belong to root on the host.
 */
final class LocalPostgres implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LocalPostgres.class);

  static final String PGDATA = "pgdata";
  static final String PASSWORD_FILE = "password";
  static final String LOCK_FILE = "lock";
  private static final String STAGING = "pgdata.init";
  private static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);
  private static final Duration LEFTOVER_STOP_WAIT = Duration.ofSeconds(30);

  private final Path dir;
  private final FileChannel lockChannel;
  private final EmbeddedPostgres server;
  private final String password;

  private LocalPostgres(Path dir, FileChannel lockChannel, EmbeddedPostgres server, String password) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.server = server;
    this.password = password;
  }

  /**
   * Starts the database on {@code dir} (created if missing), on {@code port} (0: a free one). {@code durable}:
   * the directory outlives this process, so its cluster is made crash-safe and written with fsync.
   */
  static LocalPostgres start(Path dir, int port, boolean durable) throws IOException {
    ensurePrivateDirectory(dir);
    FileChannel lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      FileLock lock;
      try {
        lock = lockChannel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw new IllegalStateException("another process runs the journal in " + dir + " (" + dir.resolve(LOCK_FILE)
            + " is locked); two members must not share a journal directory");
      }
      requireUnprivilegedStart();
      BundledBinaries.removeUnfinished(BundledBinaries.workingDirectory());
      Path pgdata = dir.resolve(PGDATA);
      String password = password(dir, Files.isDirectory(pgdata));
      EmbeddedPostgres server;
      if (Files.isDirectory(pgdata)) {
        clearLeftoverServer(pgdata);
        server = builder(pgdata, password, port, durable).start();
      } else if (durable) {
        initializeAside(dir, pgdata, password);
        server = builder(pgdata, password, port, true).start();
      } else {
        server = withInitialPassword(builder(pgdata, password, port, false), dir).start();
      }
      return new LocalPostgres(dir, lockChannel, server, password);
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
  }

  int port() {
    return server.getPort();
  }

  String password() {
    return password;
  }

  Path directory() {
    return dir;
  }

  /** Stops the server (fast shutdown) and lets the directory go. */
  @Override
  public void close() throws IOException {
    try {
      server.close();
    } finally {
      lockChannel.close();
    }
  }

  /**
   * Stops a PostgreSQL server still running on {@code dir}'s cluster although no live process holds the
   * directory: one whose member was killed. Returns true when none is left running. The sandbox calls it at
   * teardown for the directories of members that may not have stopped.
   */
  static boolean stopLeftoverServer(Path dir) {
    Path pgdata = dir.resolve(PGDATA);
    try (FileChannel ch = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock()) {
      if (lock == null) {
        return false;
      }
      if (Files.isDirectory(pgdata)) {
        clearLeftoverServer(pgdata);
      }
      return true;
    } catch (IOException | RuntimeException e) {
      log.warn("journal: could not check {} for a leftover PostgreSQL server: {}", pgdata, e.getMessage());
      return false;
    }
  }

  // --- start-up steps ---

  private static void ensurePrivateDirectory(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir.getParent());
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
      } catch (java.nio.file.FileAlreadyExistsException raced) {
        // made meanwhile: the permissions are set below
      }
    }
    // a hostPath volume of type DirectoryOrCreate is made 0755 by the kubelet
    Files.setPosixFilePermissions(dir, OWNER_ONLY_DIR);
  }

  /** Fails clearly where PostgreSQL would refuse to start as root with a less obvious message. */
  private static void requireUnprivilegedStart() throws IOException {
    Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    if (Integer.valueOf(0).equals(uid) && !LinuxUtils.isUnshareAvailable()) {
      throw new IllegalStateException("PostgreSQL does not run as root, and this process (root) cannot start it in a user"
          + " namespace of its own ('unshare -U' is missing or not allowed): install util-linux and allow user namespaces"
          + " (sysctl user.max_user_namespaces > 0, and a seccomp profile that permits unshare), or run as another user");
    }
  }

  /**
   * The superuser password: the one kept in the directory, or a new one written there (0600) when the
   * directory holds no cluster yet.
   */
  private static String password(Path dir, boolean clusterExists) throws IOException {
    Path file = dir.resolve(PASSWORD_FILE);
    if (Files.exists(file)) {
      if (!Files.getPosixFilePermissions(file).equals(OWNER_ONLY_FILE)) {
        log.warn("journal: {} was readable by others; made 0600 again", file);
        Files.setPosixFilePermissions(file, OWNER_ONLY_FILE);
      }
      String kept = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").trim();
      if (kept.isEmpty()) {
        throw new IllegalStateException("the journal's password file " + file + " is empty");
      }
      return kept;
    }
    if (clusterExists) {
      throw new IllegalStateException("the journal in " + dir + " has a database but no password file (" + file
          + "); restore the file, or delete the directory to start this node's journal afresh");
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    String fresh = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    Path tmp = dir.resolve(PASSWORD_FILE + ".new");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap((fresh + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return fresh;
  }

  /**
   * Makes a durable cluster aside ({@code pgdata.init}) and moves it into place only after it has started
   * once, so that a member killed half-way through its very first start leaves no half-made cluster that
   * every later start would trip over.
   */
  private static void initializeAside(Path dir, Path pgdata, String password) throws IOException {
    Path staging = dir.resolve(STAGING);
    deleteTree(staging);
    withInitialPassword(builder(staging, password, 0, true), dir).start().close();
    Files.move(staging, pgdata, StandardCopyOption.ATOMIC_MOVE);
    log.info("journal: new database made in {}", pgdata);
  }

  /** initdb sets the superuser's password from the password file. */
  private static EmbeddedPostgres.Builder withInitialPassword(EmbeddedPostgres.Builder b, Path dir) {
    // zonky passes each "locale" setting to initdb as --<key>=<value>; it has no other way to add an option
    return b.setLocaleConfig("pwfile", dir.resolve(PASSWORD_FILE).toString());
  }

  private static EmbeddedPostgres.Builder builder(Path pgdata, String password, int port, boolean durable) {
    EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
        .setDataDirectory(pgdata)
        .setCleanDataDirectory(false)
        // stopping is ours: after coordinated shutdown, see EgressMember
        .setRegisterShutdownHook(false)
        .setPGStartupWait(STARTUP_WAIT)
        .setServerConfig("listen_addresses", "127.0.0.1")
        // no unix socket: the only way in is a password login over loopback TCP
        .setServerConfig("unix_socket_directories", "")
        .setServerConfig("password_encryption", "scram-sha-256")
        .setConnectConfig("password", password)
        .setDataDirectoryCustomizer(LocalPostgres::writeHba);
    if (durable) {
      // zonky starts PostgreSQL with -F (no fsync) and asynchronous commits, fine for a throw-away database
      b.setServerConfig("fsync", "on")
          .setServerConfig("synchronous_commit", "on")
          .setServerConfig("max_connections", "40")
          .setServerConfig("shared_buffers", "16MB");
    }
    if (port > 0) {
      b.setPort(port);
    }
    return b;
  }

  /** Password logins (SCRAM) over IPv4 loopback only; written before every start, whatever was there. */
  private static void writeHba(File pgdata) {
    String hba = "# Written by kube-egress-gateway before every start of this database: password (SCRAM) logins\n"
        + "# over IPv4 loopback only. The server has no unix socket.\n"
        + "host all all 127.0.0.1/32 scram-sha-256\n";
    try {
      Files.writeString(pgdata.toPath().resolve("pg_hba.conf"), hba, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + pgdata + "/pg_hba.conf", e);
    }
  }

  /**
   * Deals with a {@code postmaster.pid} that a clean stop would have removed. Its PID either is a server
   * still running on this cluster (its member died; the process is in this PID namespace): that server is
   * stopped; or it is gone or is any other process (a container restart starts PIDs afresh, and PostgreSQL
   * would take a live stranger for a running server): the file is removed. Called only while holding the
   * directory's lock, so no live member is using the cluster.
   */
  private static void clearLeftoverServer(Path pgdata) throws IOException {
    Path pidFile = pgdata.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
    long pid = lines.isEmpty() ? -1 : parsePid(lines.get(0));
    String recordedDir = lines.size() > 1 ? lines.get(1).trim() : pgdata.toString();
    Optional<ProcessHandle> running = pid > 0 ? ProcessHandle.of(pid).filter(ProcessHandle::isAlive) : Optional.empty();
    if (running.isPresent() && isServerOf(pid, recordedDir)) {
      log.warn("journal: a PostgreSQL server (PID {}) is still running on {} although its member is gone; stopping it", pid, pgdata);
      stop(running.get());
    }
    if (Files.exists(pidFile)) {
      String why = running.isEmpty() ? "is gone" : running.get().isAlive() ? "is another process" : "was stopped";
      Files.delete(pidFile);
      log.warn("journal: removed the postmaster.pid left in {} by a server that did not stop (PID {} {})", pgdata, pid, why);
    }
  }

  private static long parsePid(String line) {
    try {
      return Long.parseLong(line.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Whether process {@code pid} is a PostgreSQL server started on {@code dataDir} (by its command line). */
  private static boolean isServerOf(long pid, String dataDir) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      List<String> args = List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
      return !args.isEmpty() && args.get(0).endsWith("postgres") && args.contains(dataDir);
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGTERM (its clients died with the member, so a smart shutdown ends at once), SIGKILL after a while. */
  private static void stop(ProcessHandle server) {
    List<ProcessHandle> children = server.children().toList();
    server.destroy();
    if (!waitFor(server, LEFTOVER_STOP_WAIT)) {
      log.warn("journal: PostgreSQL server {} did not stop; killing it", server.pid());
      server.destroyForcibly();
      waitFor(server, Duration.ofSeconds(10));
      children.forEach(ProcessHandle::destroyForcibly);
    }
    // its backends leave once they see the server gone; the next server refuses to start while they hold its memory
    children.forEach(c -> waitFor(c, Duration.ofSeconds(10)));
  }

  private static boolean waitFor(ProcessHandle p, Duration timeout) {
    try {
      p.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return false;
    } catch (java.util.concurrent.ExecutionException e) {
      return !p.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !p.isAlive();
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("journal: could not delete {}: {}", root, e.getMessage());
    }
  }
}
