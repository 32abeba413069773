package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.egressgateway.gateway.model.PeerSyncPlanner.Add;
import io.egressgateway.gateway.model.PeerSyncPlanner.Change;
import io.egressgateway.gateway.model.PeerSyncPlanner.Claim;
import io.egressgateway.gateway.model.PeerSyncPlanner.Digest;
import io.egressgateway.gateway.model.PeerSyncPlanner.Held;
import io.egressgateway.gateway.model.PeerSyncPlanner.Remove;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** How a gateway's peers of one config follow a worker node's list of its live tunnels, case by case. */
class PeerSyncPlannerTest {
  static final String W1 = "w1";
  static final String W2 = "w2";
  static final String IP1 = "10.244.1.1/32";
  static final String IP2 = "10.244.1.2/32";

  static Held held(String ip, String node, long seq) {
    return new Held(ip, node == null ? null : new PeerOwner(node, seq));
  }

  static Map<String, Held> heldOf(Object... keyAndHeld) {
    Map<String, Held> m = new LinkedHashMap<>();
    for (int i = 0; i < keyAndHeld.length; i += 2) {
      m.put((String) keyAndHeld[i], (Held) keyAndHeld[i + 1]);
    }
    return m;
  }

  static Arguments row(String name, Map<String, Held> held, String node, Digest digest, Set<String> removed, List<Change> want) {
    return Arguments.of(name, held, node, digest, removed, want);
  }

  static Stream<Arguments> digests() {
    PeerOwner w1at10 = new PeerOwner(W1, 10);
    return Stream.of(
        row("in step: nothing to do",
            heldOf("k1", held(IP1, W1, 5)), W1, new Digest(10, Map.of("k1", IP1)), Set.of(), List.of()),
        row("missing (an addition this gateway missed): added, owned by the node",
            heldOf(), W1, new Digest(10, Map.of("k1", IP1)), Set.of(), List.of(new Add("k1", IP1, w1at10))),
        row("stale (a removal this gateway missed): the node owned it and no longer lists it",
            heldOf("k1", held(IP1, W1, 5), "k2", held(IP2, W1, 6)), W1, new Digest(10, Map.of("k2", IP2)), Set.of(),
            List.of(new Remove("k1", "no longer among node w1's tunnels"))),
        row("an empty list removes all the node's peers",
            heldOf("k1", held(IP1, W1, 5)), W1, new Digest(10, Map.of()), Set.of(),
            List.of(new Remove("k1", "no longer among node w1's tunnels"))),
        row("rotated key for the same pod IP: the old key goes, the new one comes",
            heldOf("old", held(IP1, W1, 5)), W1, new Digest(10, Map.of("new", IP1)), Set.of(),
            List.of(new Remove("old", "pod IP " + IP1 + " now belongs to new (node w1)"), new Add("new", IP1, w1at10))),
        row("a digest older than a recent AddPeer: the fresh peer stays",
            heldOf("fresh", held(IP1, W1, 12)), W1, new Digest(10, Map.of()), Set.of(), List.of()),
        row("a digest older than the pod IP's new sandbox: the old key is not brought back",
            heldOf("fresh", held(IP1, W1, 12)), W1, new Digest(10, Map.of("old", IP1)), Set.of(), List.of()),
        row("a key removed explicitly is not brought back (keys are never reused)",
            heldOf(), W1, new Digest(10, Map.of("gone", IP1)), Set.of("gone"), List.of()),
        row("a peer whose owner was not known is claimed",
            heldOf("k1", held(IP1, null, 0)), W1, new Digest(10, Map.of("k1", IP1)), Set.of(), List.of(new Claim("k1", w1at10))),
        row("a peer whose owner is not known and that is not listed is left alone",
            heldOf("k1", held(IP1, null, 0)), W1, new Digest(10, Map.of()), Set.of(), List.of()),
        row("another node's peers are not this digest's business",
            heldOf("k1", held(IP1, W2, 5)), W1, new Digest(10, Map.of()), Set.of(), List.of()),
        row("a pod IP moved to this node: the other node's key goes",
            heldOf("k1", held(IP1, W2, 5)), W1, new Digest(10, Map.of("k2", IP1)), Set.of(),
            List.of(new Remove("k1", "pod IP " + IP1 + " now belongs to k2 (node w1)"), new Add("k2", IP1, w1at10))),
        row("a peer held as another node's that this node lists: claimed by it",
            heldOf("k1", held(IP1, W2, 5)), W1, new Digest(10, Map.of("k1", IP1)), Set.of(), List.of(new Claim("k1", w1at10))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("digests")
  void followsTheDigest(String name, Map<String, Held> held, String node, Digest digest, Set<String> removed, List<Change> want) {
    assertEquals(want, PeerSyncPlanner.planDigest(held, node, digest, removed::contains), name);
    // what a gateway hands the planner: only the peers the list can concern, from its index
    Map<String, String> peers = new LinkedHashMap<>();
    Map<String, PeerOwner> owners = new LinkedHashMap<>();
    held.forEach((key, h) -> {
      peers.put(key, h.allowedIp());
      if (h.owner() != null) {
        owners.put(key, h.owner());
      }
    });
    PeerBook book = new PeerBook(Map.of("uid", peers), Map.of("uid", owners));
    // a bystander of another node, on an IP of its own, must not change anything
    book = book.withPeer("uid", "bystander", "10.244.9.9/32", new PeerOwner("w9", 1));
    assertEquals(want, PeerSyncPlanner.planDigest(PeerIndex.of(book, "uid").relevantTo(node, digest.peers()), node, digest,
        removed::contains), name + ", over the index");
  }

  static Stream<Arguments> silences() {
    Map<String, Held> held = heldOf("a", held(IP1, W1, 5), "b", held(IP2, W2, 5), "c", held("10.244.1.3/32", null, 0));
    return Stream.of(
        Arguments.of("every node heard from: nothing goes", held, Set.of(W1, W2), List.of()),
        Arguments.of("an expired node's peers go, the others' and those without owner stay", held, Set.of(W2),
            List.of(new Remove("a", "node w1 has not sent its peers for too long"))),
        Arguments.of("no node heard from", held, Set.of(), List.of(new Remove("a", "node w1 has not sent its peers for too long"),
            new Remove("b", "node w2 has not sent its peers for too long"))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("silences")
  void silentNodesLoseTheirPeers(String name, Map<String, Held> held, Set<String> heard, List<Change> want) {
    assertEquals(want, PeerSyncPlanner.planSilent(held, heard::contains), name);
  }
}
