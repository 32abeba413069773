package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GoWireGuardOutputTest {
  @Test
  void aFailedStartIsExplainedInWireguardGosOwnWordsWithTheInotifyHint(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("wg1.log");
    Files.writeString(out, """
        ┌──────────────────────────────────────────────────────┐
        │   Running wireguard-go is not required because this  │
        └──────────────────────────────────────────────────────┘
        ERROR: (wg1) 2026/11/26 23:11:55 Failed to listen on uapi socket: too many open files
        """);
    String why = GoWireGuard.explain(out);
    assertTrue(why.startsWith(": wireguard-go: Failed to listen on uapi socket: too many open files"), why);
    assertTrue(why.contains("fs.inotify.max_user_instances"), why);
    assertTrue(!why.contains("│"), "the banner is left out: " + why);

    Files.writeString(out, "ERROR: (wg1) 2026/11/26 23:11:55 Failed to create TUN device: operation not permitted\n");
    assertEquals(": wireguard-go: Failed to create TUN device: operation not permitted", GoWireGuard.explain(out));
    assertEquals("", GoWireGuard.explain(dir.resolve("missing.log")));
  }

  @Test
  void theInotifyLimitIsReadWhole() throws Exception {
    Process p = new ProcessBuilder("cat", "/proc/sys/fs/inotify/max_user_instances").start();
    int expected = Integer.parseInt(new String(p.getInputStream().readAllBytes()).trim());
    assertEquals(java.util.Optional.of(expected), GoWireGuard.inotifyLimit(), "a procfs file must be read in one call");
  }
}
