package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgKey;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.Net;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What both backends do the same way: move a device, and configure it with {@code wg}. They differ only in
 * how {@code wg} reaches a device ({@link #wg}): a kernel device by its current name inside its namespace,
 * a wireguard-go device by its creation name from anywhere.
 */
abstract class WgCliBackend implements WireGuardBackend {
  protected final CommandRunner cmd;

  WgCliBackend(CommandRunner cmd) {
    this.cmd = cmd;
  }

  /** The full command line of {@code wg <args>} for {@code device}; {@code args} name it by {@link #wgName}. */
  protected abstract List<String> wg(WgDevice device, List<String> args);

  /** The name {@code wg} knows the device by. */
  protected abstract String wgName(WgDevice device);

  @Override
  public WgDevice moveInto(WgDevice device, String netns, String ifname) {
    return moveLink(cmd, device, netns, ifname);
  }

  @Override
  public void configure(WgDevice device, WgConfig config) {
    cmd.run(wg(device, List.of("setconf", wgName(device), "/dev/stdin")), config.toConf());
  }

  @Override
  public void sync(WgDevice device, WgConfig config) {
    cmd.run(wg(device, List.of("syncconf", wgName(device), "/dev/stdin")), config.toConf());
  }

  @Override
  public void setPeer(WgDevice device, WgPeer peer) {
    cmd.run(wg(device, WgCli.setPeerArgs(wgName(device), peer)));
  }

  @Override
  public void setPeers(WgDevice device, List<WgPeer> peers) {
    if (peers.isEmpty()) {
      return;
    }
    cmd.run(wg(device, WgCli.setPeersArgs(wgName(device), peers)));
  }

  @Override
  public void removePeer(WgDevice device, String publicKey) {
    cmd.run(wg(device, List.of("set", wgName(device), "peer", WgKey.parse(publicKey).value(), "remove")));
  }

  @Override
  public WgDump dump(WgDevice device) {
    return WgDump.parse(cmd.run(wg(device, List.of("show", wgName(device), "dump"))).stdout());
  }

  @Override
  public String privateKey(WgDevice device) {
    String key = cmd.run(wg(device, List.of("show", wgName(device), "private-key"))).stdout().strip();
    if (key.isEmpty() || key.equals("(none)")) {
      throw new IllegalStateException("device " + device.name() + " has no private key");
    }
    return key;
  }

  static List<String> wgArgv(List<String> args) {
    List<String> argv = new ArrayList<>(args.size() + 1);
    argv.add("wg");
    argv.addAll(args);
    return argv;
  }

  /**
   * Moves a device to {@code netns} as {@code ifname}, keeping its creation name in the alias, and sets it
   * up. A device already there under that name is only brought up.
   */
  private static WgDevice moveLink(CommandRunner cmd, WgDevice d, String netns, String ifname) {
    WgDevice target = d.movedTo(netns, ifname);
    // move, rename, alias and up in one step (the kernel renames as part of the move; over rtnetlink, one
    // request, or one ip command): the common case (a fresh device) is tried first
    RuntimeException failed;
    try {
      Net.moveLink(cmd, d.netns(), d.ifname(), netns, ifname, d.name());
      return target;
    } catch (RuntimeException e) {
      failed = e;
    }
    Optional<Net.Link> there = Net.link(cmd, netns, ifname);
    if (there.isPresent() && there.get().alias().equals(d.name())) {
      if (!Net.linkUp(cmd, netns, ifname)) {
        throw new IllegalStateException("link " + ifname + " in " + netns + " could not be brought up");
      }
      return target;
    }
    throw failed;
  }
}
