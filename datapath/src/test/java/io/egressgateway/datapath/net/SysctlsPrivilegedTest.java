package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.NetlinkSocket.NetlinkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Sysctls set without a process ({@link Sysctls}) land in the named namespace only, as {@code sysctl} in that
 * namespace reads them; only values that differ are written; the calling thread and this process's own
 * namespace are untouched; a missing namespace or key fails with its errno.
 */
@Tag("privileged")
class SysctlsPrivilegedTest {
  private static final Path NETNS_DIR = Path.of("/var/run/netns");
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private final CommandRunner cmd = new CommandRunner();
  private final String ns = "egwt-sysctl-" + Privileged.suffix();

  @BeforeEach
  void setUp() {
    Privileged.namespaceWithVeth(cmd, ns, "eth0", "eth1");
    cmd.run(CommandRunner.inNetns(ns, List.of("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.eth0.rp_filter=1")));
  }

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, ns);
  }

  private String inNs(String key) {
    return cmd.run(CommandRunner.inNetns(ns, List.of("sysctl", "-n", key))).stdout().strip();
  }

  @Test
  void valuesLandInTheNamedNamespaceOnlyAndOnlyChangesAreWritten() throws Exception {
    String ownAll = Files.readString(Path.of("/proc/sys/net/ipv4/conf/all/rp_filter")).strip();
    String ownNs = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    Map<String, String> loose = new LinkedHashMap<>();
    loose.put("net.ipv4.conf.all.rp_filter", "2");
    loose.put("net.ipv4.conf.eth0.rp_filter", "2");

    assertEquals(List.of("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.rp_filter"),
        Sysctls.ensure(NETNS_DIR.resolve(ns), loose, TIMEOUT));
    assertEquals("2", inNs("net.ipv4.conf.all.rp_filter"));
    assertEquals("2", inNs("net.ipv4.conf.eth0.rp_filter"));
    assertEquals(List.of(), Sysctls.ensure(NETNS_DIR.resolve(ns), loose, TIMEOUT), "nothing differs any more");

    cmd.run(CommandRunner.inNetns(ns, List.of("sysctl", "-q", "-w", "net.ipv4.conf.eth0.rp_filter=0")));
    Net.sysctls(cmd, ns, loose);
    assertEquals("2", inNs("net.ipv4.conf.eth0.rp_filter"), "through Net, as the agents call it");

    assertEquals(ownAll, Files.readString(Path.of("/proc/sys/net/ipv4/conf/all/rp_filter")).strip(),
        "this process's own namespace is untouched");
    assertEquals(ownNs, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString(),
        "the calling thread did not move");
  }

  @Test
  void aMissingNamespaceOrKeyFailsWithItsErrno() {
    NetlinkException noNs = assertThrows(NetlinkException.class,
        () -> Sysctls.ensure(NETNS_DIR.resolve(ns + "-gone"), Map.of("net.ipv4.ip_forward", "1"), TIMEOUT));
    assertEquals(NetlinkSocket.ENOENT, noNs.errno());
    NetlinkException noKey = assertThrows(NetlinkException.class,
        () -> Sysctls.ensure(NETNS_DIR.resolve(ns), Map.of("net.ipv4.conf.eth9.rp_filter", "2"), TIMEOUT));
    assertEquals(NetlinkSocket.ENOENT, noKey.errno());
    assertTrue(noKey.getMessage().contains("eth9"), noKey.getMessage());
    IllegalStateException viaNet = assertThrows(IllegalStateException.class,
        () -> Net.sysctl(cmd, ns, "net.ipv4.conf.eth9.rp_filter", "2"));
    assertTrue(viaNet.getMessage().contains(ns) && viaNet.getMessage().contains("eth9"), viaNet.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> Sysctls.ensure(NETNS_DIR.resolve(ns), Map.of("net/../../x", "1"), TIMEOUT));
  }
}
