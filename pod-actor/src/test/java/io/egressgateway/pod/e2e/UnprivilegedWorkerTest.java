package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NextHop;
import io.egressgateway.datapath.net.IpBatch;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.NfTables;
import io.egressgateway.datapath.net.Routes;
import io.egressgateway.datapath.net.Sysctls;
import io.egressgateway.pod.infra.HostPodDatapath;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The chart runs the worker unprivileged, with NET_ADMIN, NET_RAW and SYS_ADMIN only and /proc/sys read-only
 * (as every runtime mounts it in a container that is not privileged). This runs the worker's namespace
 * commands the same way: in a mount namespace of their own with /proc/sys read-only and the capability sets
 * cut to those three (setpriv), without podman. Setting a pod's rp_filter works there, in a JVM as the worker
 * does it (no process: a thread enters the pod's namespace and a mount namespace of its own) and with the
 * commands it falls back to; a plain sysctl does not, and the container's own /proc/sys stays read-only. The
 * pod's rule, routes and reply-marking table are made over netlink there as well.
 */
@Tag("privileged")
class UnprivilegedWorkerTest {
  private static final String CAPS = "-all,+net_admin,+net_raw,+sys_admin";

  /** What runs a command as the chart's worker container runs it. */
  private static final List<String> AS_WORKER = List.of("unshare", "-m", "--propagation", "slave", "sh", "-c",
      "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec setpriv --inh-caps=" + CAPS
          + " --ambient-caps=" + CAPS + " --bounding-set=" + CAPS + " \"$@\"", "worker");

  /** {@code argv} as the chart's worker container runs it. */
  private static List<String> asWorker(List<String> argv) {
    List<String> out = new ArrayList<>(AS_WORKER);
    out.addAll(argv);
    return out;
  }

  /**
   * The worker's JVM in the test, in the namespace {@code args[0]} names, without a process: sets the pod's
   * rp_filter; with {@code routes} as {@code args[1]}, makes the pod's reply rule, two routes and its reply-marking
   * table over netlink instead, and prints what it reads back.
   */
  public static void main(String[] args) throws Exception {
    Path netns = Path.of("/var/run/netns");
    if (args.length > 1 && args[1].equals("routes")) {
      IpBatch batch = new IpBatch().ruleAddFwmark(8738, 0x2222, 8738)
          .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.parse("169.254.1.1/32"), null, IfName.parse("eth0"), 254, 77)
          .route(IpBatch.RouteVerb.REPLACE, Ipv4Cidr.ANY, NextHop.parse("169.254.1.1"), IfName.parse("eth0"), 8738, 77);
      List<Routes.Outcome> out = Routes.apply(netns, args[0], batch.ops(), false, n -> { });
      NfTables.replaceReplyMarking(netns, args[0], "kube_egress_pod", IfName.parse("eth0"), 0x2222);
      Routes.Owned read = Routes.read(netns, args[0], 8738, 77);
      System.out.println(out.stream().allMatch(Routes.Outcome::done) + " " + read.rule() + " " + read.routes().size());
      return;
    }
    System.out.println(Sysctls.ensure(netns.resolve(args[0]), HostPodDatapath.RP_FILTER, Duration.ofSeconds(10)));
  }

  /** A pod's namespace with an {@code eth0} (one end of a veth pair). */
  private static String podWithEth0(Lab lab) {
    String pod = lab.ns("pod");
    lab.ip(pod, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
    return pod;
  }

  /** This class's {@link #main} in a JVM run as the chart's worker container runs it. */
  private static CommandRunner.Result workerJvm(CommandRunner cmd, String... args) {
    List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), UnprivilegedWorkerTest.class.getName()));
    argv.addAll(List.of(args));
    return cmd.run(asWorker(argv));
  }

  @Test
  void aPodsRulesRoutesAndReplyMarkingAreMadeOverNetlinkWithTheWorkersCapabilities() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      String pod = podWithEth0(lab);
      lab.ip(pod, "link", "set", "eth0", "up");
      var jvm = workerJvm(lab.cmd, pod, "routes");
      assertEquals("true true 2", jvm.stdout().strip(), jvm.stderr());
      assertTrue(lab.ip(pod, "rule").contains("fwmark 0x2222 lookup 8738"));
      assertTrue(lab.ip(pod, "-4", "route", "show", "table", "8738").contains("default via 169.254.1.1 dev eth0 proto 77"));
      assertTrue(lab.in(pod, "nft", "list", "table", "ip", "kube_egress_pod").contains("ct mark set 0x00002222"));
    }
  }

  @Test
  void aPodsRpFilterIsSetWithTheWorkersCapabilitiesAndAReadOnlyProcSys() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      String pod = podWithEth0(lab);
      CommandRunner cmd = lab.cmd;

      // the capability sets really are cut: CapEff shows exactly the three (bits 12, 13, 21)
      String status = cmd.run(asWorker(List.of("grep", "CapEff", "/proc/self/status"))).stdout();
      assertTrue(status.contains("0000000000203000"), status);
      // the plain sysctl of before fails there
      var plain = cmd.attempt(asWorker(CommandRunner.inNetns(pod, List.of("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=2"))));
      assertNotEquals(0, plain.exitCode(), "the read-only /proc/sys must refuse the plain sysctl: " + plain.stderr());

      // as the worker sets it: in its JVM, without a process (both differ first, so both are written)
      lab.in(pod, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0");
      var jvm = workerJvm(cmd, pod);
      assertEquals("[net.ipv4.conf.all.rp_filter, net.ipv4.conf.eth0.rp_filter]", jvm.stdout().strip(), jvm.stderr());
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim());
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.eth0.rp_filter").trim());
      // and with the commands it falls back to (a runner whose commands run as the worker uses them)
      lab.in(pod, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=1");
      Net.sysctls(cmd.within(AS_WORKER), pod, HostPodDatapath.RP_FILTER);
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim());
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.eth0.rp_filter").trim());
      // and in the container itself /proc/sys is still read-only afterwards
      var after = cmd.attempt(asWorker(List.of("sh", "-c", "grep -w /proc/sys /proc/self/mountinfo")));
      assertTrue(after.stdout().contains(" ro,"), after.stdout());

      // the same command still works where /proc/sys is not a mount of its own (host, privileged container)
      lab.in(pod, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
      Net.sysctls(cmd, pod, HostPodDatapath.RP_FILTER);
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim());
    }
  }
}
