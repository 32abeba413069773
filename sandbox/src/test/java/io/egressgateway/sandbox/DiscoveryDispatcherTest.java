package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The sandbox API's watches: one that ends never freezes the others. */
class DiscoveryDispatcherTest {

  /**
   * The mock's own watch listener waits up to a minute when its watch ends; that wait must not be on the caller,
   * and the ended watch leaves the set of listeners that writes send their events through at once.
   */
  @Test
  void aWatchEndingIsHandledOffTheCallersThread() throws Exception {
    CountDownLatch closed = new CountDownLatch(1);
    List<String> seen = new ArrayList<>();
    WebSocketListener slow = new WebSocketListener() {
      @Override
      public void onMessage(WebSocket webSocket, String text) {
        seen.add(text);
      }

      @Override
      public void onClosed(WebSocket webSocket, int code, String reason) {
        Sh.sleep(3_000);
        closed.countDown();
      }
    };
    java.util.Set<WebSocketListener> registered = java.util.concurrent.ConcurrentHashMap.newKeySet();
    registered.add(slow);
    var listener = new DiscoveryDispatcher.OffLoopClose(slow, registered);
    listener.onMessage(null, "hello");
    assertEquals(List.of("hello"), seen, "messages reach the mock's listener as they come");
    long t0 = System.nanoTime();
    listener.onClosed(null, 1000, "bye");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 1_000, "the close held its caller (the server's event loop) for " + ms + " ms");
    assertTrue(registered.isEmpty(), "the ended watch still gets the events of writes (its sender is shut down)");
    assertTrue(closed.await(10, TimeUnit.SECONDS), "the mock's listener still learns that its watch ended");
    assertTrue(new DiscoveryDispatcher().tracksWatchListeners(), "the mock's set of watch listeners was not found");
  }

  /**
   * Through the wrapped listeners, watches ended while events are on their way to them, many at once: afterwards
   * the API still answers and a new watch still gets its events promptly. (On this machine this did not make the
   * unwrapped mock freeze either: the freeze needs a send pending at the very moment the watch ends; the test
   * above is the one that fails without the change.)
   */
  @Test
  void watchesEndingDuringEventsLeaveTheApiAndOtherWatchesPrompt() throws Exception {
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      KubernetesClient writer = api.client();
      List<KubernetesClient> clients = new ArrayList<>();
      List<Watch> watches = new ArrayList<>();
      try {
        for (int i = 0; i < 8; i++) {
          KubernetesClient c = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
              .withConfig(new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl(api.url()).withRequestTimeout(90_000).build())
              .build();
          clients.add(c);
          watches.add(c.configMaps().inNamespace("default").watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConfigMap resource) {
            }

            @Override
            public void onClose(WatcherException cause) {
            }
          }));
        }
        Thread storm = new Thread(() -> {
          for (int i = 0; i < 100; i++) {
            writer.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("storm-" + i)
                .endMetadata().build()).create();
          }
        });
        storm.start();
        Sh.sleep(200);
        watches.forEach(Watch::close);
        clients.forEach(KubernetesClient::close);
        storm.join(120_000);
        // a watch opened afterwards gets the next event within seconds, and the API answers a list promptly
        CountDownLatch got = new CountDownLatch(1);
        try (Watch w = writer.configMaps().inNamespace("default").withName("after").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, ConfigMap resource) {
            got.countDown();
          }

          @Override
          public void onClose(WatcherException cause) {
          }
        })) {
          long t0 = System.nanoTime();
          writer.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("after").endMetadata()
              .build()).create();
          assertTrue(got.await(10, TimeUnit.SECONDS), "no event within 10 s after watches ended");
          assertEquals(101, writer.configMaps().inNamespace("default").list().getItems().size());
          long ms = (System.nanoTime() - t0) / 1_000_000;
          assertTrue(ms < 10_000, "the API took " + ms + " ms");
        }
      } finally {
        clients.forEach(KubernetesClient::close);
      }
    }
  }

  /**
   * A watcher that stops reading, then drops its connection while events for it are still pending (as a member
   * SIGKILLed on a busy node): the writes meanwhile are answered promptly and every other watch still gets their
   * events. Without {@link DiscoveryDispatcher.OffLoopClose} the five writes after the drop took 29 s here (the
   * event loop held by the mock's end-of-watch wait).
   */
  @Test
  void aStuckWatcherThatDropsItsConnectionLosesNoOneElsesEvents() throws Exception {
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      KubernetesClient writer = api.client();
      java.net.URI uri = java.net.URI.create(api.url());
      // a raw WebSocket watch that never reads what it is sent
      java.net.Socket raw = new java.net.Socket(uri.getHost(), uri.getPort());
      raw.setReceiveBufferSize(4096);
      raw.getOutputStream().write(("GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: " + uri.getHost() + ":"
          + uri.getPort() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      Sh.sleep(500);
      List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
      try (Watch other = writer.configMaps().inNamespace("default").watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, ConfigMap resource) {
          seen.add(resource.getMetadata().getName());
        }

        @Override
        public void onClose(WatcherException cause) {
        }
      })) {
        String big = "x".repeat(200_000);
        for (int i = 0; i < 40; i++) {
          writer.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("big-" + i)
              .endMetadata().addToData("d", big).build()).create();
        }
        raw.setSoLinger(true, 0);
        raw.close();
        Sh.sleep(500);
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) {
          writer.configMaps().inNamespace("default").resource(new ConfigMapBuilder().withNewMetadata().withName("after-" + i)
              .endMetadata().build()).create();
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        boolean all = Sh.poll(() -> seen.stream().filter(n -> n.startsWith("after-")).count(), n -> n == 5, java.time.Duration.ofSeconds(20), 200) == 5;
        assertTrue(all, "events lost after a stuck watcher dropped its connection: the other watch saw " + seen.stream()
            .filter(n -> n.startsWith("after-")).toList() + " (writes took " + ms + " ms)");
        assertTrue(ms < 10_000, "five writes took " + ms + " ms");
      }
    }
  }
}
