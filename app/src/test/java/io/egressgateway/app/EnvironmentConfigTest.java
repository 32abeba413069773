package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.settings.CoreSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvironmentConfigTest {

  @Test
  void chartEnvironmentMapsOntoSettings() {
    Config c = EnvironmentConfig.load(Map.ofEntries(
        Map.entry("EGRESS_NODE_NAME", "aks-gw-0"),
        Map.entry("EGRESS_ROLES", "gateway"),
        Map.entry("EGRESS_DISCOVERY", "kubernetes"),
        Map.entry("EGRESS_REMOTE_HOST", "10.244.0.7"),
        Map.entry("EGRESS_MANAGEMENT_PORT", "8600"),
        Map.entry("EGRESS_JOURNAL_MODE", "external"),
        Map.entry("EGRESS_DB_HOST", "pg.kube-egress"),
        Map.entry("EGRESS_DB_PASSWORD", "pw"),
        Map.entry("EGRESS_REMOTE_TLS", "true"),
        Map.entry("EGRESS_REMOTE_TLS_DIR", "/tls"),
        Map.entry("EGRESS_NAMESPACE", "kube-egress"),
        Map.entry("EGRESS_CNI_SOCKET", "/run/x/cni.sock"),
        Map.entry("EGRESS_PROBE_PORT", "9082")), ConfigFactory.empty());
    CoreSettings s = CoreSettings.fromConfig(c);
    assertEquals("aks-gw-0", s.nodeName());
    assertEquals(java.util.Set.of("gateway"), s.roles());
    assertEquals(CoreSettings.Discovery.KUBERNETES, s.discovery());
    assertFalse(s.journal().embedded());
    assertEquals("jdbc:postgresql://pg.kube-egress:5432/postgres?sslmode=disable", s.journal().jdbcUrl());
    assertEquals("10.244.0.7", c.getString("akka.remote.artery.canonical.hostname"));
    assertEquals("0.0.0.0", c.getString("akka.management.http.bind-hostname"));
    assertEquals(8600, c.getInt("akka.management.http.port"));
    assertEquals("tls-tcp", c.getString("akka.remote.artery.transport"));
    assertEquals("/tls/tls.key", c.getString("akka.remote.artery.ssl.rotating-keys-engine.key-file"));
    // the same key signs what the member sends, and enforcement is on unless turned off explicitly
    assertEquals("/tls/tls.key", c.getString("egress.security.key-file"));
    assertEquals("/tls/ca.crt", c.getString("egress.security.ca-file"));
    assertTrue(c.getBoolean("egress.security.enforce"));
    assertEquals("kube-egress", c.getString("egress.kube-bridge.namespace"));
    assertEquals("/run/x/cni.sock", c.getString("egress.pod.socket-path"));
    assertEquals(9082, c.getInt("egress.gateway.probe.port"));
    assertTrue(c.getBoolean("egress.app.kubernetes-api"));
    assertEquals("kubernetes-api", c.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    assertEquals("app.kubernetes.io/part-of=kube-egress-gateway", c.getString("akka.discovery.kubernetes-api.pod-label-selector"));
  }

  @Test
  void nodeMembersJournalOnTheirNodeAndTakeTheExceptionCidrsFromTheChart() {
    Config c = EnvironmentConfig.load(Map.of(
        "EGRESS_ROLES", "worker",
        "EGRESS_JOURNAL_MODE", "node-local",
        "EGRESS_JOURNAL_DATA_DIR", "/var/lib/kube-egress-gateway/journal",
        "EGRESS_POD_EXCEPTION_CIDRS", "169.254.169.254/32, 10.0.0.0/8"), ConfigFactory.empty());
    CoreSettings s = CoreSettings.fromConfig(c);
    assertEquals(CoreSettings.JournalSettings.Mode.NODE_LOCAL, s.journal().mode());
    assertEquals("/var/lib/kube-egress-gateway/journal", s.journal().embeddedDataDir());
    assertEquals(List.of("169.254.169.254/32", "10.0.0.0/8"),
        io.egressgateway.pod.infra.PodSettings.from(c).exceptionCidrs().stream().map(Object::toString).toList());
    Config none = EnvironmentConfig.load(Map.of("EGRESS_POD_EXCEPTION_CIDRS", ""), ConfigFactory.empty());
    assertEquals(List.of(), none.getStringList("egress.pod.exception-cidrs"), "set and empty: no exceptions");
    Config unset = EnvironmentConfig.load(Map.of(), ConfigFactory.empty());
    assertEquals(List.of("169.254.169.254/32", "169.254.10.11/32"), unset.getStringList("egress.pod.exception-cidrs"));
  }

  @Test
  void emptyVariablesChangeNothing() {
    Config c = EnvironmentConfig.load(Map.of("EGRESS_ROLES", " ", "EGRESS_DB_HOST", ""), ConfigFactory.empty());
    assertEquals(List.of("controller", "gateway", "worker"), c.getStringList("egress.roles"));
    assertEquals("embedded", c.getString("egress.journal.mode"));
    assertEquals("tcp", c.getString("akka.remote.artery.transport"));
  }

  @Test
  void localRunsEveryRoleOnTheEmbeddedJournalOnLoopback() {
    CoreSettings s = CoreSettings.fromConfig(Main.localConfig(List.of("--node", "dev")));
    assertEquals("dev", s.nodeName());
    assertEquals(java.util.Set.of("controller", "gateway", "worker"), s.roles());
    assertTrue(s.journal().embedded());
    Config c = Main.localConfig(List.of());
    assertEquals("127.0.0.1", c.getString("akka.management.http.hostname"));
    assertEquals(8558, c.getInt("akka.management.http.port"));
    assertFalse(c.getBoolean("egress.app.kubernetes-api"), "egress local has no Kubernetes API");
  }

  @Test
  void helpAndUnknownCommands() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, Main.run(new String[] {"--help"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(out.toString().contains("local") && out.toString().contains("run"));
    assertEquals(2, Main.run(new String[] {"bogus"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("unknown command 'bogus'"));
    assertEquals(2, Main.run(new String[] {"local", "--nope"}, new PrintStream(out), new PrintStream(err)));
    assertTrue(err.toString().contains("unknown option '--nope'"));
  }
}
