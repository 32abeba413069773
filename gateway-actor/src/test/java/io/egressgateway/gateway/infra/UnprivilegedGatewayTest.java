package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.NetnsStore;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import io.egressgateway.gateway.model.GatewayPlanner;
import io.egressgateway.gateway.model.ObservedConfig;
import io.egressgateway.gateway.model.Reconciliation;
import io.egressgateway.testing.Eventually;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart runs the gateway member unprivileged (NET_ADMIN, NET_RAW, SYS_ADMIN; /proc/sys read-only; its own
 * /var/run/netns, nothing propagated to the host) and its namespaces come from the namespace holder (SYS_ADMIN
 * only). This runs both that way without a container runtime: the holder is the chart's script under
 * {@code setpriv} with SYS_ADMIN alone; the member's commands run through {@code nsenter} into a stand-in
 * container (a process in the gateway host's network namespace, in a mount namespace of its own with a fresh
 * /var/run/netns and a read-only /proc/sys) under {@code setpriv} with the member's three capabilities.
 *
 * <p>A configuration is programmed and a pod's traffic egresses through it; nothing appears in the host's
 * /var/run/netns; the container is then "restarted" (a new mount namespace, nothing attached) and the new
 * member finds the configuration's namespace, with everything in it, through the holder. Only the
 * wireguard-go process (this machine has no kernel WireGuard) starts outside the stand-in; on AKS the
 * device is a kernel object made by the member's own {@code ip}.
 */
@Tag("privileged")
class UnprivilegedGatewayTest {
  private static final String MEMBER_CAPS = "-all,+net_admin,+net_raw,+sys_admin";
  private static final String HOLDER_CAPS = "-all,+sys_admin";
  private static final Path SCRIPT = Path.of("../charts/kube-egress-gateway/files/netns-holder.sh").toAbsolutePath().normalize();

  @TempDir Path dir;
  Lab lab;
  Process holder;
  final List<Process> containers = new ArrayList<>();
  String containerPid;
  LinuxGatewayDatapath dp;
  String uid;
  final WgKeys.KeyPair gwKey = WgKeys.generate();
  final WgKeys.KeyPair podKey = WgKeys.generate();

  @BeforeEach
  void setUp() throws Exception {
    Privileged.require();
    lab = new Lab();
    lab.up();
    lab.startEcho();
    uid = "cfg-" + lab.sfx;
    ProcessBuilder pb = new ProcessBuilder("setpriv", "--inh-caps=" + HOLDER_CAPS, "--ambient-caps=" + HOLDER_CAPS,
        "--bounding-set=" + HOLDER_CAPS, "--", "sh", SCRIPT.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("holder.log").toFile());
    pb.environment().put("NETNS_HOLDER_SOCKET", dir.resolve("netns.sock").toString());
    holder = pb.start();
    Eventually.await(Duration.ofSeconds(10), () -> Files.exists(dir.resolve("netns.sock")), "the holder listens");
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      if (dp != null) {
        dp.remove(uid);
      }
    } finally {
      containers.forEach(UnprivilegedGatewayTest::end);
      if (holder != null) {
        end(holder);
      }
      // whatever the holder still keeps (nothing, if remove worked)
      Path held = dir.resolve("netns-held");
      if (Files.isDirectory(held)) {
        try (Stream<Path> notes = Files.list(held)) {
          notes.filter(Files::isRegularFile).forEach(f -> {
            try {
              String pid = Files.readString(f).split(" ")[0].strip();
              if (pid.matches("[0-9]+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
              }
            } catch (Exception e) {
              // the note went away meanwhile
            }
          });
        }
      }
      if (lab != null) {
        lab.close();
      }
    }
  }

  private static void end(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  /** A stand-in for the member's container; returns the runner of its commands and the pid inside it. */
  private CommandRunner container() throws Exception {
    String gw = lab.gw;
    Process c = new ProcessBuilder("ip", "netns", "exec", gw, "unshare", "-m", "--propagation", "slave", "sh", "-c",
        "mount -t tmpfs tmpfs /run/netns && touch /run/netns/" + gw + " && mount --bind /proc/self/ns/net /run/netns/" + gw
            + " && mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && echo $$ && exec sleep 600")
        .redirectErrorStream(true).start();
    containers.add(c);
    String pid = new BufferedReader(new InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII)).readLine();
    assertTrue(pid != null && pid.matches("[0-9]+"), "the stand-in container started: " + pid);
    containerPid = pid;
    return new CommandRunner().within(List.of("nsenter", "-t", pid, "-m", "-n", "setpriv", "--inh-caps=" + MEMBER_CAPS,
        "--ambient-caps=" + MEMBER_CAPS, "--bounding-set=" + MEMBER_CAPS, "--"));
  }

  private LinuxGatewayDatapath member(CommandRunner in) {
    // the member's /var/run/netns as the stand-in container sees it
    Path netnsDir = Path.of("/proc", containerPid, "root", "run", "netns");
    return new LinuxGatewayDatapath(in, new GoWireGuard(in), new GatewayNames(lab.gw, "egwt-" + lab.sfx + "-"), lab.gw, 2,
        "eth0", NetnsStore.held(in, dir.resolve("netns.sock"), netnsDir));
  }

  ConfigDatapath config(Map<String, String> peers) {
    return new ConfigDatapath(uid, 6000, Lab.GW_IP, Lab.SECONDARY_IP, Lab.ILB_IP, gwKey.publicKey(), "s", peers);
  }

  @Test
  void theGatewayDatapathWorksWithTheChartsCapabilitiesAndItsNamespacesOutliveTheContainer() throws Exception {
    CommandRunner in = container();
    // the capability sets really are cut: CapEff shows exactly NET_ADMIN, NET_RAW, SYS_ADMIN (bits 12, 13, 21)
    assertTrue(in.run(List.of("grep", "CapEff", "/proc/self/status")).stdout().contains("0000000000203000"));
    assertTrue(in.run(List.of("sh", "-c", "grep -w /proc/sys /proc/self/mountinfo")).stdout().contains(" ro,"));
    // and the holder's: SYS_ADMIN alone (bit 21)
    assertTrue(Files.readString(Path.of("/proc", Long.toString(holder.pid()), "status")).contains("CapEff:\t0000000000200000"));
    lab.cmd.run(CommandRunner.inNetns(lab.gw, List.of("sysctl", "-q", "-w", "net.ipv4.ip_forward=0")));

    dp = member(in);
    ConfigDatapath want = config(Map.of(podKey.publicKey(), Lab.POD_IP + "/32"));
    Reconciliation first = Reconciliation.run(dp, name -> gwKey.privateKey(), Map.of(uid, want), 8, true);
    assertEquals(Set.of(uid), first.serving(), first.errors().toString());
    assertTrue(GatewayPlanner.serving(want, dp.observe(uid).orElseThrow()));
    String ns = dp.names().netns(uid);
    assertFalse(Files.exists(Path.of("/run/netns", ns)), "nothing of the member's namespaces reaches the host's /var/run/netns");
    assertEquals("1", lab.cmd.run(CommandRunner.inNetns(lab.gw, List.of("sysctl", "-n", "net.ipv4.ip_forward"))).stdout().strip(),
        "ip_forward written through the read-only /proc/sys");
    assertTrue(in.run(List.of("sh", "-c", "grep -w /proc/sys /proc/self/mountinfo")).stdout().contains(" ro,"),
        "and the container's /proc/sys is still read-only");

    lab.attachPod(podKey.privateKey(), gwKey.publicKey(), 6000);
    CommandRunner.Result r = lab.echoFromPod();
    assertTrue(r.ok(), r.stderr());
    assertEquals(Lab.SECONDARY_IP, r.stdout().strip(), "the echo host sees the config's secondary IP");

    // the member's container ends (its mount namespace, and every attachment in it, with it)
    end(containers.get(containers.size() - 1));
    CommandRunner again = container();
    assertFalse(again.run(List.of("ip", "netns", "list")).stdout().contains(ns), "a new container has attached nothing");
    dp = member(again);
    ObservedConfig kept = dp.observe().get(uid);
    assertTrue(kept != null, "the holder kept the namespace: " + dp.observe().keySet());
    assertEquals(Lab.SECONDARY_IP, kept.snatIp(), "with its SNAT rule");
    assertTrue(kept.tunnelRouted() && kept.hostRouted(), kept.toString());
    Reconciliation after = Reconciliation.run(dp, name -> gwKey.privateKey(), Map.of(uid, want), 8, true);
    assertEquals(Set.of(uid), after.serving(), after.errors().toString());
    lab.kickPod(gwKey.publicKey(), 6000);
    Eventually.untilPasses(Duration.ofSeconds(15), () -> {
      CommandRunner.Result again2 = lab.echoFromPod();
      assertTrue(again2.ok(), again2.stderr());
      assertEquals(Lab.SECONDARY_IP, again2.stdout().strip());
    });

    // removal ends the namespace for good: the holder keeps nothing more
    dp.remove(uid);
    dp = null;
    assertFalse(again.run(List.of("ip", "netns", "list")).stdout().contains(ns));
    assertEquals(Map.of(), member(again).observe());
  }
}
