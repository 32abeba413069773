package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import java.util.List;
import java.util.function.Consumer;

/**
 * Kernel WireGuard ({@code ip link add type wireguard}). A kernel device is configured over netlink in the
 * namespace it is in, under its current name, so every {@code wg} call runs {@code ip netns exec} there.
 *
 * <p>Owns: the links it creates. Persists: nothing. Observes: links and {@code wg show dump}.
 */
public final class KernelWireGuard extends WgCliBackend {

  public KernelWireGuard(CommandRunner cmd) {
    super(cmd);
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

  @Override
  protected List<String> wg(WgDevice d, List<String> args) {
    return CommandRunner.inNetns(d.netns(), wgArgv(args));
  }

  @Override
  protected String wgName(WgDevice d) {
    return d.ifname();
  }
}
