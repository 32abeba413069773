package io.egressgateway.azure.infra;

import com.typesafe.config.Config;
import java.time.Duration;

/** {@code egress.azure.*}, validated once. */
public record AzureSettings(Duration coalesceWindow, Duration resyncInterval, Duration backoffMin, Duration backoffMax,
                            Duration rejectedRetry, Duration transientDeadline, int maxRoundsPerReconcile, int probePort, int portMin, int portMax, int defaultPrefixLength,
                            int maxIpConfigurationsPerNic) {
  /** Azure's limit of IP configurations on one network interface. */
  public static final int AZURE_NIC_IP_CONFIGURATIONS = 256;

  public AzureSettings {
    if (maxIpConfigurationsPerNic < 2 || maxIpConfigurationsPerNic > AZURE_NIC_IP_CONFIGURATIONS) {
      throw new IllegalArgumentException("egress.azure.max-ip-configurations-per-nic must be 2.." + AZURE_NIC_IP_CONFIGURATIONS
          + " (the primary and at least one configuration), got " + maxIpConfigurationsPerNic);
    }
    if (defaultPrefixLength < 1 || defaultPrefixLength > 31) {
      throw new IllegalArgumentException("egress.azure.default-prefix-length must be 1..31, got " + defaultPrefixLength);
    }
    if (portMin < 1 || portMax > 65535 || portMin > portMax) {
      throw new IllegalArgumentException("egress.azure ports: need 1 <= port-min <= port-max <= 65535, got " + portMin + ".." + portMax);
    }
    if (probePort < 1 || probePort > 65535) {
      throw new IllegalArgumentException("egress.azure.probe-port out of range: " + probePort);
    }
    if (backoffMin.isNegative() || backoffMin.isZero() || backoffMax.compareTo(backoffMin) < 0) {
      throw new IllegalArgumentException("egress.azure backoff: need 0 < backoff-min <= backoff-max");
    }
    if (maxRoundsPerReconcile < 1) {
      throw new IllegalArgumentException("egress.azure.max-rounds-per-reconcile must be >= 1");
    }
  }

  /** With Azure's own limit of IP configurations per NIC. */
  public AzureSettings(Duration coalesceWindow, Duration resyncInterval, Duration backoffMin, Duration backoffMax,
      Duration rejectedRetry, Duration transientDeadline, int maxRoundsPerReconcile, int probePort, int portMin, int portMax,
      int defaultPrefixLength) {
    this(coalesceWindow, resyncInterval, backoffMin, backoffMax, rejectedRetry, transientDeadline, maxRoundsPerReconcile,
        probePort, portMin, portMax, defaultPrefixLength, AZURE_NIC_IP_CONFIGURATIONS);
  }

  /** The same settings with other WireGuard ports and another limit of IP configurations per NIC. */
  public AzureSettings withCapacity(int ports0, int ports1, int ipConfigurationsPerNic) {
    return new AzureSettings(coalesceWindow, resyncInterval, backoffMin, backoffMax, rejectedRetry, transientDeadline,
        maxRoundsPerReconcile, probePort, ports0, ports1, defaultPrefixLength, ipConfigurationsPerNic);
  }

  /** How many configurations a pool can hold: one WireGuard port each, one secondary IP on every NIC each. */
  public int maxConfigs() {
    return Math.min(portMax - portMin + 1, maxIpConfigurationsPerNic - 1);
  }

  public static AzureSettings from(Config root) {
    Config c = root.getConfig("egress.azure");
    return new AzureSettings(c.getDuration("coalesce-window"), c.getDuration("resync-interval"), c.getDuration("backoff-min"),
        c.getDuration("backoff-max"), c.getDuration("rejected-retry"), c.getDuration("transient-deadline"), c.getInt("max-rounds-per-reconcile"), c.getInt("probe-port"),
        c.getInt("port-min"), c.getInt("port-max"), c.getInt("default-prefix-length"),
        c.getInt("max-ip-configurations-per-nic"));
  }
}
