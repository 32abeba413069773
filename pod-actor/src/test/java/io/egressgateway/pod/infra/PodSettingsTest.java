package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PodSettingsTest {
  @Test
  void referenceDefaultsAreValid() {
    PodSettings s = PodSettings.from(ConfigFactory.load());
    assertEquals(Path.of("/var/run/kube-egress-gateway/cni.sock"), s.socketPath());
    assertEquals(Duration.ofSeconds(10), s.gatewayWait());
    assertEquals("auto", s.wireguardBackend());
  }

  @Test
  void inconsistentValuesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.answer-timeout = 5s").withFallback(ConfigFactory.load())));
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.socket-path = relative.sock").withFallback(ConfigFactory.load())));
    assertThrows(IllegalArgumentException.class, () -> PodSettings.from(
        ConfigFactory.parseString("egress.pod.wireguard-backend = magic").withFallback(ConfigFactory.load())));
  }
}
