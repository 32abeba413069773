package io.egressgateway.pod.infra;

import com.typesafe.config.Config;
import io.egressgateway.datapath.model.Ipv4Cidr;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code egress.pod.*}, read once and validated.
 *
 * @param socketPath        the CNI server's unix socket
 * @param hostNetns         namespace (by name) pod devices are created in; empty = the agent's own
 * @param gatewayWait       how long ADD waits for the first gateway to confirm the pod's peer
 * @param gatewayGrace      once one gateway confirmed, how much longer ADD waits for the others
 * @param answerTimeout     how long the CNI server waits for any answer before a "try again later"
 * @param serverThreads     CNI server worker threads
 * @param wireguardBackend  {@code auto}, {@code kernel} or {@code wireguard-go}
 * @param commandTimeout    timeout of one {@code ip}/{@code wg}/{@code nft} command
 * @param exceptionCidrs    destinations every tunnelled pod reaches via eth0, never through the tunnel
 * @param peerSyncInterval  how often the gateways get the full list of this node's live tunnels (jittered)
 */
public record PodSettings(
    Path socketPath,
    String hostNetns,
    Duration gatewayWait,
    Duration gatewayGrace,
    Duration answerTimeout,
    int serverThreads,
    String wireguardBackend,
    Duration commandTimeout,
    List<Ipv4Cidr> exceptionCidrs,
    Duration peerSyncInterval) {

  public PodSettings {
    exceptionCidrs = List.copyOf(exceptionCidrs);
    if (!socketPath.isAbsolute()) {
      throw new IllegalArgumentException("egress.pod.socket-path must be absolute: " + socketPath);
    }
    if (gatewayWait.isNegative() || gatewayWait.isZero()) {
      throw new IllegalArgumentException("egress.pod.gateway-wait must be positive");
    }
    if (gatewayGrace.isNegative() || gatewayGrace.compareTo(gatewayWait) > 0) {
      throw new IllegalArgumentException("egress.pod.gateway-grace must be between 0 and gateway-wait");
    }
    if (answerTimeout.compareTo(gatewayWait) <= 0) {
      throw new IllegalArgumentException("egress.pod.answer-timeout must be longer than egress.pod.gateway-wait");
    }
    if (serverThreads < 1 || serverThreads > 64) {
      throw new IllegalArgumentException("egress.pod.server-threads must be 1..64");
    }
    if (peerSyncInterval.isNegative() || peerSyncInterval.isZero()) {
      throw new IllegalArgumentException("egress.pod.peer-sync-interval must be positive");
    }
    if (!Set.of("auto", "kernel", "wireguard-go").contains(wireguardBackend)) {
      throw new IllegalArgumentException("egress.pod.wireguard-backend must be auto, kernel or wireguard-go");
    }
  }

  public static PodSettings from(Config root) {
    Config c = root.getConfig("egress.pod");
    return new PodSettings(
        Path.of(c.getString("socket-path")),
        c.getString("host-netns"),
        c.getDuration("gateway-wait"),
        c.getDuration("gateway-grace"),
        c.getDuration("answer-timeout"),
        c.getInt("server-threads"),
        c.getString("wireguard-backend"),
        c.getDuration("command-timeout"),
        exceptionCidrs(c.getStringList("exception-cidrs")),
        c.getDuration("peer-sync-interval"));
  }

  /** Each entry parsed into a CIDR; a list may come from the environment as one comma-separated element. */
  static List<Ipv4Cidr> exceptionCidrs(List<String> raw) {
    List<Ipv4Cidr> out = new ArrayList<>();
    for (String entry : raw) {
      for (String part : entry.split(",")) {
        if (part.isBlank()) {
          continue;
        }
        try {
          out.add(Ipv4Cidr.parse(part.strip()));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("egress.pod.exception-cidrs (EGRESS_POD_EXCEPTION_CIDRS): " + e.getMessage(), e);
        }
      }
    }
    return out;
  }
}
