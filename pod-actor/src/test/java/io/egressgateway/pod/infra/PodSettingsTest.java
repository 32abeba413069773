package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PodSettingsTest {
  @Test
  void referenceDefaultsAreValid() {
    PodSettings s = PodSettings.from(ConfigFactory.load());
    assertEquals(Path.of("/var/run/kube-egress-gateway/cni.sock"), s.socketPath());
    assertEquals(Duration.ofSeconds(10), s.gatewayWait());
    assertEquals("auto", s.wireguardBackend());
    assertEquals(List.of("169.254.169.254/32", "169.254.10.11/32"), s.exceptionCidrs().stream().map(Object::toString).toList(),
        "instance metadata and node-local DNS, as the Go original has them");
    assertEquals(Duration.ofSeconds(30), s.peerSyncInterval());
  }

  @Test
  void exceptionCidrsComeAsAListOrOneCommaSeparatedValueAndABadOneIsNamed() {
    PodSettings s = PodSettings.from(ConfigFactory.parseString("egress.pod.exception-cidrs = [\"10.0.0.0/8, 192.168.1.1/32\"]")
        .withFallback(ConfigFactory.load()));
    assertEquals(List.of("10.0.0.0/8", "192.168.1.1/32"), s.exceptionCidrs().stream().map(Object::toString).toList());
    assertEquals(List.of(), PodSettings.from(ConfigFactory.parseString("egress.pod.exception-cidrs = []")
        .withFallback(ConfigFactory.load())).exceptionCidrs());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.exception-cidrs = [\"169.254.169.254\"]").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("egress.pod.exception-cidrs") && e.getMessage().contains("'169.254.169.254'"), e.getMessage());
  }

  @Test
  void inconsistentValuesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.answer-timeout = 5s").withFallback(ConfigFactory.load())));
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.socket-path = relative.sock").withFallback(ConfigFactory.load())));
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.wireguard-backend = magic").withFallback(ConfigFactory.load())));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.peer-sync-interval = 0s").withFallback(ConfigFactory.load())))
        .getMessage().contains("peer-sync-interval"));
  }

  @Test
  void thePeerClockOnlyGoesUpAlsoWhenTheWallClockStandsStillOrStepsBack() {
    long[] now = {1_000};
    PeerClock clock = new PeerClock(() -> now[0]);
    long a = clock.next();
    long b = clock.next();
    now[0] = 900;
    long c = clock.next();
    now[0] = 2_000;
    long d = clock.next();
    assertEquals(1_000_000, a, "wall-clock microseconds");
    assertTrue(a < b && b < c && c < d);
    assertEquals(2_000_000, d, "back with the wall clock once it is ahead");
  }
}
