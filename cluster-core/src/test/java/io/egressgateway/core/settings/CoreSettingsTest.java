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
    assertTrue(!s.toString().contains("s3cret"), "nor do the settings holding it");
    assertEquals(List.of(), s.seedNodes());
  }

  @Test
  void aJournalUrlNeverPrintsItsCredentials() {
    for (String url : List.of("r2dbc:postgresql://egress:s3cret@db.example:5432/egress",
        "jdbc:postgresql://db.example/egress?user=egress&password=s3cret&sslmode=verify-full",
        "jdbc:postgresql://db.example/egress?sslmode=verify-full&sslpassword=s3cret",
        "jdbc:postgresql://db.example/egress?PASSWORD=s3cret")) {
      CoreSettings s = CoreSettings.fromConfig(with(
          "egress { node-name = n1, journal { mode = external, url = \"" + url + "\" } }"));
      assertTrue(!s.journal().toString().contains("s3cret") && !s.toString().contains("s3cret"), s.journal().toString());
    }
  }

  @Test
  void nodeLocalJournalNeedsAnAbsoluteDurableDirectory() {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> CoreSettings.fromConfig(with("egress { node-name = n1, journal.mode = node-local }")));
    assertTrue(missing.getMessage().contains("EGRESS_JOURNAL_DATA_DIR"), missing.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(
        with("egress { node-name = n1, journal { mode = node-local, embedded.data-dir = \"journal\" } }")));
    CoreSettings s = CoreSettings.fromConfig(
        with("egress { node-name = n1, journal { mode = \"Node-Local\", embedded.data-dir = \"/var/lib/kube-egress-gateway/journal\" } }"));
    assertEquals(CoreSettings.JournalSettings.Mode.NODE_LOCAL, s.journal().mode());
    assertTrue(s.journal().embedded() && s.journal().durable());
    assertTrue(s.journal().toString().startsWith("node-local PostgreSQL"), s.journal().toString());
    CoreSettings temp = CoreSettings.fromConfig(with("egress { node-name = n1 }"));
    assertTrue(temp.journal().embedded() && !temp.journal().durable(), "local runs and tests: a temporary directory");
  }

  @Test
  void verifyFullChecksTheServerWithTheGivenCaOrTheJvmsTrustedCas() {
    CoreSettings withCa = CoreSettings.fromConfig(with("egress { node-name = n1, journal { mode = external, host = db.example, create-schema = false,"
        + " ssl-mode = verify-full, ssl-root-cert = \"/etc/egress/journal-ca/ca.crt\" } }"));
    assertEquals("jdbc:postgresql://db.example:5432/postgres?sslmode=verify-full&sslrootcert=%2Fetc%2Fegress%2Fjournal-ca%2Fca.crt",
        withCa.journal().jdbcUrl());
    Config r2dbc = io.egressgateway.core.journal.Journal.start(withCa.journal()).akkaConfig();
    assertEquals("verify-full", r2dbc.getString("akka.persistence.r2dbc.connection-factory.ssl.mode"));
    assertEquals("/etc/egress/journal-ca/ca.crt", r2dbc.getString("akka.persistence.r2dbc.connection-factory.ssl.root-cert"));
    assertTrue(r2dbc.getBoolean("akka.persistence.r2dbc.connection-factory.ssl.enabled"));

    CoreSettings jvmCas = CoreSettings.fromConfig(with("egress { node-name = n1, journal { mode = external, host = db.example, create-schema = false,"
        + " ssl-mode = verify-full } }"));
    assertEquals("jdbc:postgresql://db.example:5432/postgres?sslmode=verify-full&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory",
        jvmCas.journal().jdbcUrl());
    assertTrue(!io.egressgateway.core.journal.Journal.start(jvmCas.journal()).akkaConfig()
        .hasPath("akka.persistence.r2dbc.connection-factory.ssl.root-cert"));

    IllegalArgumentException notVerifying = assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(with(
        "egress { node-name = n1, journal { mode = external, host = db.example, ssl-mode = require, ssl-root-cert = /ca.crt } }")));
    assertTrue(notVerifying.getMessage().contains("verify-ca or verify-full"), notVerifying.getMessage());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> CoreSettings.fromConfig(with(
        "egress { node-name = n1, journal { mode = external, host = db.example, ssl-mode = verify_full } }")));
    assertTrue(unknown.getMessage().contains("verify_full"), unknown.getMessage());
  }
}
