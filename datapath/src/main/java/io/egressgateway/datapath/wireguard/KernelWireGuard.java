package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.NetlinkSocket;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kernel WireGuard ({@code ip link add type wireguard}). A kernel device is configured over netlink in the
 * namespace it is in, under its current name, so every {@code wg} call runs {@code ip netns exec} there.
 * Reads ({@link #dump}), which the failover watchdog makes ten times a second per pod tunnel, go over a
 * netlink socket kept per namespace instead ({@link WgNetlink}); where that fails they fall back to
 * {@code wg show}, with a warning (the first, then at most one a minute, with the count).
 *
 * <p>Owns: the links it creates, the netlink sockets. Persists: nothing. Observes: links and the devices.
 */
public final class KernelWireGuard extends WgCliBackend {
  private static final Logger log = LoggerFactory.getLogger(KernelWireGuard.class);
  private static final long WARN_EVERY_NANOS = 60_000_000_000L;

  private final WgNetlink netlink;
  /** False once netlink cannot work in this process at all (no C library binding, no WireGuard family). */
  private volatile boolean netlinkUsable;
  private final AtomicLong fallbacks = new AtomicLong();
  private volatile long lastWarning = System.nanoTime() - WARN_EVERY_NANOS;

  public KernelWireGuard(CommandRunner cmd) {
    this(cmd, new WgNetlink());
  }

  KernelWireGuard(CommandRunner cmd, WgNetlink netlink) {
    super(cmd);
    this.netlink = netlink;
    // commands that run in another process's namespaces (a test's stand-in) see other namespaces than netlink here
    this.netlinkUsable = !cmd.runsElsewhere();
  }

  @Override
  public WgDump dump(WgDevice device) {
    if (netlinkUsable) {
      try {
        return netlink.dump(device.netns(), device.ifname());
      } catch (WgNetlink.NoWireGuard | LinkageError e) {
        netlinkUsable = false;
        log.warn("kernel WireGuard devices are read with wg show processes from now on: {}", e.toString());
      } catch (NetlinkSocket.NetlinkException e) {
        if (e.errno() != NetlinkSocket.ENODEV) {
          fellBack(device, e);
        } // else no such device: wg show fails as it always did, with its own message
      } catch (IOException | RuntimeException e) {
        fellBack(device, e);
      }
    }
    return super.dump(device);
  }

  /** How many reads went to {@code wg show} because netlink failed. */
  public long netlinkFallbacks() {
    return fallbacks.get();
  }

  private void fellBack(WgDevice device, Exception e) {
    long n = fallbacks.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastWarning >= WARN_EVERY_NANOS) {
      lastWarning = now;
      log.warn("netlink read of WireGuard device {} in {} failed ({}); read with wg show instead ({} so far)",
          device.ifname(), device.netns().isEmpty() ? "this namespace" : device.netns(), e.getMessage(), n);
    }
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
    return Net.link(cmd, device.netns(), device.ifname()).isPresent();
  }

  @Override
  public void delete(WgDevice device) {
    if (!device.netns().isEmpty()) {
      netlink.forget(device.netns()); // a kept socket would hold the namespace
    }
    if (alive(device)) {
      if (!Net.deleteLink(cmd, device.netns(), device.ifname()) && alive(device)) {
        throw new IllegalStateException("device " + device.ifname() + " in " + device.netns() + " could not be deleted");
      }
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
