package io.egressgateway.kube.infra;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Objects;

/**
 * {@code egress.kube-bridge.*}, read once and validated.
 *
 * @param namespace     release namespace: GatewayStatus objects live here (and the key Secrets of releases before
 *                      the key namespace, which the controllers move, see {@code Fabric8SgcApi})
 * @param resync        how often full snapshots are re-sent to the entities
 * @param azureTimeout  longest wait for one answer of the Azure side
 * @param retryMin      first retry delay after a failed reconcile (doubles up to retryMax)
 * @param writerBatch   how long PodEndpoint/GatewayStatus writers gather changes before writing
 * @param maxPeersPerGatewayStatus  bound on peers listed in one GatewayStatus (etcd object size)
 * @param queryPlugin   persistence query plugin used to find orphaned GatewayConfig entities at start; "" = off
 * @param prefixGrantsEnforced  whether an SGC may name a bring-your-own prefix only with an EgressPrefixGrant for
 *                      its namespace (off: any namespace may use any prefix, as in the Go original)
 * @param policiesEnabled  whether the controllers watch EgressGatewayPolicies (and Namespaces, for their selectors)
 *                      and publish them to the nodes
 * @param keyNamespace  the namespace of the gateway key Secrets ({@code sgw-<uid>}), which holds nothing else, so the
 *                      gateways' right to read Secrets there reaches only those keys; default {@code <namespace>-keys}
 */
public record KubeBridgeSettings(
    String namespace,
    Duration resync,
    Duration azureTimeout,
    Duration retryMin,
    Duration retryMax,
    Duration writerBatch,
    int maxPeersPerGatewayStatus,
    String queryPlugin,
    boolean prefixGrantsEnforced,
    boolean policiesEnabled,
    String keyNamespace) {
  /** What a namespace name may be (a DNS label). */
  private static final java.util.regex.Pattern DNS_LABEL = java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  public KubeBridgeSettings(String namespace, Duration resync, Duration azureTimeout, Duration retryMin, Duration retryMax,
      Duration writerBatch, int maxPeersPerGatewayStatus, String queryPlugin) {
    this(namespace, resync, azureTimeout, retryMin, retryMax, writerBatch, maxPeersPerGatewayStatus, queryPlugin, false, true, "");
  }

  /** The key namespace that goes with release namespace {@code namespace} when none is configured. */
  public static String defaultKeyNamespace(String namespace) {
    return namespace + "-keys";
  }

  public KubeBridgeSettings {
    Objects.requireNonNull(namespace, "namespace");
    if (namespace.isBlank()) {
      throw new IllegalArgumentException("egress.kube-bridge.namespace must not be empty");
    }
    requirePositive("resync", resync);
    requirePositive("azure-timeout", azureTimeout);
    requirePositive("retry-min", retryMin);
    requirePositive("writer-batch", writerBatch);
    if (retryMax.compareTo(retryMin) < 0) {
      throw new IllegalArgumentException("egress.kube-bridge.retry-max must be >= retry-min");
    }
    queryPlugin = queryPlugin == null ? "" : queryPlugin;
    if (maxPeersPerGatewayStatus < 1) {
      throw new IllegalArgumentException("egress.kube-bridge.max-peers-per-gateway-status must be >= 1");
    }
    keyNamespace = keyNamespace == null || keyNamespace.isBlank() ? defaultKeyNamespace(namespace) : keyNamespace.trim();
    if (!DNS_LABEL.matcher(keyNamespace).matches()) {
      throw new IllegalArgumentException("egress.kube-bridge.key-namespace '" + keyNamespace + "' is not a namespace name"
          + " (a DNS label of at most 63 characters); set it (chart value gatewayKeys.namespace)");
    }
  }

  public static KubeBridgeSettings fromConfig(Config root) {
    Config c = root.getConfig("egress.kube-bridge");
    String ns = c.getString("namespace");
    if (ns.isEmpty()) {
      ns = System.getenv().getOrDefault("MY_POD_NAMESPACE", "kube-egress-gateway-system");
    }
    return new KubeBridgeSettings(ns, c.getDuration("resync"), c.getDuration("azure-timeout"),
        c.getDuration("retry-min"), c.getDuration("retry-max"), c.getDuration("writer-batch"),
        c.getInt("max-peers-per-gateway-status"), c.getString("orphan-query-plugin"),
        c.getBoolean("prefix-grants.enforce"), c.getBoolean("policies.enabled"), c.getString("key-namespace"));
  }

  /** Whether the key Secrets have a namespace of their own (then any left in the release namespace are moved). */
  public boolean separateKeyNamespace() {
    return !keyNamespace.equals(namespace);
  }

  /** With release namespace {@code value}; a key namespace that was the default follows it. */
  public KubeBridgeSettings withNamespace(String value) {
    String keys = keyNamespace.equals(defaultKeyNamespace(namespace)) ? defaultKeyNamespace(value) : keyNamespace;
    return new KubeBridgeSettings(value, resync, azureTimeout, retryMin, retryMax, writerBatch, maxPeersPerGatewayStatus,
        queryPlugin, prefixGrantsEnforced, policiesEnabled, keys);
  }

  public KubeBridgeSettings withKeyNamespace(String value) {
    return new KubeBridgeSettings(namespace, resync, azureTimeout, retryMin, retryMax, writerBatch, maxPeersPerGatewayStatus,
        queryPlugin, prefixGrantsEnforced, policiesEnabled, value);
  }

  public KubeBridgeSettings withPrefixGrantsEnforced(boolean value) {
    return new KubeBridgeSettings(namespace, resync, azureTimeout, retryMin, retryMax, writerBatch, maxPeersPerGatewayStatus,
        queryPlugin, value, policiesEnabled, keyNamespace);
  }

  public KubeBridgeSettings withPoliciesEnabled(boolean value) {
    return new KubeBridgeSettings(namespace, resync, azureTimeout, retryMin, retryMax, writerBatch, maxPeersPerGatewayStatus,
        queryPlugin, prefixGrantsEnforced, value, keyNamespace);
  }

  private static void requirePositive(String name, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("egress.kube-bridge." + name + " must be a positive duration");
    }
  }
}
