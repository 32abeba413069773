package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tunnel holder's request handler ({@code tunnel-holder.sh start}), run for real with sh against a
 * stand-in {@code wireguard-go} on PATH: a valid request starts {@code wireguard-go -f <name>} in a session of
 * its own and answers with its PID; anything that is not a plain device and namespace name is refused
 * before anything runs.
 */
class TunnelHolderScriptTest {
  private static final Path SCRIPT = Chart.DIR.resolve("files/tunnel-holder.sh");

  @TempDir Path dir;

  private Path fakeBin() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path wg = bin.resolve("wireguard-go");
    // records how it was called, then lives like a device's process
    Files.writeString(wg, "#!/bin/sh\necho \"$@\" > \"" + dir.resolve("called") + "\"\nexec sleep 30\n");
    wg.toFile().setExecutable(true);
    return bin;
  }

  private String request(String line, Path bin) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sh", SCRIPT.toString(), "start").redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
    env.put("TUNNEL_HOLDER_LOG_DIR", dir.resolve("logs").toString());
    Process p = pb.start();
    p.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the handler answers at once");
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
  }

  @Test
  void aValidRequestStartsWireguardGoInItsOwnSessionAndAnswersItsPid() throws Exception {
    Path bin = fakeBin();
    String answer = request("- egw1a2b3c4d\n", bin);
    assertTrue(answer.matches("ok [0-9]+"), answer);
    long pid = Long.parseLong(answer.substring(3));
    ProcessHandle h = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("pid " + pid + " is not running"));
    try {
      // the handler has exited; the process it started lives on
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!Files.exists(dir.resolve("called")) && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      assertEquals("-f egw1a2b3c4d", Files.readString(dir.resolve("called")).trim());
      assertTrue(h.isAlive());
      String sid = Files.readString(Path.of("/proc", Long.toString(pid), "stat")).split("\\) ")[1].split(" ")[3];
      assertEquals(Long.toString(pid), sid, "a session of its own: the handler's end does not end it");
    } finally {
      h.destroyForcibly();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "- \n", "-\n", "- bad name\n", "- wg0;reboot\n", "- ../../x\n", "- -f\n", "- averyveryverylongname\n",
      "- $(id)\n", "ns/../.. wg0\n", "-bad wg0\n", " wg0\n", "ns$x wg0\n", "\n", ""})
  void anythingButPlainNamesIsRefusedBeforeAnythingRuns(String line) throws Exception {
    Path bin = fakeBin();
    String answer = request(line, bin);
    assertTrue(answer.startsWith("error "), "'" + line + "' -> " + answer);
    assertTrue(!Files.exists(dir.resolve("called")), "nothing ran for '" + line + "'");
  }

  @Test
  void theServerListensOnlyForRoot() throws Exception {
    String script = Files.readString(SCRIPT);
    assertTrue(script.contains("mode=0600"), "the socket is root's only");
    assertTrue(List.of(script.split("\n")).stream().anyMatch(l -> l.startsWith("exec socat ")));
  }
}
