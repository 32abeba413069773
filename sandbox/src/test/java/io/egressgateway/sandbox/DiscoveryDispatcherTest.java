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
}
