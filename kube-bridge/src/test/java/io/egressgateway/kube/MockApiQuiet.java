package io.egressgateway.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;

/**
 * Waits out a known stall of fabric8's mock API server. When a watch closes while the mock is sending it
 * an event, the mock's event-loop thread and its per-watch sender block each other until the send gives up
 * (30 s). A shutdown during that stall fails after 10 s ("Unable to close MockWebServer") and a test's
 * next request waits. Tests that close informers call this before going on or before the server stops:
 * it returns once the server answers a request again.
 */
public final class MockApiQuiet {
  private MockApiQuiet() {}

  public static void await(KubernetesClient client) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        client.namespaces().list();
        return;
      } catch (KubernetesClientException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("the mock API server did not answer within 60 s", e);
        }
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
