package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.settings.ConfigLists;
import io.egressgateway.core.settings.CoreSettings;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MemberConfigTest {

  @Test
  void chartEnvironmentMapsOntoSettings() {
    Config c = MemberConfig.load(Map.ofEntries(
        Map.entry("EGRESS_NODE_NAME", "aks-gw-0"),
        Map.entry("EGRESS_ROLES", "gateway"),
        Map.entry("EGRESS_DISCOVERY", "kubernetes"),
        Map.entry("EGRESS_REMOTE_HOST", "10.244.0.7"),
        Map.entry("EGRESS_MANAGEMENT_HOST", "10.244.0.7"),
        Map.entry("EGRESS_MANAGEMENT_PORT", "8600"),
        Map.entry("EGRESS_JOURNAL_MODE", "external"),
        Map.entry("EGRESS_DB_HOST", "pg.kube-egress"),
        Map.entry("EGRESS_DB_PASSWORD", "pw"),
        Map.entry("EGRESS_REMOTE_TLS", "true"),
        Map.entry("EGRESS_REMOTE_TLS_DIR", "/tls"),
        Map.entry("EGRESS_NAMESPACE", "kube-egress"),
        Map.entry("EGRESS_PREFIX_GRANTS", "true"),
        Map.entry("EGRESS_CNI_SOCKET", "/run/x/cni.sock"),
        Map.entry("EGRESS_PROBE_PORT", "9082")), ConfigFactory.empty());
    CoreSettings s = CoreSettings.fromConfig(c);
    assertEquals("aks-gw-0", s.nodeName());
    assertEquals(java.util.Set.of("gateway"), s.roles());
    assertEquals(CoreSettings.Discovery.KUBERNETES, s.discovery());
    assertFalse(s.journal().embedded());
    assertEquals("jdbc:postgresql://pg.kube-egress:5432/postgres?sslmode=disable", s.journal().jdbcUrl());
    assertEquals("10.244.0.7", c.getString("akka.remote.artery.canonical.hostname"));
    // management listens on the pod address only (bootstrap and the kubelet use it), never on 0.0.0.0
    assertEquals("10.244.0.7", c.getString("akka.management.http.bind-hostname"));
    assertEquals(8600, c.getInt("akka.management.http.port"));
    assertEquals("tls-tcp", c.getString("akka.remote.artery.transport"));
    assertEquals("/tls/tls.key", c.getString("akka.remote.artery.ssl.rotating-keys-engine.key-file"));
    // the same key signs what the member sends, and enforcement is on unless turned off explicitly
    assertEquals("/tls/tls.key", c.getString("egress.security.key-file"));
    assertEquals("/tls/ca.crt", c.getString("egress.security.ca-file"));
    assertTrue(c.getBoolean("egress.security.enforce"));
    Config off = MemberConfig.load(Map.of("EGRESS_REMOTE_TLS", "true", "EGRESS_REMOTE_TLS_DIR", "/tls",
        "EGRESS_SECURITY_ENFORCE", "false"), ConfigFactory.empty());
    assertFalse(off.getBoolean("egress.security.enforce"), "the chart's cluster.tls.enforceRoles=false");
    assertEquals("kube-egress", c.getString("egress.kube-bridge.namespace"));
    assertTrue(c.getBoolean("egress.kube-bridge.prefix-grants.enforce"));
    assertEquals("/run/x/cni.sock", c.getString("egress.pod.socket-path"));
    assertEquals(9082, c.getInt("egress.gateway.probe.port"));
    assertTrue(c.getBoolean("egress.app.kubernetes-api"));
    assertEquals("kubernetes-api", c.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    assertEquals("app.kubernetes.io/part-of=kube-egress-gateway", c.getString("akka.discovery.kubernetes-api.pod-label-selector"));
  }

  @Test
  void nodeMembersJournalOnTheirNodeAndTakeTheExceptionCidrsFromTheChart() {
    Config c = MemberConfig.load(Map.of(
        "EGRESS_ROLES", "worker",
        "EGRESS_JOURNAL_MODE", "node-local",
        "EGRESS_JOURNAL_DATA_DIR", "/var/lib/kube-egress-gateway/journal",
        "EGRESS_POD_EXCEPTION_CIDRS", "169.254.169.254/32, 10.0.0.0/8"), ConfigFactory.empty());
    CoreSettings s = CoreSettings.fromConfig(c);
    assertEquals(CoreSettings.JournalSettings.Mode.NODE_LOCAL, s.journal().mode());
    assertEquals("/var/lib/kube-egress-gateway/journal", s.journal().embeddedDataDir());
    assertEquals(List.of("169.254.169.254/32", "10.0.0.0/8"),
        io.egressgateway.pod.infra.PodSettings.from(c).exceptionCidrs().stream().map(Object::toString).toList());
    Config none = MemberConfig.load(Map.of("EGRESS_POD_EXCEPTION_CIDRS", ""), ConfigFactory.empty());
    assertEquals(List.of(), io.egressgateway.pod.infra.PodSettings.from(none).exceptionCidrs(), "set and empty: no exceptions");
    Config unset = MemberConfig.load(Map.of(), ConfigFactory.empty());
    assertEquals(List.of("169.254.169.254/32", "169.254.10.11/32"), unset.getStringList("egress.pod.exception-cidrs"));
  }

  @Test
  void emptyVariablesChangeNothing() {
    Config c = MemberConfig.load(Map.of("EGRESS_ROLES", " ", "EGRESS_DB_HOST", ""), ConfigFactory.empty());
    assertEquals(List.of("controller", "gateway", "worker"), c.getStringList("egress.roles"));
    assertEquals("embedded", c.getString("egress.journal.mode"));
    assertEquals("tcp", c.getString("akka.remote.artery.transport"));
  }

  /** Every documented variable (README, "Configuration") lands on its key; values are trimmed. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      NODE_NAME                          | egress.node-name                                 | node-a
      EGRESS_NODE_NAME                   | egress.node-name                                 | node-b
      EGRESS_DISCOVERY                   | egress.discovery                                 | kubernetes
      EGRESS_REMOTE_HOST                 | akka.remote.artery.canonical.hostname            | 10.0.0.9
      EGRESS_REMOTE_PORT                 | akka.remote.artery.canonical.port                | 25600
      EGRESS_MANAGEMENT_HOST             | akka.management.http.hostname                    | 10.0.0.10
      EGRESS_MANAGEMENT_PORT             | akka.management.http.port                        | 8600
      EGRESS_K8S_SERVICE_NAME            | egress.kubernetes.service-name                   | svc
      EGRESS_K8S_SERVICE_NAME            | akka.management.cluster.bootstrap.contact-point-discovery.service-name | svc
      EGRESS_K8S_POD_LABEL_SELECTOR      | egress.kubernetes.pod-label-selector             | app=x
      EGRESS_K8S_REQUIRED_CONTACT_POINTS | egress.kubernetes.required-contact-points        | 3
      EGRESS_NAMESPACE                   | egress.kube-bridge.namespace                     | kube-egress
      EGRESS_PREFIX_GRANTS               | egress.kube-bridge.prefix-grants.enforce         | true
      EGRESS_AUDIT_ENABLED               | egress.kube-bridge.audit.enabled                 | false
      EGRESS_AUDIT_RETENTION             | egress.kube-bridge.audit.retention               | 7d
      EGRESS_KUBERNETES_API              | egress.app.kubernetes-api                        | false
      EGRESS_POD_FIELD_SELECTOR          | egress.app.pod-field-selector                    | false
      EGRESS_JOURNAL_MODE                | egress.journal.mode                              | external
      EGRESS_DB_URL                      | egress.journal.url                               | r2dbc:postgresql://db:5432/egress
      EGRESS_DB_HOST                     | egress.journal.host                              | db
      EGRESS_DB_PORT                     | egress.journal.port                              | 5433
      EGRESS_DB_NAME                     | egress.journal.database                          | egress
      EGRESS_DB_USER                     | egress.journal.user                              | egress
      EGRESS_DB_PASSWORD                 | egress.journal.password                          | secret
      EGRESS_DB_SSLMODE                  | egress.journal.ssl-mode                          | require
      EGRESS_DB_SSLROOTCERT              | egress.journal.ssl-root-cert                     | /etc/egress/journal-ca/ca.crt
      EGRESS_CNI_TAINT_KEY               | egress.kube-bridge.cni-taint.key                 | example.com/not-ready
      EGRESS_WORKER_POD_SELECTOR         | egress.kube-bridge.cni-taint.worker-pod-selector | app=worker
      EGRESS_JOURNAL_DATA_DIR            | egress.journal.embedded.data-dir                 | /var/lib/j
      EGRESS_AZURE_CONFIG                | egress.app.azure.cloud-config-file               | /etc/azure.json
      AZURE_ENVIRONMENT_FILEPATH         | egress.app.azure.environment-file                | /etc/azure-env.json
      EGRESS_AZURE_CA_BUNDLE             | egress.app.azure.ca-bundle-file                  | /etc/ca.pem
      EGRESS_AZURE_CLIENT_CERT           | egress.azure.client-certificate-file             | /etc/client.pem
      EGRESS_CNI_SOCKET                  | egress.pod.socket-path                           | /run/x/cni.sock
      EGRESS_PROBE_PORT                  | egress.gateway.probe.port                        | 9082
      EGRESS_GATEWAY_NETNS_PREFIX        | egress.gateway.netns-prefix                      | gw-
      EGRESS_GATEWAY_METRICS_INTERVAL    | egress.gateway.metrics-interval                  | 30s
      EGRESS_ROLES                       | egress.roles                                     | gateway
      EGRESS_SEED_NODES                  | egress.seed-nodes                                | akka://egress@10.0.0.1:25520
      EGRESS_POD_EXCEPTION_CIDRS         | egress.pod.exception-cidrs                       | 10.0.0.0/8
      """)
  void eachVariableSetsItsKey(String variable, String path, String value) {
    Config c = MemberConfig.load(Map.of(variable, " " + value + " "), ConfigFactory.empty());
    assertEquals(value, String.join(",", ConfigLists.strings(c, path)));
  }

  @Test
  void theNodeVariableOfTheEgressFamilyWins() {
    Config c = MemberConfig.load(Map.of("NODE_NAME", "a", "EGRESS_NODE_NAME", "b"), ConfigFactory.empty());
    assertEquals("b", c.getString("egress.node-name"));
  }

  @Test
  void listsTakeCommaSeparatedValues() {
    CoreSettings s = CoreSettings.fromConfig(MemberConfig.load(Map.of(
        "EGRESS_ROLES", "gateway, worker",
        "EGRESS_SEED_NODES", "akka://egress@10.0.0.1:25520,akka://egress@10.0.0.2:25520"), ConfigFactory.empty()));
    assertEquals(java.util.Set.of("gateway", "worker"), s.roles());
    assertEquals(List.of("akka://egress@10.0.0.1:25520", "akka://egress@10.0.0.2:25520"), s.seedNodes());
  }

  @Test
  void withoutTheVariablesTheDocumentedDefaultsHold() {
    Config c = MemberConfig.load(Map.of(), ConfigFactory.empty());
    CoreSettings s = CoreSettings.fromConfig(c);
    assertEquals(java.util.Set.of("controller", "gateway", "worker"), s.roles());
    assertEquals(CoreSettings.Discovery.STATIC, s.discovery());
    assertEquals(List.of(), s.seedNodes());
    assertEquals("127.0.0.1", c.getString("akka.remote.artery.canonical.hostname"));
    assertEquals(25520, c.getInt("akka.remote.artery.canonical.port"));
    assertEquals("127.0.0.1", c.getString("akka.management.http.hostname"));
    assertEquals(8558, c.getInt("akka.management.http.port"));
    assertEquals("kube-egress-gateway", c.getString("egress.kubernetes.service-name"));
    assertEquals("app.kubernetes.io/part-of=kube-egress-gateway", c.getString("egress.kubernetes.pod-label-selector"));
    assertEquals("embedded", c.getString("egress.journal.mode"));
    assertEquals("/var/run/kube-egress-gateway/cni.sock", c.getString("egress.pod.socket-path"));
    assertEquals(8082, c.getInt("egress.gateway.probe.port"));
    assertEquals("tcp", c.getString("akka.remote.artery.transport"));
    assertNotEquals("0.0.0.0", c.getString("akka.management.http.bind-hostname"), "only bootstrap needs every interface");
  }

  @Test
  void plaintextRemotingOutsideLoopbackIsCalledInsecure() {
    Config insecure = MemberConfig.load(Map.of("EGRESS_DISCOVERY", "kubernetes", "EGRESS_REMOTE_TLS", "false",
        "EGRESS_REMOTE_HOST", "10.244.0.7", "EGRESS_NODE_NAME", "n1"), ConfigFactory.empty());
    String warning = MemberConfig.insecureRemotingWarning(insecure).orElseThrow();
    assertTrue(warning.startsWith("INSECURE: cluster remoting TLS is OFF") && warning.contains("25520 on 10.244.0.7"), warning);
    Config staticSeeds = MemberConfig.load(Map.of("EGRESS_REMOTE_HOST", "10.0.0.5"), ConfigFactory.empty());
    assertTrue(MemberConfig.insecureRemotingWarning(staticSeeds).isPresent(), "a routable address without TLS");
    Config tls = MemberConfig.load(Map.of("EGRESS_DISCOVERY", "kubernetes", "EGRESS_REMOTE_TLS", "true",
        "EGRESS_REMOTE_TLS_DIR", "/tls", "EGRESS_REMOTE_HOST", "10.244.0.7"), ConfigFactory.empty());
    assertTrue(MemberConfig.insecureRemotingWarning(tls).isEmpty());
    assertTrue(MemberConfig.insecureRemotingWarning(MemberConfig.load(Map.of(), ConfigFactory.empty())).isEmpty(),
        "egress local on loopback");
  }
}
