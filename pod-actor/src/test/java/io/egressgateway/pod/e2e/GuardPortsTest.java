package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Nft;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.pod.infra.HostPodDatapath;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The node's guard table as the pod tunnels come and go: written whole the first time, then each change of ports
 * is a change of its set only (nfnetlink, no nft process); when the table is not what the agent last wrote (gone,
 * say) it is written whole again. At every step it is the table a whole write of the same ports gives.
 */
@Tag("privileged")
class GuardPortsTest {
  private static final String TABLE = "kube_egress_pod_guard";

  private static SortedSet<Integer> ports(Integer... p) {
    return new TreeSet<>(List.of(p));
  }

  @Test
  void portsComeAndGoThroughTheSetAndAnUnknownTableIsWrittenWhole() throws Exception {
    Lab.requirePrerequisites();
    try (Lab lab = new Lab()) {
      String node = lab.ns("node");
      String reference = lab.ns("ref");
      HostPodDatapath dp = new HostPodDatapath(lab.cmd, WireGuardBackends.choose(lab.cmd, "auto"), node);
      java.util.function.Function<SortedSet<Integer>, String> whole = p -> {
        Nft.replaceTable(lab.cmd, reference, "ip", TABLE, HostPodDatapath.guardBody(p));
        return Nft.listTable(lab.cmd, reference, "ip", TABLE);
      };

      dp.guardPorts(ports(51820));
      assertEquals(whole.apply(ports(51820)), Nft.listTable(lab.cmd, node, "ip", TABLE));
      // a chain of someone else's in the table: a change of the set keeps it, a whole write would not
      lab.in(node, "nft", "add", "chain", "ip", TABLE, "marker");
      dp.guardPorts(ports(51820, 40000, 40001));
      String listed = Nft.listTable(lab.cmd, node, "ip", TABLE);
      assertTrue(listed.contains("chain marker"), "only the set changed: " + listed);
      assertTrue(listed.contains("elements = { 40000, 40001, 51820 }"), listed);
      dp.guardPorts(ports(40001));
      listed = Nft.listTable(lab.cmd, node, "ip", TABLE);
      assertTrue(listed.contains("chain marker") && listed.contains("elements = { 40001 }"), listed);
      lab.in(node, "nft", "delete", "chain", "ip", TABLE, "marker");
      assertEquals(whole.apply(ports(40001)), Nft.listTable(lab.cmd, node, "ip", TABLE));

      // the table went behind the agent's back: the set change is refused, and the table is written whole
      lab.in(node, "nft", "delete", "table", "ip", TABLE);
      dp.guardPorts(ports(40001, 40002));
      assertEquals(whole.apply(ports(40001, 40002)), Nft.listTable(lab.cmd, node, "ip", TABLE));

      dp.guardPorts(ports());
      assertEquals("", Nft.listTable(lab.cmd, node, "ip", TABLE), "no ports, no table");
      dp.guardPorts(ports(40003));
      assertEquals(whole.apply(ports(40003)), Nft.listTable(lab.cmd, node, "ip", TABLE));
      assertFalse(lab.cmd.attempt(CommandRunner.inNetns(node, List.of("nft", "list", "table", "ip", "kube_egress_pod"))).ok(),
          "nothing else made");
    }
  }
}
