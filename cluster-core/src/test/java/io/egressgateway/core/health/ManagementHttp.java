package io.egressgateway.core.health;

import io.egressgateway.core.TestMembers;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A member's management endpoints as a test reads them: status codes (-1 when nothing answers) and bodies. */
final class ManagementHttp {
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  void awaitStatus(String url, int expected) {
    TestMembers.await(Duration.ofSeconds(30), () -> status(url) == expected, url + " should answer " + expected);
  }

  int status(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  String body(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      throw new AssertionError("no answer from " + url, e);
    }
  }
}
