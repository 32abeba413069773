package io.egressgateway.gateway.entity;

import akka.actor.typed.ActorSystem;
import io.egressgateway.core.metrics.Metrics;
import io.egressgateway.gateway.model.DatapathTotals;

/**
 * The gateway's datapath series on the management port's /metrics. Labels are fixed per family and bounded:
 * {@code config} ({@code namespace/name} of the SGC), {@code node} (this gateway node), {@code ip} (the
 * config's secondary IP on this node, one per config and node), {@code result} (ok, error). Never a pod.
 * The names are listed in docs/metrics.md and used by the chart's Grafana dashboard.
 */
final class DatapathMetrics {
  /**
   * Source ports the kernel's NAT may give connections of one secondary IP to one destination (address,
   * port, protocol): 1024-65535, since our SNAT rule names no port range.
   */
  static final int SNAT_PORTS = 65535 - 1024 + 1;

  /** Bucket bounds of the handshake age: WireGuard re-handshakes every 2 min while traffic flows. */
  static final double[] AGE_BUCKETS = {5, 15, 30, 60, 120, 180, 300, 600, 1800, 3600, 86400};

  private final String node;
  private final Metrics.Gauge peers;
  private final Metrics.Gauge neverHandshaken;
  private final Metrics.Histogram handshakeAge;
  private final Metrics.Counter received;
  private final Metrics.Counter sent;
  private final Metrics.Counter dropped;
  private final Metrics.Gauge snatUsed;
  private final Metrics.Gauge snatAvailable;
  private final Metrics.Counter rounds;

  DatapathMetrics(ActorSystem<?> system, String node) {
    this(Metrics.get(system), node);
  }

  DatapathMetrics(Metrics m, String node) {
    this.node = node;
    peers = m.gauge("egress_gateway_device_peers", "pod peers on the config's WireGuard device on this gateway node",
        "config", "node");
    neverHandshaken = m.gauge("egress_gateway_device_peers_without_handshake",
        "peers on the config's device that never completed a handshake", "config", "node");
    handshakeAge = m.histogram("egress_gateway_handshake_age_seconds",
        "seconds since each peer's latest handshake, observed once per peer at every sample", AGE_BUCKETS, "config", "node");
    received = m.counter("egress_gateway_received_bytes_total",
        "bytes the config's WireGuard device received from pods (encrypted, as WireGuard counts them)", "config", "node");
    sent = m.counter("egress_gateway_sent_bytes_total",
        "bytes the config's WireGuard device sent to pods (encrypted, as WireGuard counts them)", "config", "node");
    dropped = m.counter("egress_gateway_dropped_packets_total",
        "packets the config's namespace dropped (conntrack could not place them, so they would leave un-SNATed)",
        "config", "node");
    snatUsed = m.gauge("egress_gateway_snat_ports_used",
        "connections SNATed to the secondary IP (the namespace's conntrack entries), each holding one source port",
        "config", "node", "ip");
    snatAvailable = m.gauge("egress_gateway_snat_ports_available",
        "source ports SNAT may use for the secondary IP towards one destination (address, port, protocol)",
        "config", "node", "ip");
    rounds = m.counter("egress_gateway_datapath_samples_total",
        "rounds of datapath sampling on this gateway node, by result (ok, error)", "node", "result");
  }

  void publish(String config, String ip, DatapathTotals.Reading r) {
    peers.set(r.peers(), config, node);
    neverHandshaken.set(r.neverHandshaken(), config, node);
    r.handshakeAges().forEach(age -> handshakeAge.observe(age, config, node));
    received.add(r.rxBytes(), config, node);
    sent.add(r.txBytes(), config, node);
    dropped.add(r.droppedPackets(), config, node);
    if (r.conntrackEntries() >= 0) {
      snatUsed.set(r.conntrackEntries(), config, node, ip);
      snatAvailable.set(SNAT_PORTS, config, node, ip);
    }
  }

  /** The config is no longer sampled here: its gauges go (counters and the histogram keep their totals). */
  void forget(String config, String ip) {
    peers.remove(config, node);
    neverHandshaken.remove(config, node);
    snatUsed.remove(config, node, ip);
    snatAvailable.remove(config, node, ip);
  }

  void round(String result) {
    rounds.inc(node, result);
  }
}
