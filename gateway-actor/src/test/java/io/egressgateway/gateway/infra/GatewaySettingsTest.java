package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class GatewaySettingsTest {
  @Test
  void referenceConfDefaults() {
    GatewaySettings s = GatewaySettings.from(ConfigFactory.load());
    assertEquals("auto", s.wireguardBackend());
    assertEquals("", s.hostNetns());
    assertEquals("egw-", s.netnsPrefix());
    assertEquals(1, s.peerKeepaliveSeconds(), "must stay below egress.pod.failover.stall");
    assertEquals(8082, s.probePort());
    assertEquals(Duration.ofSeconds(15), s.drainDelay());
    assertTrue(s.probeEnabled());
  }

  @Test
  void badValuesAreRejectedWithTheKeyNamed() {
    var bad = ConfigFactory.parseString("egress.gateway.wireguard-backend = userspace").withFallback(ConfigFactory.load());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GatewaySettings.from(bad));
    assertTrue(e.getMessage().contains("egress.gateway.wireguard-backend"), e.getMessage());
    var prefix = ConfigFactory.parseString("egress.gateway.netns-prefix = \"a b\"").withFallback(ConfigFactory.load());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> GatewaySettings.from(prefix)).getMessage().contains("netns-prefix"));
    var zero = ConfigFactory.parseString("egress.gateway.coalesce = 0s").withFallback(ConfigFactory.load());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> GatewaySettings.from(zero)).getMessage().contains("coalesce"));
  }
}
