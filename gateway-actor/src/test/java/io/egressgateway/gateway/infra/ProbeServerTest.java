package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
import io.egressgateway.testing.Eventually;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ProbeServerTest {
  static final String UID = "44444444-dddd";
  final FakeGatewayDatapath dp = new FakeGatewayDatapath();
  final HealthBoard board = new HealthBoard();
  final ConfigDatapath config = new ConfigDatapath(UID, 6000, "10.224.0.5", "10.224.0.15", "", "", "k", Map.of());
  ProbeServer probe;

  @BeforeEach
  void setUp() throws Exception {
    probe = ProbeServer.start("127.0.0.1", 0, board, dp, Duration.ofMillis(1));
  }

  @AfterEach
  void tearDown() {
    probe.close();
  }

  HttpResponse<String> get(String path, String method) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probe.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void answersOkOnlyWhileServingAndVerified() throws Exception {
    assertEquals(503, get("/gw/" + UID, "GET").statusCode(), "nothing published yet");
    dp.program(config, "priv");
    board.publish(Map.of(UID, config), Set.of());
    assertEquals(503, get("/gw/" + UID, "GET").statusCode(), "entity does not report it serving");
    board.publish(Map.of(UID, config), Set.of(UID));
    assertEquals(200, get("/gw/" + UID, "GET").statusCode());
    dp.killDevice(UID);
    // at most one stale answer while re-checking
    HttpResponse<String> broken = Eventually.await(Duration.ofSeconds(2), () -> call(() -> get("/gw/" + UID, "GET")), r -> r.statusCode() != 200, "a 503");
    assertEquals(503, broken.statusCode());
    assertTrue(broken.body().contains("not in place"), broken.body());
    assertEquals(503, get("/gw/other", "GET").statusCode());
  }

  @Test
  void aHeldConfigAnswers503WithTheReasonUntilTheHoldEnds() throws Exception {
    java.util.concurrent.atomic.AtomicReference<String> why = new java.util.concurrent.atomic.AtomicReference<>("held: workers of [w1] away");
    probe.holdWhile(uid -> UID.equals(uid) ? why.get() : null);
    dp.program(config, "priv");
    board.publish(Map.of(UID, config), Set.of(UID));
    HttpResponse<String> held = get("/gw/" + UID, "GET");
    assertEquals(503, held.statusCode());
    assertTrue(held.body().contains("workers of [w1] away"), held.body());
    why.set(null);
    assertEquals(200, get("/gw/" + UID, "GET").statusCode());
  }

  @Test
  void aSlowKernelCheckDoesNotDelayProbesOnceVerifiedAndABreakStillShows() throws Exception {
    java.util.concurrent.atomic.AtomicInteger checks = new java.util.concurrent.atomic.AtomicInteger();
    FakeGatewayDatapath slow = new FakeGatewayDatapath() {
      @Override
      public java.util.Optional<io.egressgateway.gateway.model.ObservedConfig> observe(String uid) {
        checks.incrementAndGet();
        try {
          // simulated latency of the kernel check (the fake's, not a wait of the test)
          Thread.sleep(400);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return super.observe(uid);
      }
    };
    try (ProbeServer p = ProbeServer.start("127.0.0.1", 0, board, slow, Duration.ofMillis(200))) {
      slow.program(config, "priv");
      board.publish(Map.of(UID, config), Set.of(UID));
      String url = "/gw/" + UID;
      assertEquals(200, getFrom(p, url).statusCode(), "the first probe checks inline");
      // probes go on until eight kernel checks have run in the background (each started by a probe that
      // found the last check stale); none of the probes waits for one
      for (int i = 0; i < 8; i++) {
        int started = checks.get();
        int round = i;
        Eventually.await(Duration.ofSeconds(5), Duration.ofMillis(50), () -> {
          long t0 = System.nanoTime();
          assertEquals(200, call(() -> getFrom(p, url).statusCode()));
          long ms = (System.nanoTime() - t0) / 1_000_000;
          assertTrue(ms < 300, "a probe in round " + round + " waited " + ms + " ms for a kernel check");
          return checks.get() > started;
        }, started1 -> started1, "a background kernel check");
      }
      slow.killDevice(UID);
      int status = Eventually.await(Duration.ofSeconds(3), Duration.ofMillis(50), () -> call(() -> getFrom(p, url).statusCode()), s -> s != 200,
          "the probe to turn");
      assertEquals(503, status, "a broken datapath still turns the probe to 503");
    }
  }

  private static <T> T call(java.util.concurrent.Callable<T> c) {
    try {
      return c.call();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<String> getFrom(ProbeServer p, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void drainAnswers503AtOnceThenStops() throws Exception {
    dp.program(config, "priv");
    board.publish(Map.of(UID, config), Set.of(UID));
    assertEquals(200, get("/gw/" + UID, "GET").statusCode());
    var stopped = probe.drain(Duration.ofMillis(300));
    HttpResponse<String> r = get("/gw/" + UID, "GET");
    assertEquals(503, r.statusCode());
    assertTrue(r.body().contains("draining"));
    stopped.get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(probe.draining());
  }

  @Test
  void otherPathsAndMethodsAreClearErrors() throws Exception {
    assertEquals(404, get("/healthz", "GET").statusCode());
    assertEquals(404, get("/gw/", "GET").statusCode());
    assertEquals(405, get("/gw/" + UID, "POST").statusCode());
  }
}
