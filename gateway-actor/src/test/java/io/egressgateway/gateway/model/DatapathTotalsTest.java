package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatapathTotalsTest {
  static final long NOW = 1_700_000_000L;

  static ConfigSample.Peer peer(String key, long handshake, long rx, long tx) {
    return new ConfigSample.Peer(key, handshake, rx, tx);
  }

  static Map<String, ConfigSample> round(String uid, long dropped, ConfigSample.Peer... peers) {
    return Map.of(uid, new ConfigSample(uid, List.of(peers), dropped, 7));
  }

  @Test
  void firstSampleOfAConfigIsABaselineButShowsItsGauges() {
    DatapathTotals.Step s = DatapathTotals.EMPTY.advance(round("a", 5, peer("k1", NOW - 10, 1000, 2000), peer("k2", 0, 0, 148)), NOW);
    DatapathTotals.Reading r = s.readings().get("a");
    assertEquals(new DatapathTotals.Reading("a", 2, List.of(10L), 1, 0, 0, 0, 7), r);
  }

  @Test
  void countersAddTheirGrowth() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", 5, peer("k1", NOW - 10, 1000, 2000)), NOW).next();
    DatapathTotals.Reading r = t.advance(round("a", 9, peer("k1", NOW - 1, 1500, 2600)), NOW + 15).readings().get("a");
    assertEquals(500, r.rxBytes());
    assertEquals(600, r.txBytes());
    assertEquals(4, r.droppedPackets());
    assertEquals(List.of(16L), r.handshakeAges());
  }

  @Test
  void aNewPeerInAKnownConfigCountsAllItsBytes() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", 0, peer("k1", 0, 100, 100)), NOW).next();
    DatapathTotals.Reading r = t.advance(round("a", 0, peer("k1", 0, 100, 100), peer("k2", NOW, 300, 40)), NOW).readings().get("a");
    assertEquals(300, r.rxBytes());
    assertEquals(40, r.txBytes());
    assertEquals(2, r.peers());
  }

  @Test
  void aCounterThatWentDownWasMadeAgainAndCountsWhole() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", 50, peer("k1", 0, 10_000, 10_000)), NOW).next();
    DatapathTotals.Reading r = t.advance(round("a", 3, peer("k1", 0, 200, 100)), NOW).readings().get("a");
    assertEquals(200, r.rxBytes());
    assertEquals(100, r.txBytes());
    assertEquals(3, r.droppedPackets(), "the table was made again");
  }

  @Test
  void aConfigMissingFromARoundIsForgottenAndComesBackAsABaseline() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", 1, peer("k1", 0, 10, 10)), NOW).next();
    DatapathTotals gone = t.advance(Map.of(), NOW).next();
    assertFalse(gone.bytes().containsKey("a"));
    DatapathTotals.Reading back = gone.advance(round("a", 20, peer("k1", 0, 999, 999)), NOW).readings().get("a");
    assertEquals(0, back.rxBytes());
    assertEquals(0, back.droppedPackets());
  }

  @Test
  void unreadableDropsAddNothingAndAClockBehindTheHandshakeIsAgeZero() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", -1, peer("k1", NOW + 5, 0, 0)), NOW).next();
    DatapathTotals.Reading r = t.advance(round("a", -1, peer("k1", NOW + 5, 0, 0)), NOW).readings().get("a");
    assertEquals(0, r.droppedPackets());
    assertEquals(List.of(0L), r.handshakeAges());
  }

  @Test
  void aConfigThatCouldNotBeReadKeepsItsBaselineForTheNextRound() {
    DatapathTotals t = DatapathTotals.EMPTY.advance(round("a", 2, peer("k1", 0, 100, 100)), NOW).next();
    DatapathTotals.Step unread = t.advance(Map.of(), java.util.Set.of("a"), NOW);
    assertFalse(unread.readings().containsKey("a"));
    DatapathTotals.Reading r = unread.next().advance(round("a", 5, peer("k1", 0, 400, 150)), NOW).readings().get("a");
    assertEquals(300, r.rxBytes(), "what it did while unread is counted");
    assertEquals(50, r.txBytes());
    assertEquals(3, r.droppedPackets());
  }

  @Test
  void growthTable() {
    assertEquals(5, DatapathTotals.growth(-1, 5));
    assertEquals(3, DatapathTotals.growth(2, 5));
    assertEquals(0, DatapathTotals.growth(5, 5));
    assertEquals(4, DatapathTotals.growth(9, 4));
    assertEquals(0, DatapathTotals.growth(9, -1));
  }
}
