package io.egressgateway.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.settings.CoreSettings;
import io.egressgateway.core.settings.CoreSettings.JournalSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** /ready follows cluster membership and the journal; /alive and the cluster routes answer. */
class ReadinessTest {
  private final ManagementHttp http = new ManagementHttp();

  @Test
  void readyOnlyWhenUpAndTheJournalAnswers() throws Exception {
    Path dataDir = Files.createTempDirectory("egress-readiness-");
    int pgPort = TestMembers.freePort();
    JournalSettings base = CoreSettings.fromConfig(ConfigFactory.load()).journal();
    JournalSettings fixed = new JournalSettings(JournalSettings.Mode.EMBEDDED, "", "127.0.0.1", 5432, "postgres", "postgres", "", "disable",
        pgPort, dataDir.toString(), true, Duration.ofSeconds(1));
    Journal journal = Journal.start(fixed);
    Journal restarted = null;
    try (TestMembers members = new TestMembers(journal)) {
      EgressMember m = members.start("solo", List.of(Roles.CONTROLLER, Roles.GATEWAY, Roles.WORKER), null);
      String url = m.managementUrl();

      assertEquals(200, http.status(url + "alive"));
      assertEquals(500, http.status(url + "ready"), "not ready before joining the cluster");

      m.join();
      http.awaitStatus(url + "ready", 200);
      String clusterMembers = http.body(url + "cluster/members");
      assertTrue(clusterMembers.contains("\"status\":\"Up\""), clusterMembers);
      assertTrue(clusterMembers.contains("node:solo") && clusterMembers.contains("controller") && clusterMembers.contains("worker"), clusterMembers);

      io.egressgateway.core.metrics.Metrics.get(m.system()).counter("egress_test_total", "test counter").inc();
      String metrics = http.body(url + "metrics");
      assertTrue(metrics.contains("egress_test_total 1"), metrics);
      // the JVM's own metrics and the cluster as this member sees it come with every member
      for (String jvm : List.of("jvm_memory_used_bytes{", "jvm_gc_collection_seconds_count{", "jvm_threads_current ",
          "jvm_classes_currently_loaded ", "process_cpu_seconds_total ")) {
        assertTrue(metrics.contains(jvm), jvm + " missing:\n" + metrics);
      }
      assertTrue(metrics.contains("egress_cluster_members{status=\"Up\"} 1"), metrics);
      assertTrue(metrics.contains("egress_cluster_unreachable_members 0"), metrics);

      journal.close();
      http.awaitStatus(url + "ready", 500);

      restarted = Journal.start(fixed);
      http.awaitStatus(url + "ready", 200);
    } finally {
      if (restarted != null) {
        restarted.close();
      }
      try (Stream<Path> s = Files.walk(dataDir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    assertTrue(base.embedded());
  }



}
