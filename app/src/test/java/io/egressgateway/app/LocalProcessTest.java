package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.testing.Eventually;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code egress local} as a real process: ready within 60 s with one Up member carrying all three roles,
 * its /metrics showing the JVM and the cluster, and after SIGTERM both the process and its embedded
 * PostgreSQL are gone.
 */
class LocalProcessTest {
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void localMemberBecomesReadyAndLeavesNothingBehindOnSigterm() throws Exception {
    int mgmt = freePort();
    Path log = Files.createTempFile("egress-local-", ".log");
    ProcessBuilder pb = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp", System.getProperty("java.class.path"),
            "io.egressgateway.app.Main", "local",
            "--node", "proc-test", "--management-port", Integer.toString(mgmt), "--remote-port", "0")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    // egress local ignores the environment egress run reads: these would take two roles away
    pb.environment().put("EGRESS_ROLES", "gateway");
    pb.environment().put("EGRESS_DISCOVERY", "kubernetes");
    Process p = pb.start();
    Optional<ProcessHandle> postgres = Optional.empty();
    try {
      String base = "http://127.0.0.1:" + mgmt + "/";
      try {
        Eventually.await(Duration.ofSeconds(60), Duration.ofMillis(250), () -> {
          assertTrue(p.isAlive(), () -> "egress local exited early:\n" + read(log));
          return status(base + "ready");
        }, s -> s == 200, "egress local ready");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; its log:\n" + read(log), e);
      }
      String members = body(base + "cluster/members");
      assertEquals(1, members.split("\"status\":\"Up\"", -1).length - 1, members);
      assertTrue(members.contains("\"controller\"") && members.contains("\"gateway\"") && members.contains("\"worker\""), members);
      assertTrue(read(log).contains("management HTTP listens on " + base), read(log));
      String metrics = body(base + "metrics");
      for (String name : List.of("jvm_memory_used_bytes{", "jvm_threads_current ", "process_cpu_seconds_total ",
          "egress_cluster_members{status=\"Up\"} 1")) {
        assertTrue(metrics.contains(name), () -> name + " missing from /metrics:\n" + metrics);
      }

      Matcher m = Pattern.compile("data in (\\S+)\\)").matcher(read(log));
      assertTrue(m.find(), () -> "journal data directory not logged:\n" + read(log));
      String dataDir = m.group(1);
      postgres = ProcessHandle.allProcesses()
          .filter(h -> h.info().commandLine().map(c -> c.contains("postgres") && c.contains(dataDir)).orElse(false))
          .findFirst();
      assertTrue(postgres.isPresent(), "the embedded PostgreSQL runs while the member runs");

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), () -> "no exit within 60 s after SIGTERM:\n" + read(log));
      ProcessHandle pg = postgres.get();
      assertTrue(pg.onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join() != null,
          () -> "PostgreSQL outlived the member:\n" + read(log));
      assertFalse(Files.exists(Path.of(dataDir)), "the temporary journal directory is removed");
    } finally {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
      postgres.filter(ProcessHandle::isAlive).ifPresent(ProcessHandle::destroyForcibly);
      Files.deleteIfExists(log);
    }
  }

  private int status(String url) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private String body(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

}
