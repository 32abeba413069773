package io.egressgateway.gateway.infra;

import io.egressgateway.gateway.model.WgConfig;
import io.egressgateway.gateway.model.WgDump;
import io.egressgateway.gateway.model.WgPeer;
import java.util.List;
import java.util.function.Consumer;

/**
 * Kernel WireGuard ({@code ip link add type wireguard}). A kernel device is configured over netlink in the
 * namespace it is in, under its current name, so every {@code wg} call runs {@code ip netns exec} there.
 *
 * <p>Owns: the links it creates. Persists: nothing. Observes: links and {@code wg show dump}.
 */
public final class KernelWireGuard implements WireGuardBackend {
  private final CommandRunner cmd;

  public KernelWireGuard(CommandRunner cmd) {
    this.cmd = cmd;
  }

  @Override
  public String kind() {
    return "kernel";
  }

  @Override
  public WgDevice create(String hostNetns, String name) {
    WgDevice d = WgDevice.created(name, hostNetns);
    if (!alive(d)) {
      cmd.run(Net.ip(hostNetns, "link", "add", name, "type", "wireguard"));
    }
    cmd.run(Net.ip(hostNetns, "link", "set", name, "up"));
    return d;
  }

  @Override
  public WgDevice moveInto(WgDevice device, String netns, String ifname) {
    return Net.moveLink(cmd, device, netns, ifname);
  }

  @Override
  public void configure(WgDevice device, WgConfig config) {
    cmd.run(wg(device, "setconf", device.ifname(), "/dev/stdin"), config.toConf());
  }

  @Override
  public void sync(WgDevice device, WgConfig config) {
    cmd.run(wg(device, "syncconf", device.ifname(), "/dev/stdin"), config.toConf());
  }

  @Override
  public void setPeer(WgDevice device, WgPeer peer) {
    cmd.run(wg(device, WgCli.setPeerArgs(device.ifname(), peer)));
  }

  @Override
  public void removePeer(WgDevice device, String publicKey) {
    cmd.run(wg(device, "set", device.ifname(), "peer", publicKey, "remove"));
  }

  @Override
  public WgDump dump(WgDevice device) {
    return WgDump.parse(cmd.run(wg(device, "show", device.ifname(), "dump")).stdout());
  }

  @Override
  public boolean alive(WgDevice device) {
    return cmd.attempt(Net.ip(device.netns(), "link", "show", device.ifname())).ok();
  }

  @Override
  public void delete(WgDevice device) {
    if (alive(device)) {
      cmd.run(Net.ip(device.netns(), "link", "del", device.ifname()));
    }
  }

  @Override
  public void onDeviceLost(Consumer<String> listener) {
    // kernel devices have no process that could die
  }

  private static List<String> wg(WgDevice d, String... args) {
    return wg(d, List.of(args));
  }

  private static List<String> wg(WgDevice d, List<String> args) {
    List<String> argv = new java.util.ArrayList<>(args.size() + 1);
    argv.add("wg");
    argv.addAll(args);
    return CommandRunner.inNetns(d.netns(), argv);
  }
}
