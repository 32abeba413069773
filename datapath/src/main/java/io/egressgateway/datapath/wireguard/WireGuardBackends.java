package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the WireGuard backend once: {@code kernel} or {@code wireguard-go} when overridden, else kernel
 * if a throw-away namespace accepts {@code ip link add type wireguard}, wireguard-go otherwise. The probe
 * never touches the agent's own namespace.
 */
public final class WireGuardBackends {
  private static final Logger log = LoggerFactory.getLogger(WireGuardBackends.class);

  private WireGuardBackends() {}

  /** @param override {@code auto}, {@code kernel} or {@code wireguard-go} */
  public static WireGuardBackend choose(CommandRunner cmd, String override) {
    return choose(cmd, override, null);
  }

  /**
   * @param override {@code auto}, {@code kernel} or {@code wireguard-go}
   * @param holder   wireguard-go only: the socket of a tunnel holder that starts the processes outside this
   *                 member's container ({@link GoWireGuard}); null: this member starts them
   */
  public static WireGuardBackend choose(CommandRunner cmd, String override, java.nio.file.Path holder) {
    String kind = switch (override) {
      case "kernel", "wireguard-go" -> override;
      case "auto", "" -> kernelAvailable(cmd) ? "kernel" : "wireguard-go";
      default -> throw new IllegalArgumentException("wireguard backend must be auto, kernel or wireguard-go, not '" + override + "'");
    };
    log.info("WireGuard backend: {} (setting: {})", kind, override.isEmpty() ? "auto" : override);
    if (kind.equals("wireguard-go")) {
      GoWireGuard.inotifyLimit().filter(limit -> limit < GoWireGuard.INOTIFY_ADVISED).ifPresent(limit -> log.warn(
          "fs.inotify.max_user_instances is {}: every wireguard-go device holds one inotify instance, so this node "
              + "cannot run more than about {} tunnels (fewer with other users of inotify); raise it, e.g. "
              + "sysctl -w fs.inotify.max_user_instances={}", limit, limit, GoWireGuard.INOTIFY_ADVISED));
    }
    if (kind.equals("wireguard-go") && holder != null) {
      log.info("wireguard-go processes are started by the tunnel holder at {}", holder);
    }
    return kind.equals("kernel") ? new KernelWireGuard(cmd) : new GoWireGuard(cmd, "wireguard-go", holder);
  }

  /** True when the kernel can create a WireGuard link (tested in a temporary namespace). */
  public static boolean kernelAvailable(CommandRunner cmd) {
    String ns = "egwprobe-" + UUID.randomUUID().toString().substring(0, 8);
    if (!cmd.attempt(List.of("ip", "netns", "add", ns)).ok()) {
      return false;
    }
    try {
      return cmd.attempt(Net.ip(ns, "link", "add", "wgprobe", "type", "wireguard")).ok();
    } finally {
      cmd.attempt(List.of("ip", "netns", "del", ns));
    }
  }
}
