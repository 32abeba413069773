package io.egressgateway.core.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class CoreSettingsTest {

  private static Config with(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.load()).resolve();
  }

  @Test
  void rolesMayComeAsOneCommaSeparatedValue() {
    CoreSettings s = CoreSettings.fromConfig(with("egress { node-name = n1, roles = [\"gateway, worker\"] }"));
    assertEquals(java.util.Set.of("gateway", "worker"), s.roles());
    assertTrue(s.clusterRoles().contains("node:n1"));
  }

  @Test
  void unknownRoleIsRejectedWithTheKeyName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CoreSettings.fromConfig(with("egress { node-name = n1, roles = [gatewy] }")));
    assertTrue(e.getMessage().contains("egress.roles") && e.getMessage().contains("gatewy"), e.getMessage());
  }

  @Test
  void badDiscoveryAndJournalModesAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(with("egress { node-name = n1, discovery = dns }")));
    assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(with("egress { node-name = n1, journal.mode = sqlite }")));
    assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(with("egress { node-name = \"a/b\" }")));
  }

  @Test
  void externalJournalNeverPrintsItsPassword() {
    CoreSettings s = CoreSettings.fromConfig(with(
        "egress { node-name = n1, journal { mode = external, host = db.example, password = s3cret } }"));
    assertEquals("jdbc:postgresql://db.example:5432/postgres?sslmode=disable", s.journal().jdbcUrl());
    assertTrue(!s.journal().toString().contains("s3cret"));
    assertEquals(List.of(), s.seedNodes());
  }
}
