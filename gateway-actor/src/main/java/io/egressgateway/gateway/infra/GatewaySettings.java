package io.egressgateway.gateway.infra;

import com.typesafe.config.Config;
import java.time.Duration;

/** The validated {@code egress.gateway} settings. */
public record GatewaySettings(
    String wireguardBackend,
    String hostNetns,
    String hostInterface,
    String netnsPrefix,
    int peerKeepaliveSeconds,
    int bulkThreshold,
    Duration coalesce,
    Duration resyncInterval,
    Duration retryInterval,
    Duration viewGrace,
    Duration peerHold,
    Duration peerDigestExpiry,
    int snapshotEvery,
    Duration commandTimeout,
    boolean probeEnabled,
    String probeBind,
    int probePort,
    Duration drainDelay,
    Duration verifyCache,
    Duration metricsInterval,
    String netnsHolder) {

  public static final String DISPATCHER = "egress.gateway.blocking-dispatcher";

  public GatewaySettings {
    if (!wireguardBackend.matches("auto|kernel|wireguard-go")) {
      throw new IllegalArgumentException("egress.gateway.wireguard-backend must be auto, kernel or wireguard-go, not '" + wireguardBackend + "'");
    }
    if (!netnsPrefix.matches("[A-Za-z0-9_.-]{1,40}")) {
      throw new IllegalArgumentException("egress.gateway.netns-prefix must be 1-40 of [A-Za-z0-9_.-], not '" + netnsPrefix + "'");
    }
    if (!hostInterface.matches("[A-Za-z0-9_.-]{1,11}")) {
      throw new IllegalArgumentException("egress.gateway.host-interface must be 1-11 of [A-Za-z0-9_.-], not '" + hostInterface + "'");
    }
    requirePositive("coalesce", coalesce);
    requirePositive("resync-interval", resyncInterval);
    requirePositive("retry-interval", retryInterval);
    requirePositive("command-timeout", commandTimeout);
    requirePositive("peer-hold", peerHold);
    requirePositive("peer-digest-expiry", peerDigestExpiry);
    if (peerKeepaliveSeconds < 0 || peerKeepaliveSeconds > 65535) {
      throw new IllegalArgumentException("egress.gateway.peer-keepalive out of range: " + peerKeepaliveSeconds + "s");
    }
    if (bulkThreshold < 0 || snapshotEvery < 1) {
      throw new IllegalArgumentException("egress.gateway.bulk-threshold must be >= 0 and snapshot-every >= 1");
    }
    if (probePort < 0 || probePort > 65535) {
      throw new IllegalArgumentException("egress.gateway.probe.port out of range: " + probePort);
    }
    if (netnsHolder == null || !(netnsHolder.isEmpty() || netnsHolder.matches("/[A-Za-z0-9_./-]{1,200}"))) {
      throw new IllegalArgumentException("egress.gateway.netns-holder must be empty or an absolute socket path, not '" + netnsHolder + "'");
    }
    if (metricsInterval.isNegative()) {
      throw new IllegalArgumentException("egress.gateway.metrics-interval must be 0 (off) or positive, not " + metricsInterval);
    }
  }

  /** Without {@code metrics-interval}: datapath metrics off (tests that do not look at them). */
  public GatewaySettings(String wireguardBackend, String hostNetns, String hostInterface, String netnsPrefix,
      int peerKeepaliveSeconds, int bulkThreshold, Duration coalesce, Duration resyncInterval, Duration retryInterval,
      Duration viewGrace, Duration peerHold, Duration peerDigestExpiry, int snapshotEvery, Duration commandTimeout,
      boolean probeEnabled, String probeBind, int probePort, Duration drainDelay, Duration verifyCache) {
    this(wireguardBackend, hostNetns, hostInterface, netnsPrefix, peerKeepaliveSeconds, bulkThreshold, coalesce, resyncInterval,
        retryInterval, viewGrace, peerHold, peerDigestExpiry, snapshotEvery, commandTimeout, probeEnabled, probeBind, probePort,
        drainDelay, verifyCache, Duration.ZERO, "");
  }

  /** A copy with {@code metrics-interval} set. */
  public GatewaySettings withMetricsInterval(Duration value) {
    return new GatewaySettings(wireguardBackend, hostNetns, hostInterface, netnsPrefix, peerKeepaliveSeconds, bulkThreshold,
        coalesce, resyncInterval, retryInterval, viewGrace, peerHold, peerDigestExpiry, snapshotEvery, commandTimeout,
        probeEnabled, probeBind, probePort, drainDelay, verifyCache, value, netnsHolder);
  }

  /** Reads {@code egress.gateway} from the full configuration. */
  public static GatewaySettings from(Config root) {
    Config c = root.getConfig("egress.gateway");
    return new GatewaySettings(
        c.getString("wireguard-backend"),
        c.getString("host-netns"),
        c.getString("host-interface"),
        c.getString("netns-prefix"),
        (int) c.getDuration("peer-keepalive").toSeconds(),
        c.getInt("bulk-threshold"),
        c.getDuration("coalesce"),
        c.getDuration("resync-interval"),
        c.getDuration("retry-interval"),
        c.getDuration("view-grace"),
        c.getDuration("peer-hold"),
        c.getDuration("peer-digest-expiry"),
        c.getInt("snapshot-every"),
        c.getDuration("command-timeout"),
        c.getBoolean("probe.enabled"),
        c.getString("probe.bind"),
        c.getInt("probe.port"),
        c.getDuration("probe.drain-delay"),
        c.getDuration("probe.verify-cache"),
        c.getDuration("metrics-interval"),
        c.getString("netns-holder"));
  }

  private static void requirePositive(String key, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException("egress.gateway." + key + " must be positive, not " + d);
    }
  }
}
