package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.pod.infra.HostPodDatapath;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The chart runs the worker unprivileged, with NET_ADMIN, NET_RAW and SYS_ADMIN only and /proc/sys read-only
 * (as every runtime mounts it in a container that is not privileged). This runs the worker's namespace
 * commands the same way: in a mount namespace of their own with /proc/sys read-only and the capability sets
 * cut to those three (setpriv), without podman. Setting a pod's rp_filter works there, the plain sysctl the
 * worker used before does not, and the container's own /proc/sys stays read-only.
 */
@Tag("privileged")
class UnprivilegedWorkerTest {
  private static final String CAPS = "-all,+net_admin,+net_raw,+sys_admin";

  /** {@code argv} as the chart's worker container runs it. */
  private static List<String> asWorker(List<String> argv) {
    List<String> out = new ArrayList<>(List.of("unshare", "-m", "--propagation", "slave", "sh", "-c",
        "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec setpriv --inh-caps=" + CAPS
            + " --ambient-caps=" + CAPS + " --bounding-set=" + CAPS + " \"$@\"", "worker"));
    out.addAll(argv);
    return out;
  }

  @Test
  void aPodsRpFilterIsSetWithTheWorkersCapabilitiesAndAReadOnlyProcSys() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      String pod = lab.ns("pod");
      lab.ip(pod, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
      CommandRunner cmd = lab.cmd;

      // the capability sets really are cut: CapEff shows exactly the three (bits 12, 13, 21)
      String status = cmd.run(asWorker(List.of("grep", "CapEff", "/proc/self/status"))).stdout();
      assertTrue(status.contains("0000000000203000"), status);
      // the plain sysctl of before fails there
      var plain = cmd.attempt(asWorker(CommandRunner.inNetns(pod, List.of("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=2"))));
      assertNotEquals(0, plain.exitCode(), "the read-only /proc/sys must refuse the plain sysctl: " + plain.stderr());

      cmd.run(asWorker(CommandRunner.inNetns(pod, HostPodDatapath.RP_FILTER)));
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim());
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.eth0.rp_filter").trim());
      // and in the container itself /proc/sys is still read-only afterwards
      var after = cmd.attempt(asWorker(List.of("sh", "-c", "grep -w /proc/sys /proc/self/mountinfo")));
      assertTrue(after.stdout().contains(" ro,"), after.stdout());

      // the same command still works where /proc/sys is not a mount of its own (host, privileged container)
      lab.in(pod, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
      cmd.run(CommandRunner.inNetns(pod, HostPodDatapath.RP_FILTER));
      assertEquals("2", lab.in(pod, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").trim());
    }
  }
}
