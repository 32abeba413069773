package io.egressgateway.pod.infra;

import io.egressgateway.cni.wire.CniWire;
import io.egressgateway.pod.model.CniCall;
import io.egressgateway.pod.model.CniReply;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent's CNI endpoint: a unix socket only root can reach (socket 0600 in a 0700 directory), one
 * request per connection, in the plugin's protocol ({@link CniWire}: a request frame in, an answer frame out). Connections are served on a small pool of its own threads, never on actor
 * threads; each waits (bounded) for the handler's answer. A request that cannot be parsed is answered
 * with a CNI decoding error, and the server keeps serving.
 *
 * <p>Beyond the file permissions, each connection is checked on its own: the peer's credentials
 * ({@code SO_PEERCRED}) must be root's (or this agent's own user, which is root in a cluster); the request
 * must arrive whole within {@code READ_DEADLINE}; at most {@code MAX_CONNECTIONS} are open at once. A
 * connection that fails a check is answered with a CNI error when it can be, closed, logged and counted
 * ({@link #onRefused}).
 *
 * <p>Owns: the socket file and its threads. Persists: nothing. Observes: connections.
 */
public final class CniServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CniServer.class);
  /** How long a client may take to send its whole request. */
  static final Duration READ_DEADLINE = Duration.ofSeconds(5);
  /** Connections open at once; more are refused at once (the runtime retries). */
  static final int MAX_CONNECTIONS = 64;
  private static final String OWN_USER = System.getProperty("user.name");

  private final Path socket;
  private final ServerSocketChannel server;
  private final ExecutorService workers;
  private final Thread acceptor;
  private final Function<CniCall, CompletionStage<CniReply>> handler;
  private final Duration answerTimeout;
  private final java.util.concurrent.Semaphore open = new java.util.concurrent.Semaphore(MAX_CONNECTIONS);
  private final java.util.concurrent.ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "cni-server-deadlines");
    t.setDaemon(true);
    return t;
  });
  private volatile java.util.function.Consumer<String> refused = reason -> {};
  /** Completed once calls over the socket may reach the handler ({@link #admitCalls}); open unless told to hold. */
  private volatile CompletableFuture<Void> admitted = CompletableFuture.completedFuture(null);
  /** Answers connections over the limit; its own small queue, so a flood is closed rather than queued. */
  private final java.util.concurrent.ThreadPoolExecutor refusals = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
      TimeUnit.MILLISECONDS, new java.util.concurrent.ArrayBlockingQueue<>(MAX_CONNECTIONS), r -> {
        Thread t = new Thread(r, "cni-server-refusals");
        t.setDaemon(true);
        return t;
      });

  private CniServer(Path socket, ServerSocketChannel server, int threads,
      Function<CniCall, CompletionStage<CniReply>> handler, Duration answerTimeout) {
    this.socket = socket;
    this.server = server;
    this.handler = handler;
    this.answerTimeout = answerTimeout;
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "cni-server-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.acceptor = new Thread(this::acceptLoop, "cni-server-accept");
    this.acceptor.setDaemon(true);
  }

  /** Binds {@code socket} (replacing a stale file) and starts serving. */
  public static CniServer start(Path socket, int threads, Duration answerTimeout,
      Function<CniCall, CompletionStage<CniReply>> handler) throws IOException {
    return start(socket, threads, answerTimeout, handler, false);
  }

  private static CniServer start(Path socket, int threads, Duration answerTimeout,
      Function<CniCall, CompletionStage<CniReply>> handler, boolean held) throws IOException {
    requirePrivateDirectory(socket.toAbsolutePath().getParent());
    Files.deleteIfExists(socket);
    ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    ch.bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    CniServer s = new CniServer(socket, ch, threads, handler, answerTimeout);
    if (held) {
      s.admitted = new CompletableFuture<>();
    }
    s.acceptor.start();
    log.info("CNI server listening on {}", socket);
    return s;
  }

  /**
   * Creates the socket's directory root-only (0700), or accepts an existing one only if it belongs to us
   * and nobody else may write into it. An existing directory's permissions are never changed: the socket
   * path may point into a shared directory by mistake, and that must fail, not lock others out.
   */
  static void requirePrivateDirectory(Path dir) throws IOException {
    if (Files.notExists(dir)) {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      return;
    }
    String owner = Files.getOwner(dir).getName();
    var perms = Files.getPosixFilePermissions(dir);
    boolean othersWrite = perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
        || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
    if (!owner.equals(System.getProperty("user.name")) || othersWrite) {
      throw new IOException("CNI socket directory " + dir + " must be owned by " + System.getProperty("user.name")
          + " and writable by nobody else (owner " + owner + ", " + PosixFilePermissions.toString(perms) + ")");
    }
  }

  public Path socket() {
    return socket;
  }

  /**
   * Like {@link #start}, but holds calls over the socket (they wait, up to the answer timeout; STATUS says not
   * available) until {@link #admitCalls}: a starting agent first runs the DELs the plugin kept for it, then takes calls.
   */
  public static CniServer startHeld(Path socket, int threads, Duration answerTimeout,
      Function<CniCall, CompletionStage<CniReply>> handler) throws IOException {
    return start(socket, threads, answerTimeout, handler, true);
  }

  /** Lets held and new calls through. */
  public void admitCalls() {
    admitted.complete(null);
  }

  /** Told the reason ({@code peer}, {@code deadline}, {@code busy}) of every refused connection, e.g. for a metric. */
  public CniServer onRefused(java.util.function.Consumer<String> listener) {
    this.refused = listener;
    return this;
  }

  /** Where the plugin keeps the DELs this agent did not take. */
  static final String DEFERRED_DIR = CniWire.DEFERRED_DIR;
  /** A kept DEL: its request frame. */
  static final String DEFERRED_SUFFIX = CniWire.DEFERRED_SUFFIX;
  /** A DEL kept by a plugin older than the frames, as the JSON request it sent then. */
  static final String LEGACY_SUFFIX = ".json";

  /**
   * Runs the DELs the plugin kept while this agent could not be reached (next to the socket, one request
   * frame per {@code .del} file; an older plugin's JSON request per {@code .json} file), oldest first, each through the handler as if it came over the socket. A file is removed once
   * its DEL ran, or if it holds anything but a readable DEL. Completes with how many ran.
   */
  public CompletionStage<Integer> runDeferredDels() {
    Path dir = socket.toAbsolutePath().getParent().resolve(DEFERRED_DIR);
    List<Path> files;
    try (var list = Files.list(dir)) {
      files = list.filter(f -> isKept(f.getFileName().toString()))
          .sorted(java.util.Comparator.comparing(CniServer::modified)).toList();
    } catch (java.nio.file.NoSuchFileException e) {
      return CompletableFuture.completedFuture(0);
    } catch (IOException e) {
      log.warn("cannot read deferred DELs in {}: {}", dir, e.getMessage());
      return CompletableFuture.completedFuture(0);
    }
    CompletableFuture<Integer> done = CompletableFuture.completedFuture(0);
    for (Path f : files) {
      done = done.thenCompose(n -> runDeferred(f).thenApply(ran -> n + (ran ? 1 : 0)));
    }
    return done.whenComplete((n, err) -> {
      if (!files.isEmpty()) {
        log.info("{} DEL(s) that could not reach the agent before it started were run", n);
      }
    });
  }

  private static boolean isKept(String name) {
    return !name.startsWith(".") && (name.endsWith(DEFERRED_SUFFIX) || name.endsWith(LEGACY_SUFFIX));
  }

  private CompletableFuture<Boolean> runDeferred(Path file) {
    CniCall call;
    try {
      call = file.getFileName().toString().endsWith(LEGACY_SUFFIX)
          ? CniCodec.call(CniCodec.legacyJson(Files.readString(file, StandardCharsets.UTF_8)))
          : CniCodec.parse(Files.readAllBytes(file));
    } catch (IOException | IllegalArgumentException e) {
      log.warn("deferred DEL {} is unreadable and dropped: {}", file, e.getMessage());
      deleteQuietly(file);
      return CompletableFuture.completedFuture(false);
    }
    if (!call.command().equals("DEL")) {
      log.warn("{} holds a {} request, not a DEL; dropped", file, call.command());
      deleteQuietly(file);
      return CompletableFuture.completedFuture(false);
    }
    log.info("running the DEL of container {} (pod {}/{}) kept while the agent was away", call.containerId(),
        call.podNamespace(), call.podName());
    return handler.apply(call).toCompletableFuture()
        .handle((reply, err) -> {
          if (err != null) {
            log.warn("deferred DEL of container {} failed: {}", call.containerId(), err.getMessage());
          }
          deleteQuietly(file);
          return err == null;
        });
  }

  private static java.nio.file.attribute.FileTime modified(Path f) {
    try {
      return Files.getLastModifiedTime(f);
    } catch (IOException e) {
      return java.nio.file.attribute.FileTime.fromMillis(0);
    }
  }

  private static void deleteQuietly(Path f) {
    try {
      Files.deleteIfExists(f);
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", f, e.getMessage());
    }
  }

  private void acceptLoop() {
    while (server.isOpen()) {
      try {
        SocketChannel conn = server.accept();
        if (!open.tryAcquire()) {
          busy(conn);
          continue;
        }
        try {
          workers.execute(() -> {
            try {
              serve(conn);
            } finally {
              open.release();
            }
          });
        } catch (java.util.concurrent.RejectedExecutionException e) {
          open.release();
          closeQuietly(conn);
          return;
        }
      } catch (IOException e) {
        if (server.isOpen()) {
          log.warn("CNI server accept failed: {}", e.getMessage());
        }
      }
    }
  }

  /** Over {@code MAX_CONNECTIONS}: answered "try again" off the accept thread, or just closed if even that is full. */
  private void busy(SocketChannel conn) {
    refused.accept("busy");
    try {
      refusals.execute(() -> {
        byte[] request = readWithin(conn);
        if (request != null) {
          reply(conn, CniReply.error(CniReply.TRY_AGAIN_LATER, "the node agent has " + MAX_CONNECTIONS
              + " CNI calls open already", "try again"));
        }
        log.warn("CNI connection refused (busy): {} calls open already", MAX_CONNECTIONS);
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      closeQuietly(conn);
    }
  }

  /** The user of the process at the other end, from the kernel ({@code SO_PEERCRED}); empty if unknown. */
  static String peerUser(SocketChannel conn) {
    try {
      return conn.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED).user().getName();
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }

  /** Root, or this agent's own user (root wherever the chart runs it). */
  static boolean allowedPeer(String user) {
    return user.equals("root") || user.equals("0") || user.equals(OWN_USER);
  }

  /**
   * The whole request, read within {@code READ_DEADLINE}; null (the connection closed, the refusal counted) when
   * the client sends nothing whole in time or the read fails.
   */
  private byte[] readWithin(SocketChannel conn) {
    // 0 reading, 1 read whole, 2 cut off: whichever of the read and the deadline comes first decides
    java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ScheduledFuture<?> deadline = deadlines.schedule(() -> {
      if (state.compareAndSet(0, 2)) {
        log.warn("CNI connection refused (deadline): no whole request within {} ms", READ_DEADLINE.toMillis());
        refused.accept("deadline");
        closeQuietly(conn); // unblocks the read
      }
    }, READ_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    try {
      byte[] request = readRequest(conn);
      if (state.compareAndSet(0, 1)) {
        return request;
      }
    } catch (IOException e) {
      if (state.compareAndSet(0, 1)) {
        log.warn("CNI connection failed: {}", e.getMessage());
      }
    } finally {
      deadline.cancel(false);
    }
    closeQuietly(conn);
    return null;
  }

  private static void reply(SocketChannel conn, CniReply reply) {
    try (conn) {
      ByteBuffer out = ByteBuffer.wrap(CniCodec.write(reply));
      while (out.hasRemaining()) {
        conn.write(out);
      }
    } catch (IOException e) {
      log.warn("CNI connection failed: {}", e.getMessage());
    }
  }

  private void serve(SocketChannel conn) {
    byte[] request = readWithin(conn);
    if (request == null) {
      return;
    }
    String user = peerUser(conn);
    if (!allowedPeer(user)) {
      log.warn("CNI connection refused (peer): user '{}' is not root", user);
      refused.accept("peer");
      reply(conn, CniReply.error(CniReply.INVALID_ENV, "only root may call the egress gateway node agent",
          "peer user '" + user + "'"));
      return;
    }
    try (conn) {
      ByteBuffer out = ByteBuffer.wrap(answer(request));
      while (out.hasRemaining()) {
        conn.write(out);
      }
    } catch (IOException e) {
      log.warn("CNI connection failed: {}", e.getMessage());
    }
  }

  private static void closeQuietly(SocketChannel conn) {
    try {
      conn.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  private byte[] answer(byte[] request) {
    CniCall call;
    try {
      call = CniCodec.parse(request);
    } catch (IllegalArgumentException e) {
      log.warn("unreadable CNI request: {}", e.getMessage());
      return CniCodec.write(CniReply.error(CniReply.DECODING_FAILURE, "unreadable request from the CNI plugin", e.getMessage()));
    }
    if (!admitted.isDone() && call.command().equals("STATUS")) {
      return CniCodec.write(CniReply.error(CniReply.NOT_AVAILABLE, "the node agent is still starting",
          "it runs the DELs kept while it was away first"));
    }
    try {
      // calls wait until the DELs kept while the agent was away have run: a kept DEL must never undo a newer ADD
      CniReply reply = admitted.thenCompose(v -> handler.apply(call)).toCompletableFuture()
          .get(answerTimeout.toMillis(), TimeUnit.MILLISECONDS);
      return CniCodec.write(reply);
    } catch (TimeoutException e) {
      return CniCodec.write(CniReply.error(CniReply.TRY_AGAIN_LATER, "the node agent did not finish " + call.command()
          + " within " + answerTimeout.toMillis() + " ms", "container " + call.containerId()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CniCodec.write(CniReply.error(CniReply.TRY_AGAIN_LATER, "the node agent is shutting down", ""));
    } catch (Exception e) {
      log.warn("CNI {} for container {} failed", call.command(), call.containerId(), e);
      return CniCodec.write(CniReply.error(CniReply.TUNNEL_FAILURE, "node agent error", String.valueOf(e.getMessage())));
    }
  }

  private static byte[] readRequest(SocketChannel conn) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    ByteBuffer in = ByteBuffer.allocate(16 * 1024);
    while (conn.read(in) >= 0) {
      in.flip();
      got.write(in.array(), 0, in.limit());
      in.clear();
      if (got.size() > CniWire.MAX_REQUEST) {
        throw new IOException("CNI request larger than " + CniWire.MAX_REQUEST + " bytes");
      }
    }
    return got.toByteArray();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      log.debug("closing CNI socket: {}", e.getMessage());
    }
    workers.shutdownNow();
    refusals.shutdownNow();
    deadlines.shutdownNow();
    deleteQuietly(socket);
  }
}
