package io.egressgateway.kube.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class KubeBridgeSettingsTest {

  @Test
  void referenceConfLoadsWithSaneDefaults() {
    KubeBridgeSettings s = KubeBridgeSettings.fromConfig(ConfigFactory.load());
    assertEquals(Duration.ofSeconds(60), s.resync());
    assertEquals(2000, s.maxPeersPerGatewayStatus());
    assertTrue(!s.namespace().isBlank());
  }

  @Test
  void explicitNamespaceWins() {
    KubeBridgeSettings s = KubeBridgeSettings.fromConfig(
        ConfigFactory.parseString("egress.kube-bridge.namespace = egress").withFallback(ConfigFactory.load()));
    assertEquals("egress", s.namespace());
  }

  @Test
  void theKeySecretsHaveANamespaceOfTheirOwnNextToTheReleaseNamespaceUnlessOneIsGiven() {
    KubeBridgeSettings s = KubeBridgeSettings.fromConfig(
        ConfigFactory.parseString("egress.kube-bridge.namespace = egress").withFallback(ConfigFactory.load()));
    assertEquals("egress-keys", s.keyNamespace());
    assertTrue(s.separateKeyNamespace());
    assertEquals("other-keys", s.withNamespace("other").keyNamespace(), "a default key namespace follows the release namespace");
    KubeBridgeSettings given = KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
        "egress.kube-bridge { namespace = egress, key-namespace = wg-keys }").withFallback(ConfigFactory.load()));
    assertEquals("wg-keys", given.keyNamespace());
    assertEquals("wg-keys", given.withNamespace("other").keyNamespace());
    var e = assertThrows(IllegalArgumentException.class, () -> KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
        "egress.kube-bridge.key-namespace = \"Keys/../x\"").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("egress.kube-bridge.key-namespace"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
        "egress.kube-bridge.namespace = " + "n".repeat(60)).withFallback(ConfigFactory.load())), "the default would be too long");
  }

  @Test
  void badValuesAreRejectedWithTheKeyInTheMessage() {
    var e = assertThrows(IllegalArgumentException.class, () -> KubeBridgeSettings.fromConfig(
        ConfigFactory.parseString("egress.kube-bridge.resync = 0s").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("egress.kube-bridge.resync"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
        "egress.kube-bridge { retry-min = 10s, retry-max = 1s }").withFallback(ConfigFactory.load())));
    assertThrows(IllegalArgumentException.class, () -> KubeBridgeSettings.fromConfig(ConfigFactory.parseString(
        "egress.kube-bridge.max-peers-per-gateway-status = 0").withFallback(ConfigFactory.load())));
  }
}
