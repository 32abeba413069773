package io.egressgateway.gateway.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns successive {@link ConfigSample}s of a node's configs into what its metrics add and show, pure.
 *
 * <p>The device's byte counters and the nft drop counters are per peer and per table, and they start again
 * from zero when a peer is re-added or the device or table is made again; the metrics are monotonic
 * counters per config. So each sample is compared with the previous one: a counter that grew adds its
 * growth, one that is new or went down (made again) adds its whole value. The first sample of a config is
 * only a baseline (it adds nothing): after a restart of the sampler the counters of the metrics registry
 * already hold what came before, and adding the devices' totals again would count it twice. What a peer
 * received between the last sample and its removal is not counted (at most one interval's worth).
 *
 * @param bytes previous counters per config uid: peer public key to {rx, tx}
 * @param drops previous drop counter per config uid
 */
public record DatapathTotals(Map<String, Map<String, long[]>> bytes, Map<String, Long> drops) {
  public static final DatapathTotals EMPTY = new DatapathTotals(Map.of(), Map.of());

  /**
   * What one config's sample adds to its counters and shows in its gauges.
   *
   * @param peers           peers on the device
   * @param handshakeAges   seconds since each peer's latest handshake (peers that completed one)
   * @param neverHandshaken peers that never completed a handshake
   * @param rxBytes         bytes received since the previous sample (0 for a baseline)
   * @param txBytes         bytes sent since the previous sample
   * @param droppedPackets  packets dropped since the previous sample
   * @param conntrackEntries the namespace's conntrack entries, -1 when unknown
   */
  public record Reading(String uid, int peers, List<Long> handshakeAges, int neverHandshaken, long rxBytes, long txBytes,
      long droppedPackets, long conntrackEntries) {
    public Reading {
      handshakeAges = List.copyOf(handshakeAges);
    }
  }

  /** The readings of one round and the totals to compare the next round with. */
  public record Step(DatapathTotals next, Map<String, Reading> readings) {}

  /**
   * One round: {@code samples} by config uid, taken at {@code nowEpochSeconds}. Configs missing from the
   * round are forgotten (a config that comes back is a baseline again).
   */
  public Step advance(Map<String, ConfigSample> samples, long nowEpochSeconds) {
    return advance(samples, java.util.Set.of(), nowEpochSeconds);
  }

  /**
   * As {@link #advance(Map, long)}, but the configs in {@code unread} (that could not be read this round)
   * keep their previous counters, so the next round that reads them adds what they did meanwhile.
   */
  public Step advance(Map<String, ConfigSample> samples, java.util.Set<String> unread, long nowEpochSeconds) {
    Map<String, Map<String, long[]>> nextBytes = new HashMap<>();
    Map<String, Long> nextDrops = new HashMap<>();
    for (String uid : unread) {
      if (bytes.containsKey(uid) && !samples.containsKey(uid)) {
        nextBytes.put(uid, bytes.get(uid));
        if (drops.containsKey(uid)) {
          nextDrops.put(uid, drops.get(uid));
        }
      }
    }
    Map<String, Reading> readings = new HashMap<>();
    samples.forEach((uid, s) -> {
      Map<String, long[]> before = bytes.get(uid);
      Map<String, long[]> now = new HashMap<>();
      long rx = 0;
      long tx = 0;
      List<Long> ages = new ArrayList<>();
      int never = 0;
      for (ConfigSample.Peer p : s.peers()) {
        now.put(p.publicKey(), new long[] {p.rxBytes(), p.txBytes()});
        if (before != null) {
          long[] prev = before.get(p.publicKey());
          rx += growth(prev == null ? -1 : prev[0], p.rxBytes());
          tx += growth(prev == null ? -1 : prev[1], p.txBytes());
        }
        if (p.latestHandshake() > 0) {
          ages.add(Math.max(0, nowEpochSeconds - p.latestHandshake()));
        } else {
          never++;
        }
      }
      nextBytes.put(uid, Map.copyOf(now));
      long dropped = 0;
      if (s.droppedPackets() >= 0) {
        Long prev = drops.get(uid);
        dropped = before == null || prev == null ? 0 : growth(prev, s.droppedPackets());
        nextDrops.put(uid, s.droppedPackets());
      }
      readings.put(uid, new Reading(uid, s.peers().size(), ages, never, rx, tx, dropped, s.conntrackEntries()));
    });
    return new Step(new DatapathTotals(Map.copyOf(nextBytes), Map.copyOf(nextDrops)), Map.copyOf(readings));
  }

  /** What a counter added since {@code previous} (-1: not seen before, so all of it). */
  static long growth(long previous, long current) {
    if (current < 0) {
      return 0;
    }
    return previous < 0 || current < previous ? current : current - previous;
  }
}
