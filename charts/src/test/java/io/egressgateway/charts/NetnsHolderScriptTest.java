package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The namespace holder's request handler ({@code netns-holder.sh serve}), run for real with sh: anything but
 * {@code add <plain name>}, {@code del <plain name>} or {@code list} is refused before anything runs, and a
 * note whose process is gone counts as not held. (Making namespaces needs root:
 * {@code UnprivilegedGatewayTest} in gateway-actor runs the holder with SYS_ADMIN only.)
 */
class NetnsHolderScriptTest {
  private static final Path SCRIPT = Chart.DIR.resolve("files/netns-holder.sh");

  @TempDir Path dir;

  private String request(String line) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sh", SCRIPT.toString(), "serve").redirectErrorStream(true);
    pb.environment().put("NETNS_HOLDER_STATE", dir.resolve("held").toString());
    // an `unshare` that records it was called instead of making anything
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path unshare = bin.resolve("unshare");
    Files.writeString(unshare, "#!/bin/sh\ntouch \"" + dir.resolve("called") + "\"\nexit 1\n");
    unshare.toFile().setExecutable(true);
    pb.environment().put("PATH", bin + ":" + pb.environment().getOrDefault("PATH", "/usr/bin:/bin"));
    Process p = pb.start();
    p.getOutputStream().write(line.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the handler answers at once");
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "add \n", "add\n", "add bad name\n", "add egw-1;reboot\n", "add ../../x\n", "add -f\n", "add $(id)\n",
      "add .\n", "add ..\n", "del ../x\n", "del a/b\n", "list x\n", "exec egw-1\n", "ADD egw-1\n", "\n", "",
      "add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"})
  void anythingButAPlainRequestIsRefusedBeforeAnythingRuns(String line) throws Exception {
    String answer = request(line);
    assertTrue(answer.startsWith("error "), "'" + line + "' -> " + answer);
    assertTrue(!Files.exists(dir.resolve("called")), "nothing ran for '" + line + "'");
  }

  @Test
  void aNoteWhoseProcessIsGoneIsNotHeldAndIsDropped() throws Exception {
    Files.createDirectories(dir.resolve("held"));
    // a pid that cannot be running (above pid_max) and one whose namespace is not the one noted
    Files.writeString(dir.resolve("held/egw-gone"), "4194305 net:[1]\n");
    Files.writeString(dir.resolve("held/egw-other"), ProcessHandle.current().pid() + " net:[1]\n");
    assertEquals("ok", request("list\n"));
    assertTrue(!Files.exists(dir.resolve("held/egw-gone")) && !Files.exists(dir.resolve("held/egw-other")));
    assertEquals("ok", request("del egw-never\n"), "deleting what is not held is fine");
  }
}
