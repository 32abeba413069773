package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The sandbox's command line: defaults, every option, help without root, clear errors for bad options. */
class SandboxCommandTest {

  @Test
  void defaults() {
    Sandbox.Settings s = Sandbox.Settings.parse(List.of());
    assertEquals(2, s.workers());
    assertEquals(2, s.gateways());
    assertEquals(false, s.once());
    assertEquals(false, s.e2e());
    assertEquals(false, s.clean());
    assertEquals(0, s.benchPods());
    assertEquals(20, s.benchBatch());
    assertEquals(1, s.failoverRuns());
    assertEquals(List.of("nic"), s.failoverKinds(), "the gateway VM's NIC, as every earlier run measured");
    assertEquals(0, s.probeIntervalMs(), "the ILB stand-in probes as the load balancer's probe says (Azure's 5 s)");
    assertEquals(SandboxImage.defaultTag(), s.imageTag());
    assertEquals(Path.of("/run/egress-sandbox"), s.stateDir());
    assertEquals(List.of(), s.apply());
    assertEquals(null, s.report());
  }

  @Test
  void everyOption() {
    Sandbox.Settings s = Sandbox.Settings.parse(List.of("--workers", "3", "--gateways", "1", "--once", "--e2e",
        "--report", "/tmp/r.json", "--apply", "a.yaml", "--apply=b.yaml", "--bench-pods", "40", "--bench-batch", "10",
        "--image-tag", "wt-x", "--clean", "--probe-interval-ms", "1000"));
    assertEquals(3, s.workers());
    assertEquals(1, s.gateways());
    assertTrue(s.once() && s.e2e() && s.clean());
    assertEquals(Path.of("/tmp/r.json"), s.report());
    assertEquals(List.of(Path.of("a.yaml"), Path.of("b.yaml")), s.apply());
    assertEquals(40, s.benchPods());
    assertEquals(10, s.benchBatch());
    assertEquals(5, s.failoverRuns(), "a benchmark measures five failovers unless told otherwise");
    assertEquals("wt-x", s.imageTag());
    assertEquals(1000, s.probeIntervalMs());
    assertEquals(0, Sandbox.Settings.parse(List.of("--probe-interval-ms", "0")).probeIntervalMs(), "0: as the load balancer's probe says");
    assertEquals(500, Sandbox.Settings.parse(List.of("--probe-interval-ms", "500")).probeIntervalMs(), "faster only when asked for");
    assertEquals(0, Sandbox.Settings.parse(List.of("--bench-pods", "40", "--failover-runs", "0")).failoverRuns());
    assertEquals(List.of("nic", "member", "node"),
        Sandbox.Settings.parse(List.of("--failover-kinds", "nic,member", "--failover-kinds", "node,nic")).failoverKinds());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--workers 9        | --workers must be between 1 and 8, got 9",
      "--gateways 0       | --gateways must be between 1 and 4, got 0",
      "--bench-pods 1001  | --bench-pods must be between 1 and 1000, got 1001",
      "--bench-batch 0    | --bench-batch must be between 1 and 100, got 0",
      "--failover-runs 51 | --failover-runs must be between 0 and 50, got 51",
      "--probe-interval-ms 99 | --probe-interval-ms must be between 100 and 60000, got 99",
      "--failover-kinds nic,vm | --failover-kinds: unknown failover kind 'vm' (nic, member, node)",
      "--workers x        | Invalid value for option '--workers': 'x' is not an int",
      "--report           | Missing required parameter for option '--report' (FILE)",
      "--frobnicate       | Unknown option: '--frobnicate'",
  })
  void badOptionsFailWithAClearMessage(String args, String message) {
    var e = assertThrows(IllegalArgumentException.class, () -> Sandbox.Settings.parse(List.of(args.split(" "))));
    assertEquals(message, e.getMessage());
  }

  @Test
  void helpNeedsNoRootAndStartsNothing() {
    Output o = run("--help");
    assertEquals(0, o.exit());
    for (String option : List.of("--once", "--e2e", "--report", "--apply", "--clean", "--bench-pods", "--bench-batch",
        "--failover-runs", "--probe-interval-ms", "--image-tag", "--workers", "--gateways")) {
      assertTrue(o.out().contains(option), option + " in the help:\n" + o.out());
    }
    assertTrue(o.out().startsWith("Usage: egress sandbox"), o.out());
    assertEquals("", o.err());
  }

  @Test
  void aBadOptionExitsWithTwoAndSaysWhy() {
    Output o = run("--bench-pods", "abc");
    assertEquals(2, o.exit());
    assertTrue(o.err().startsWith("Invalid value for option '--bench-pods': 'abc' is not an int"), o.err());
    assertTrue(o.err().contains("Usage: egress sandbox"), o.err());
    Output range = run("--workers", "0");
    assertEquals(2, range.exit());
    assertTrue(range.err().startsWith("--workers must be between 1 and 8, got 0"), range.err());
  }

  private record Output(int exit, String out, String err) {}

  private static Output run(String... args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int exit = SandboxCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
