package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed before its teardown leaves namespaces, processes and mounts; the next start finds them by
 * what the run recorded and removes them, but never while the run that owns them is still alive.
 */
@Tag("privileged")
class LeftoversTest {
  @TempDir
  Path state;

  private final ByteArrayOutputStream console = new ByteArrayOutputStream();

  private Leftovers leftovers(String prefix) {
    // a label no container carries: this test must never see a real sandbox's containers
    return new Leftovers(state, prefix, Podman.forRepository(), "io.egressgateway.sandbox.test-" + prefix,
        new PrintStream(console, true));
  }

  private static String prefix() {
    return "l" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36);
  }

  @Test
  void whatAKilledRunLeftIsFoundAndRemoved() throws Exception {
    Privileged.require("ip", "mount", "umount");
    String prefix = prefix();
    // the "killed run": a lab that is never closed, a process in one of its namespaces, a process it noted, a mount
    NetLab killed = new NetLab(prefix, state.resolve(Leftovers.PIDS_DIR));
    String ns = killed.addNamespace("node");
    Process inNs = killed.spawn("sleeper", ns, List.of("sleep", "600"));
    Process here = killed.spawn("relay", null, List.of("sleep", "600"));
    Path mounted = state.resolve("nodes/node/run/netns");
    Files.createDirectories(mounted);
    Sh.must("mount", "--bind", mounted.toString(), mounted.toString());
    Files.writeString(state.resolve(Leftovers.OWNER_FILE), "999999999 2020-01-01T00:00:00Z");
    try {
      List<String> found = leftovers(prefix).clean();

      assertTrue(found.contains("namespace " + ns), found.toString());
      assertTrue(found.stream().anyMatch(f -> f.startsWith("process " + here.pid())), found.toString());
      assertTrue(found.contains("mount " + mounted), found.toString());
      assertTrue(inNs.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "the process inside the namespace was stopped");
      assertTrue(here.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "the noted process was stopped");
      assertFalse(Sh.quiet(null, "ip", "netns", "list").stdout().contains(ns), "namespace deleted");
      assertTrue(NodeHost.mountsUnder(state).isEmpty(), "mounts gone");
      assertFalse(Files.exists(state.resolve("nodes")), "the nodes' directories are gone");
      assertTrue(console.toString().contains("removed what an earlier sandbox run left behind"), console.toString());
      assertTrue(leftovers(prefix).clean().isEmpty(), "a second clean finds nothing");
    } finally {
      killed.close();
      NodeHost.mountsUnder(state).forEach(m -> Sh.quiet(null, "umount", "--lazy", m));
    }
  }

  @Test
  void aRunningSandboxIsNeverTouched() throws Exception {
    Privileged.require("ip");
    String prefix = prefix();
    NetLab running = new NetLab(prefix, state.resolve(Leftovers.PIDS_DIR));
    try {
      String ns = running.addNamespace("node");
      // the owner: a live process of this test standing in for the other sandbox
      Process owner = running.spawn("owner", null, List.of("sleep", "600"));
      ProcessHandle h = owner.toHandle();
      Files.writeString(state.resolve(Leftovers.OWNER_FILE), h.pid() + " " + h.info().startInstant().orElseThrow());

      IllegalStateException refused = assertThrows(IllegalStateException.class, () -> leftovers(prefix).clean());

      assertTrue(refused.getMessage().contains("another sandbox is running (pid " + h.pid() + ")"), refused.getMessage());
      assertTrue(owner.isAlive(), "the running sandbox's processes are left alone");
      assertTrue(Sh.quiet(null, "ip", "netns", "list").stdout().contains(ns), "its namespaces too");
    } finally {
      running.close();
    }
  }
}
