package io.egressgateway.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;

/**
 * Waits out a known stall of fabric8's mock API server. When a watch closes while the mock is sending it
 * an event, the mock's event-loop thread (one serves every connection) and its per-watch sender block each other
 * until the send gives up (30 s): meanwhile no request is answered. A shutdown during that stall fails after 10 s
 * ("Unable to close MockWebServer"), and a controller started during it finds its lists timing out (its informers
 * start again with backoff, so its caches, and what it builds on them, come late). Tests that close informers call
 * this before going on or before the server stops.
 *
 * <p>The stall begins when the server handles the watch's close, which can come after it answered a first request;
 * so this returns only once the server has answered promptly throughout {@link #QUIET}.
 */
public final class MockApiQuiet {
  /** How long in a row the server must answer promptly. */
  static final Duration QUIET = Duration.ofSeconds(3);
  /** What counts as a prompt answer. */
  static final Duration PROMPT = Duration.ofSeconds(1);

  private MockApiQuiet() {}

  public static void await(KubernetesClient client) {
    long start = System.nanoTime();
    long deadline = start + Duration.ofSeconds(90).toNanos();
    long quietSince = start;
    while (true) {
      long asked = System.nanoTime();
      boolean prompt;
      try {
        client.namespaces().list();
        prompt = System.nanoTime() - asked < PROMPT.toNanos();
      } catch (KubernetesClientException e) {
        prompt = false;
      }
      long now = System.nanoTime();
      if (!prompt) {
        quietSince = now;
      } else if (now - quietSince >= QUIET.toNanos()) {
        return;
      }
      if (now > deadline) {
        throw new AssertionError("the mock API server did not answer promptly for " + QUIET.toSeconds() + " s in a row within 90 s");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for the mock API server", e);
      }
    }
  }

  /**
   * Stops the mock server. A close that the stall above still holds (a watch's sender can block again after
   * the server last answered) fails after 10 s; the test's assertions have run by then, so that failure is
   * reported and the server is left to the test JVM's exit instead of failing the test.
   */
  public static void destroy(KubernetesMockServer server) {
    try {
      server.destroy();
    } catch (IllegalStateException e) {
      System.err.println("fabric8's mock API server did not close (a watch's send is stalled); left to the JVM's exit: "
          + e.getMessage());
    }
  }
}
