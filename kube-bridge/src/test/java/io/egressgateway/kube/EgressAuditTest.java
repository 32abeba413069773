package io.egressgateway.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.health.Watches;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.core.settings.CoreSettings.JournalSettings;
import io.egressgateway.kube.audit.AuditStore;
import io.egressgateway.kube.audit.EgressAudit;
import io.egressgateway.kube.crd.GatewayNodeProfile;
import io.egressgateway.kube.crd.PodEndpoint;
import io.egressgateway.kube.crd.PodEndpointSpec;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationStatus;
import io.egressgateway.kube.model.EgressHistory.PodUse;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The egress audit against the mock API server and a real PostgreSQL: pods and egresses that come and go are
 * answered for any time in between, two controllers record each change once, a controller that starts after a pod
 * went ends that pod's use, and retention deletes only what ended.
 */
@EnableKubernetesMockClient(crud = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EgressAuditTest {
  static KubernetesClient client;
  private Journal journal;

  @BeforeAll
  void start() throws Exception {
    for (String plural : List.of("staticgatewayconfigurations", "podendpoints")) {
      String yaml = Files.readString(CrdFilesTest.GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
      client.resource(client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class)).create();
    }
    journal = Journal.start(new JournalSettings(JournalSettings.Mode.EMBEDDED, "", "127.0.0.1", 5432, "postgres", "postgres",
        "", "disable", 0, "", true, Duration.ofSeconds(2)));
  }

  @AfterAll
  void stop() {
    MockApiQuiet.await(client);
    journal.close();
  }

  private AuditStore store() {
    JournalSettings j = journal.settings();
    return new AuditStore(new AuditStore.Target(j.jdbcUrl(), j.user(), j.password()));
  }

  private EgressAudit audit() {
    var settings = new EgressAudit.Settings(true, Duration.ofDays(30), Duration.ofHours(1), Duration.ofMinutes(5), 1000);
    return new EgressAudit(client, store(), settings, Watches.standalone(Metrics.standalone(), Clock.systemUTC()),
        Metrics.standalone(), Clock.systemUTC()).start();
  }

  @Test
  void answersWhoCouldUseAnAddressAndWhichEgressAPodUsedAcrossChanges() throws Exception {
    sgc("apps", "gw1", "20.1.2.0/31", "10.0.1.5", "10.0.1.6");
    sgc("other", "gw2", "20.9.9.0/31", "10.0.2.5", "10.0.2.6");
    Instant t0 = Instant.now();
    podEndpoint("apps", "p1", "gw1", "10.244.0.7/32");
    podEndpoint("apps", "p2", "gw1", "10.244.0.8/32");
    podEndpoint("other", "q1", "gw2", "10.244.1.9/32");

    try (EgressAudit a = audit(); EgressAudit b = audit()) { // two controllers, one history
      await(() -> names(a.whoCouldUse("20.1.2.1", Instant.now()).pods()).equals(Set.of("apps/p1", "apps/p2")),
          "both pods of gw1 are behind its prefix");
      var answer = a.whoCouldUse("20.1.2.1", Instant.now());
      assertEquals(Set.of("apps/gw1"), answer.egresses().stream().map(e -> e.configKey()).collect(Collectors.toSet()),
          "only gw1's prefix holds the address");
      assertEquals(Set.of("apps/p1", "apps/p2"), names(b.whoCouldUse("10.0.1.6", Instant.now()).pods()),
          "a gateway node's secondary IP answers like the prefix");
      assertEquals(Set.of(), names(a.whoCouldUse("20.1.2.7", Instant.now()).pods()), "outside every prefix: nobody");
      await(() -> b.hasSynced() && b.pending() == 0 && a.pending() == 0, "both controllers wrote what they saw");
      assertEquals(1, openUses("apps", "p1"), "two controllers record one use, not two");

      Instant bothRunning = Instant.now();
      client.resources(PodEndpoint.class).inNamespace("apps").withName("p1").delete();
      await(() -> names(a.whoCouldUse("20.1.2.1", Instant.now()).pods()).equals(Set.of("apps/p2")), "p1's use ended");
      assertEquals(Set.of("apps/p1", "apps/p2"), names(a.whoCouldUse("20.1.2.1", bothRunning).pods()),
          "asked about a time when p1 still ran, p1 is named");

      Instant beforeRenumber = Instant.now();
      sgc("apps", "gw1", "20.1.3.0/31", "10.0.1.5", "10.0.1.7"); // a new prefix and a replaced gateway node
      await(() -> names(a.whoCouldUse("20.1.3.0", Instant.now()).pods()).equals(Set.of("apps/p2")), "the new prefix");
      assertEquals(Set.of(), names(a.whoCouldUse("20.1.2.1", Instant.now()).pods()), "the old prefix is no one's now");
      assertEquals(Set.of("apps/p2"), names(a.whoCouldUse("20.1.2.1", beforeRenumber).pods()), "but was p2's before");

      List<EgressAudit.Usage> p2 = a.egressOfPod("apps", "p2", t0, Instant.now());
      assertEquals(List.of("20.1.2.0/31", "20.1.3.0/31"),
          p2.stream().map(u -> u.egress().prefix()).distinct().toList(), "p2's prefixes in time order");
      assertTrue(p2.stream().allMatch(u -> "10.244.0.8".equals(u.use().podIp())));
      assertEquals(Set.of("10.0.1.5", "10.0.1.6", "10.0.1.7"),
          p2.stream().map(u -> u.egress().secondaryIp()).collect(Collectors.toCollection(TreeSet::new)));
    }

    // no controller runs while q1 goes; the next one to start ends q1's use
    Instant whileDown = Instant.now();
    client.resources(PodEndpoint.class).inNamespace("other").withName("q1").delete();
    try (EgressAudit c = audit()) {
      await(() -> names(c.whoCouldUse("20.9.9.1", Instant.now()).pods()).isEmpty(), "q1's use ended at the next start");
      PodUse q1 = c.whoCouldUse("20.9.9.1", whileDown).pods().get(0);
      assertEquals("other/q1", q1.namespace() + "/" + q1.pod());
      assertTrue(q1.to() != null && !q1.to().isBefore(whileDown), "ended no earlier than it could have");

      try (AuditStore s = store()) {
        int deleted = s.prune(Instant.now().plusSeconds(1));
        assertTrue(deleted >= 2, "ended rows go (p1, q1 and the old egresses): " + deleted);
      }
      assertEquals(Set.of(), names(c.whoCouldUse("20.9.9.1", whileDown).pods()), "pruned history is gone");
      assertEquals(Set.of("apps/p2"), names(c.whoCouldUse("20.1.3.0", Instant.now()).pods()), "what lasts stays");
      assertNull(c.whoCouldUse("20.1.3.0", Instant.now()).pods().get(0).to());
    }
  }

  /** Rows of the pod's open uses, counted in the table itself (two equal rows would be one record). */
  private int openUses(String ns, String pod) {
    JournalSettings j = journal.settings();
    try (var c = java.sql.DriverManager.getConnection(j.jdbcUrl(), j.user(), j.password());
        var st = c.prepareStatement("SELECT count(*) FROM egress_audit_pod_use WHERE namespace = ? AND pod = ? AND to_ts IS NULL")) {
      st.setString(1, ns);
      st.setString(2, pod);
      try (var rs = st.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
  }

  private static Set<String> names(List<PodUse> uses) {
    return uses.stream().map(u -> u.namespace() + "/" + u.pod()).collect(Collectors.toSet());
  }

  private void sgc(String ns, String name, String prefix, String... secondaryIps) {
    var existing = client.resources(StaticGatewayConfiguration.class).inNamespace(ns).withName(name).get();
    StaticGatewayConfiguration sgc = existing != null ? existing : new StaticGatewayConfiguration();
    if (existing == null) {
      sgc.getMetadata().setNamespace(ns);
      sgc.getMetadata().setName(name);
      sgc = client.resource(sgc).create();
    }
    StaticGatewayConfigurationStatus status = new StaticGatewayConfigurationStatus();
    status.setEgressIpPrefix(prefix);
    List<GatewayNodeProfile> nodes = new java.util.ArrayList<>();
    for (int i = 0; i < secondaryIps.length; i++) {
      nodes.add(new GatewayNodeProfile("gw-" + secondaryIps[i].substring(secondaryIps[i].lastIndexOf('.') + 1), "10.0.0." + (4 + i),
          secondaryIps[i]));
    }
    status.setGatewayProfiles(nodes);
    sgc.setStatus(status);
    client.resource(sgc).updateStatus();
  }

  private void podEndpoint(String ns, String pod, String config, String ip) {
    PodEndpoint pe = new PodEndpoint();
    pe.getMetadata().setNamespace(ns);
    pe.getMetadata().setName(pod);
    pe.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion("v1").withKind("Pod")
        .withName(pod).withUid("uid-" + pod).withController(true).build()));
    pe.setSpec(new PodEndpointSpec(config, ip, "key-" + pod));
    client.resource(pe).create();
  }

  private static void await(ThrowingCondition c, String what) {
    ControllerTest.await(() -> {
      try {
        return c.holds();
      } catch (SQLException e) {
        return false;
      }
    }, what);
  }

  private interface ThrowingCondition {
    boolean holds() throws SQLException;
  }
}
