package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.FakeGatewayDatapath;
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
    HttpResponse<String> broken = get("/gw/" + UID, "GET");
    assertEquals(503, broken.statusCode());
    assertTrue(broken.body().contains("not in place"), broken.body());
    assertEquals(503, get("/gw/other", "GET").statusCode());
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
