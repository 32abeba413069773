package io.egressgateway.azure.infra;

import com.typesafe.config.Config;
import java.time.Duration;

/** {@code egress.azure.*}, validated once. */
public record AzureSettings(Duration coalesceWindow, Duration resyncInterval, Duration backoffMin, Duration backoffMax,
                            Duration rejectedRetry, Duration transientDeadline, int maxRoundsPerReconcile, int probePort, int portMin, int portMax, int defaultPrefixLength) {
  public AzureSettings {
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

  public static AzureSettings from(Config root) {
    Config c = root.getConfig("egress.azure");
    return new AzureSettings(c.getDuration("coalesce-window"), c.getDuration("resync-interval"), c.getDuration("backoff-min"),
        c.getDuration("backoff-max"), c.getDuration("rejected-retry"), c.getDuration("transient-deadline"), c.getInt("max-rounds-per-reconcile"), c.getInt("probe-port"),
        c.getInt("port-min"), c.getInt("port-max"), c.getInt("default-prefix-length"));
  }
}
