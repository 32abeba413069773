package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ApplyPeersTest {
  /** Records the calls in order; a batch containing {@code poison} fails as a whole, that peer alone too. */
  static final class Recording extends FakeGatewayDatapath {
    final List<String> calls = new ArrayList<>();
    String poison = "";

    @Override
    public synchronized void addPeer(String uid, String publicKey, String allowedIp) {
      calls.add("add " + uid + " " + publicKey);
      if (publicKey.equals(poison)) {
        throw new IllegalStateException("bad key");
      }
    }

    @Override
    public synchronized void addPeers(String uid, LinkedHashMap<String, String> allowedIpByKey) {
      calls.add("batch " + uid + " " + String.join(",", allowedIpByKey.keySet()));
      if (allowedIpByKey.containsKey(poison)) {
        throw new IllegalStateException("bad key in batch");
      }
    }

    @Override
    public synchronized void removePeer(String uid, String publicKey) {
      calls.add("remove " + uid + " " + publicKey);
    }
  }

  static DatapathAction add(String uid, String key) {
    return new DatapathAction.AddPeer(uid, key, "10.244.0.1/32");
  }

  @Test
  void consecutiveAdditionsToOneConfigGoInOneCallInOrderWithRemovals() {
    Recording dp = new Recording();
    Map<String, String> errors = Reconciliation.applyPeers(dp, List.of(add("u1", "a"), add("u1", "b"),
        new DatapathAction.RemovePeer("u1", "c"), add("u1", "d"), add("u2", "e"), add("u2", "f"), add("u1", "g")));
    assertEquals(Map.of(), errors);
    assertEquals(List.of("batch u1 a,b", "remove u1 c", "add u1 d", "batch u2 e,f", "add u1 g"), dp.calls);
  }

  @Test
  void aFailedBatchIsRetriedPeerByPeerSoTheErrorLandsOnTheBadOne() {
    Recording dp = new Recording();
    dp.poison = "b";
    Map<String, String> errors = Reconciliation.applyPeers(dp, List.of(add("u1", "a"), add("u1", "b"), add("u1", "c")));
    assertEquals(List.of("batch u1 a,b,c", "add u1 a", "add u1 b", "add u1 c"), dp.calls);
    assertEquals(1, errors.size());
    assertTrue(errors.get("u1 b").contains("bad key"), errors.toString());
  }
}
