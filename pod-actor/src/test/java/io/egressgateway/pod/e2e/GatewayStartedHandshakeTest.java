package io.egressgateway.pod.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A gateway the pod does not use starts a handshake with it (see {@link Topology}). All gateways of a pool
 * share one key, so without a guard the pod's device takes it as a handshake with its gateway peer: its
 * session moves to that gateway and, by WireGuard's roaming, its endpoint flips between that gateway's
 * address and the ILB's (where the other gateway's keepalives come from), while the ILB keeps hashing the
 * pod's packets to the other gateway, which cannot read them. That is what the sandbox's fault suite saw after
 * the upgrade: a gateway the pod had left kept its endpoint and keepalive, and started a handshake whenever
 * its old session ran out; the annotated pod lost about half its requests. The worker's guard drops
 * handshake initiations to the pod devices' ports: the pod's session stays with the gateway the ILB sends
 * its packets to, and its traffic goes on.
 */
@Tag("privileged")
class GatewayStartedHandshakeTest {
  private static final Pattern PING_SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");

  @Test
  void aGatewayThePodDoesNotUseCannotTakeItsSession() throws Exception {
    Lab.requirePrerequisites();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_GATEWAY, Duration.ofSeconds(15))) {
      Topology.AnnotatedPod p = t.addAnnotatedPod("gs");
      String pod = p.netns();
      WgDevice podDevice = p.device();
      String ilb = Topology.ILB + ":" + Topology.PORT;

      // the ILB hashes the pod's flow to gw1: the pod's session is with gw1, through the ILB
      t.lab.ip(t.vnet, "route", "replace", Topology.ILB + "/32", "via", Topology.GATEWAYS.get("gw1")[0], "dev", "v-gw1", "onlink");
      Eventually.await(Duration.ofSeconds(40), () -> ilb.equals(t.gatewayEndpoint(podDevice)) && t.egressIp(pod).equals("203.0.113.15"),
          "the tunnel on the ILB and working through gw1");
      WgDump podDump = t.wg.dump(podDevice);
      String podKey = podDump.publicKey();
      String podIp = t.podIp(pod);
      long kicksBefore = t.watchdog.kicks();
      // the watchdog's passes see the device; the worker guards its port
      Eventually.await(Duration.ofSeconds(5), () -> guarded(t).contains(Integer.toString(podDump.listenPort())),
          "the pod device's port guarded");

      // gw2 holds the pod's peer with its endpoint and keepalive, as a gateway the pod left does; it has no
      // session (as when its old one ran out), so its next keepalive starts a handshake with the pod
      String podOuter = "10.224.0.4:" + podDump.listenPort();
      WgDevice gw2 = t.gatewayDevices.get("gw2");
      t.wg.setPeer(gw2, new WgPeer(podKey, List.of(podIp + "/32"), podOuter, 1));

      CommandRunner.Result ping = t.lab.cmd.attempt(CommandRunner.inNetns(pod,
          List.of("ping", "-n", "-q", "-c", "300", "-i", "0.02", "-W", "1", Topology.ECHO)));
      Matcher m = PING_SUMMARY.matcher(ping.stdout());
      assertTrue(m.find(), "ping's summary: " + ping.stdout() + ping.stderr());
      int sent = Integer.parseInt(m.group(1));
      int received = Integer.parseInt(m.group(2));
      WgDump.Peer onGw2 = t.wg.dump(gw2).peers().get(podKey);
      System.out.printf("gateway-started handshake: gw2's latest handshake with the pod %d, its bytes in/out %d/%d; "
              + "the pod's ping through gw1: %d of %d answered; pod endpoint %s; watchdog kicks %d%n",
          onGw2.latestHandshake(), onGw2.rxBytes(), onGw2.txBytes(), received, sent, t.gatewayEndpoint(podDevice),
          t.watchdog.kicks() - kicksBefore);
      if (onGw2.latestHandshake() != 0) {
        t.diagnose(pod, p.deviceName());
      }
      assertTrue(onGw2.txBytes() > 0, "gw2 tried to reach the pod");
      assertEquals(0, onGw2.latestHandshake(), "gw2 completed a handshake it started with the pod");
      assertTrue(received >= sent - 3, "the pod's ping through gw1: " + received + " of " + sent + " answered");
      assertEquals(ilb, t.gatewayEndpoint(podDevice), "the pod's endpoint");
      assertTrue(guarded(t).contains(Integer.toString(podDump.listenPort())), "the pod device's port still guarded");
      assertTrue(t.delete(p));
      // the last tunnel gone: the guard table goes with it
      Eventually.await(Duration.ofSeconds(5), () -> guarded(t).isEmpty(), "the guard table removed");
    }
  }

  /** The worker's guard table in the node's host namespace, as nft lists it; empty when there is none. */
  private static String guarded(Topology t) {
    CommandRunner.Result r = t.lab.cmd.attempt(CommandRunner.inNetns(t.w1, List.of("nft", "list", "table", "ip", "kube_egress_pod_guard")));
    return r.ok() ? r.stdout() : "";
  }
}
