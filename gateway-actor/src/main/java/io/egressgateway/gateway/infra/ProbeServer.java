package io.egressgateway.gateway.infra;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayPlanner;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The load balancer's health probe: {@code GET /gw/<config uid>} answers 200 only while the
 * {@code GatewayNode} entity reports that config serving <em>and</em> a fresh look at the kernel confirms
 * it (namespace, device listening on the config's port with the right key, host0 address, routes, SNAT);
 * 503 otherwise, and always once {@link #drain()} was called.
 *
 * <p>A probe never waits for a kernel check when a recent one said ok: once a verdict is older than
 * {@code verifyCache} a fresh check starts in the background and, for up to 2 s longer, the last good
 * verdict answers meanwhile. On a loaded node a kernel check can take longer than a load
 * balancer's probe timeout, which would otherwise take a healthy gateway out of rotation. Without a good
 * verdict (first probe, or the last check failed) the probe checks inline.
 *
 * <p>Owns: the HTTP listener, its two threads and one verifier thread. Persists: nothing. Observes: the
 * {@link HealthBoard} and, at most once per {@code verifyCache} per config, the kernel through the
 * datapath port.
 */
public final class ProbeServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProbeServer.class);
  private static final String PREFIX = "/gw/";
  /** How much longer than {@code verifyCache} a good verdict answers while a re-check is running. */
  private static final Duration STALE_GRACE = Duration.ofSeconds(2);

  private record Verdict(long atNanos, boolean ok, String why) {}

  private final HealthBoard board;
  private final GatewayDatapath datapath;
  private final Duration verifyCache;
  private final Map<String, Verdict> cache = new ConcurrentHashMap<>();
  private final ExecutorService executor;
  private final ExecutorService verifier = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "egress-gateway-probe-verify");
    t.setDaemon(true);
    return t;
  });
  private final java.util.Set<String> refreshing = ConcurrentHashMap.newKeySet();
  private final HttpServer server;
  private volatile boolean draining;
  /** Why a config the entity serves is still kept out (a restart's hold), or null: see {@link #holdWhile}. */
  private volatile java.util.function.UnaryOperator<String> hold = uid -> null;

  private ProbeServer(HealthBoard board, GatewayDatapath datapath, Duration verifyCache, HttpServer server) {
    this.board = board;
    this.datapath = datapath;
    this.verifyCache = verifyCache;
    this.server = server;
    this.executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "egress-gateway-probe");
      t.setDaemon(true);
      return t;
    });
    server.createContext("/", this::handle);
    server.setExecutor(executor);
  }

  /** Binds and starts the server; port 0 picks a free port (see {@link #port()}). */
  public static ProbeServer start(String bind, int port, HealthBoard board, GatewayDatapath datapath, Duration verifyCache)
      throws IOException {
    ProbeServer s = new ProbeServer(board, datapath, verifyCache, HttpServer.create(new InetSocketAddress(bind, port), 64));
    s.server.start();
    log.info("gateway health probe listening on {}:{}", bind, s.port());
    return s;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Answers 503 from now on and stops the server after {@code delay}; completes when stopped. */
  public CompletableFuture<Void> drain(Duration delay) {
    draining = true;
    log.info("gateway health probe draining: 503 for every config, stopping in {}", delay);
    return CompletableFuture.runAsync(this::close,
        CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
  }

  /**
   * From now on a config the entity reports serving answers 503 while {@code why} gives a reason for it
   * (null: no reason), before the kernel is looked at ({@code StartHold}: a restarted gateway waits for the
   * workers of its journaled peers).
   */
  public void holdWhile(java.util.function.UnaryOperator<String> why) {
    hold = why;
  }

  public boolean draining() {
    return draining;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    verifier.shutdownNow();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
        respond(ex, 405, "method not allowed");
      } else if (!path.startsWith(PREFIX) || path.length() == PREFIX.length()) {
        respond(ex, 404, "probe paths are /gw/<config uid>");
      } else {
        Verdict v = verdict(path.substring(PREFIX.length()));
        respond(ex, v.ok() ? 200 : 503, v.why());
      }
    }
  }

  private Verdict verdict(String uid) {
    if (draining) {
      return new Verdict(0, false, "draining");
    }
    ConfigDatapath want = board.servingConfig(uid).orElse(null);
    if (want == null) {
      return new Verdict(0, false, "config " + uid + " is not serving on this node");
    }
    String held = hold.apply(uid);
    if (held != null) {
      return new Verdict(0, false, held);
    }
    long now = System.nanoTime();
    Verdict cached = cache.get(uid);
    if (cached != null && now - cached.atNanos() < verifyCache.toNanos()) {
      return cached;
    }
    if (cached != null && cached.ok() && now - cached.atNanos() < verifyCache.plus(STALE_GRACE).toNanos()) {
      if (refreshing.add(uid)) {
        try {
          verifier.execute(() -> {
            try {
              check(uid, want);
            } finally {
              refreshing.remove(uid);
            }
          });
        } catch (java.util.concurrent.RejectedExecutionException e) {
          refreshing.remove(uid); // closing
        }
      }
      return cached;
    }
    return check(uid, want);
  }

  private Verdict check(String uid, ConfigDatapath want) {
    Verdict fresh;
    try {
      boolean ok = datapath.observe(uid).map(seen -> GatewayPlanner.serving(want, seen)).orElse(false);
      fresh = new Verdict(System.nanoTime(), ok, ok ? "ok" : "datapath of " + uid + " is not in place");
    } catch (RuntimeException e) {
      fresh = new Verdict(System.nanoTime(), false, "verifying " + uid + " failed: " + e.getMessage());
    }
    cache.put(uid, fresh);
    return fresh;
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = (body + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    if ("HEAD".equals(ex.getRequestMethod())) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }
}
