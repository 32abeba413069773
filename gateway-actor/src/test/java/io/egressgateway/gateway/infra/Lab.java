package io.egressgateway.gateway.infra;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A throw-away network for privileged tests, all in namespaces of its own (names carry a random suffix):
 * a VNet router, a gateway host, a worker host with one pod, and an "internet" host running an echo
 * server that answers with the client address it sees. Nothing is added to the root namespace.
 *
 * <pre>
 *  pod (10.244.1.10 on lo, wg0 moved in)     node eth0 10.224.0.4 ─┐
 *                                            gw   eth0 10.224.0.5 ─┼─ vnet 10.224.0.1 (routes the ILB
 *                                            inet eth0 198.18.0.2 ─┘   10.224.0.100 and the secondary
 *                                                                      IP 10.224.0.15 to gw)
 * </pre>
 */
public final class Lab implements AutoCloseable {
  public static final String GW_IP = "10.224.0.5";
  public static final String NODE_IP = "10.224.0.4";
  /** The ILB stand-in: vnet routes the frontend IP to the gateway, which must carry it (floating IP). */
  public static final String ILB_IP = "10.224.0.100";
  public static final String SECONDARY_IP = "10.224.0.15";
  public static final String POD_IP = "10.244.1.10";
  public static final String ECHO_IP = "198.18.0.2";

  public final String sfx = Privileged.suffix();
  public final String vnet = "egwt-vnet-" + sfx;
  public final String gw = "egwt-gw-" + sfx;
  public final String node = "egwt-node-" + sfx;
  public final String pod = "egwt-pod-" + sfx;
  public final String inet = "egwt-inet-" + sfx;
  public final String podDevice = "egtp" + sfx;
  public final CommandRunner cmd = new CommandRunner();
  private final List<Process> processes = new ArrayList<>();
  private GoWireGuard podWg;

  public Lab up() {
    for (String ns : List.of(vnet, gw, node, pod, inet)) {
      Net.ensureNetns(cmd, ns);
    }
    Net.sysctl(cmd, vnet, "net.ipv4.ip_forward", "1");
    wire(gw, "vg" + sfx, GW_IP);
    wire(node, "vn" + sfx, NODE_IP);
    cmd.run(Net.ip(vnet, "link", "add", "vi" + sfx, "type", "veth", "peer", "name", "eth0", "netns", inet));
    cmd.run(Net.ip(vnet, "addr", "add", "198.18.0.1/30", "dev", "vi" + sfx));
    cmd.run(Net.ip(vnet, "link", "set", "vi" + sfx, "up"));
    cmd.run(Net.ip(inet, "addr", "add", ECHO_IP + "/30", "dev", "eth0"));
    cmd.run(Net.ip(inet, "link", "set", "eth0", "up"));
    cmd.run(Net.ip(inet, "route", "add", "default", "via", "198.18.0.1"));
    cmd.run(Net.ip(vnet, "route", "add", SECONDARY_IP + "/32", "via", GW_IP, "dev", "vg" + sfx));
    cmd.run(Net.ip(vnet, "route", "add", ILB_IP + "/32", "via", GW_IP, "dev", "vg" + sfx));
    cmd.run(Net.ip(pod, "addr", "add", POD_IP + "/32", "dev", "lo"));
    return this;
  }

  private void wire(String host, String vnetSide, String ip) {
    cmd.run(Net.ip(vnet, "link", "add", vnetSide, "type", "veth", "peer", "name", "eth0", "netns", host));
    cmd.run(Net.ip(vnet, "addr", "add", "10.224.0.1/32", "dev", vnetSide));
    cmd.run(Net.ip(vnet, "link", "set", vnetSide, "up"));
    cmd.run(Net.ip(vnet, "route", "add", ip + "/32", "dev", vnetSide));
    cmd.run(Net.ip(host, "addr", "add", ip + "/32", "dev", "eth0"));
    cmd.run(Net.ip(host, "link", "set", "eth0", "up"));
    cmd.run(Net.ip(host, "route", "add", "10.224.0.1/32", "dev", "eth0", "scope", "link"));
    cmd.run(Net.ip(host, "route", "add", "default", "via", "10.224.0.1", "dev", "eth0", "onlink"));
  }

  /** Starts the echo server in the internet namespace: it answers each TCP connection with the peer address. */
  public void startEcho() throws Exception {
    Process p = new ProcessBuilder("ip", "netns", "exec", inet, "socat", "TCP-LISTEN:8080,fork,reuseaddr",
        "SYSTEM:echo $SOCAT_PEERADDR").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(p);
    Eventually.await(Duration.ofSeconds(2), () -> cmd.attempt(Net.ip(inet, "-o", "addr")).ok(), "the internet namespace");
    Eventually.await(Duration.ofSeconds(2),
        () -> cmd.attempt(CommandRunner.inNetns(inet, List.of("ss", "-tlnH", "sport", "= :8080"))).stdout().contains("8080"),
        "the echo server listening");
  }

  /** The pod's WireGuard device (created in the node namespace, moved into the pod as wg0, default route into it). */
  public void attachPod(String podPrivateKey, String gatewayPublicKey, int port) {
    podWg = new GoWireGuard(cmd);
    WgDevice d = podWg.create(node, podDevice);
    podWg.configure(d, new WgConfig(podPrivateKey, 0,
        List.of(new WgPeer(gatewayPublicKey, List.of("0.0.0.0/0"), ILB_IP + ":" + port, 0))));
    podWg.moveInto(d, pod, "wg0");
    cmd.run(Net.ip(pod, "-4", "route", "replace", "0.0.0.0/0", "via", "inet6", "fe80::1", "dev", "wg0"));
  }

  /**
   * What the pod side does when its gateway lost its session state (a repaired or failed-over gateway):
   * forget and re-add the gateway peer, which forces a fresh handshake at once instead of after 15 s.
   */
  public void kickPod(String gatewayPublicKey, int port) {
    kickPod(gatewayPublicKey, ILB_IP + ":" + port);
  }

  /** Same, pointing the peer at {@code endpoint} (the pod failover watchdog may pick a gateway's own address). */
  public void kickPod(String gatewayPublicKey, String endpoint) {
    WgDevice d = new WgDevice(podDevice, pod, "wg0");
    podWg.removePeer(d, gatewayPublicKey);
    podWg.setPeer(d, new WgPeer(gatewayPublicKey, List.of("0.0.0.0/0"), endpoint, 0));
  }

  /** The endpoint the pod's device has for {@code gatewayPublicKey} now (WireGuard follows where answers come from). */
  public String podEndpoint(String gatewayPublicKey) {
    return podWg.dump(new WgDevice(podDevice, pod, "wg0")).peers().get(gatewayPublicKey).endpoint();
  }

  /** When the pod's device last completed a handshake with {@code gatewayPublicKey} (epoch seconds, 0: never). */
  public long podHandshake(String gatewayPublicKey) {
    var peer = podWg.dump(new WgDevice(podDevice, pod, "wg0")).peers().get(gatewayPublicKey);
    return peer == null ? 0 : peer.latestHandshake();
  }

  /** What the echo host saw as our address, or the failure. */
  public CommandRunner.Result echoFromPod() {
    return cmd.attempt(CommandRunner.inNetns(pod, List.of("socat", "-T", "3", "-", "TCP:" + ECHO_IP + ":8080,connect-timeout=3")));
  }

  @Override
  public void close() {
    processes.forEach(p -> {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    });
    for (String ns : List.of(pod, node, inet, gw, vnet)) {
      cmd.attempt(List.of("ip", "netns", "del", ns));
    }
    if (podWg != null) {
      podWg.pidOf(podDevice).ifPresent(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy));
    }
  }
}
