package io.egressgateway.core.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.core.gateway.GatewayNodeProtocol;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Signatures, certificates and the role rules, without a cluster. */
class SealsTest {
  private static final byte[] PAYLOAD = "hello".getBytes(StandardCharsets.UTF_8);
  private static final Duration AGE = Duration.ofMinutes(2);

  private final Seals reader = new Seals(TestCertificates.credentials("gateway"), true, Clock.systemUTC());

  @Test
  void certificatesNameTheirRoleAndNode() {
    assertEquals(new Principal(Set.of("controller"), Optional.empty(), "CN=egress member"),
        TestCertificates.credentials("controller").principal());
    assertEquals(Optional.of("w1"), TestCertificates.credentials("worker-w1").principal().node());
    assertEquals(Set.of("worker"), TestCertificates.credentials("worker").principal().roles());
    assertTrue(TestCertificates.credentials("controller").toString().contains("redacted"));
  }

  @Test
  void aSealOpensForItsContextOnly() throws Refused {
    byte[] sealed = new Seals(TestCertificates.credentials("controller"), true, Clock.systemUTC()).seal("a", PAYLOAD);
    Seals.Opened opened = reader.open("a", "Test", sealed, AGE);
    assertArrayEquals(PAYLOAD, opened.payload());
    assertTrue(opened.signer().hasRole("controller"));
    assertEquals("bad signature", assertThrows(Refused.class, () -> reader.open("b", "Test", sealed, AGE)).getMessage());
  }

  @Test
  void changedBytesForeignCertificatesUnsignedAndOldSealsAreRefused() {
    byte[] sealed = new Seals(TestCertificates.credentials("controller"), true, Clock.systemUTC()).seal("a", PAYLOAD);
    sealed[sealed.length - 1] ^= 1;
    assertThrows(Refused.class, () -> reader.open("a", "Test", sealed, AGE));

    byte[] forged = new Seals(TestCertificates.credentials("forged-controller", "other-ca"), true, Clock.systemUTC())
        .seal("a", PAYLOAD);
    assertTrue(assertThrows(Refused.class, () -> reader.open("a", "Test", forged, AGE)).getMessage()
        .contains("not issued by the cluster CA"));

    byte[] unsigned = new Seals(null, false, Clock.systemUTC()).seal("a", PAYLOAD);
    assertEquals("not signed", assertThrows(Refused.class, () -> reader.open("a", "Test", unsigned, AGE)).getMessage());

    Clock past = Clock.fixed(Instant.now().minus(Duration.ofMinutes(10)), ZoneOffset.UTC);
    byte[] old = new Seals(TestCertificates.credentials("controller"), true, past).seal("a", PAYLOAD);
    assertThrows(Refused.class, () -> reader.open("a", "Test", old, AGE));
    assertFalse(assertThrows(Refused.class, () -> reader.open("a", "Test", new byte[] {1, 0, 0}, AGE)).getMessage().isEmpty());
  }

  @Test
  void delegatedSealsOpenLikeCertificateSignedOnesAndAreWrittenOnlyWhenAllowed() throws Refused {
    java.util.concurrent.atomic.AtomicBoolean allowed = new java.util.concurrent.atomic.AtomicBoolean(true);
    Seals writer = new Seals(TestCertificates.credentials("controller"), true, Clock.systemUTC(), allowed::get);
    byte[] sealed = writer.seal("a", PAYLOAD);
    assertEquals(2, sealed[0], "a delegated seal");
    Seals.Opened opened = reader.open("a", "Test", sealed, AGE);
    assertArrayEquals(PAYLOAD, opened.payload());
    assertTrue(opened.signer().hasRole("controller"));
    assertEquals("bad signature", assertThrows(Refused.class, () -> reader.open("b", "Test", sealed, AGE)).getMessage());
    byte[] again = writer.seal("a", PAYLOAD);
    assertArrayEquals(PAYLOAD, reader.open("a", "Test", again, AGE).payload(), "the delegation, cached, still checks the signature");
    again[again.length - 1] ^= 1;
    assertEquals("bad signature", assertThrows(Refused.class, () -> reader.open("a", "Test", again, AGE)).getMessage());

    byte[] kept = writer.sealWithCertificate("a", PAYLOAD);
    assertEquals(1, kept[0], "values kept long are always certificate-signed");
    assertArrayEquals(PAYLOAD, reader.open("a", "Test", kept, AGE).payload());

    allowed.set(false);
    byte[] plain = writer.seal("a", PAYLOAD);
    assertEquals(1, plain[0], "certificate-signed while some reader does not read delegated seals");
    assertArrayEquals(PAYLOAD, reader.open("a", "Test", plain, AGE).payload());
  }

  @Test
  void aMessageKeyTheCertificateDidNotVouchForIsRefused() throws Exception {
    byte[] sealed = new Seals(TestCertificates.credentials("controller"), true, Clock.systemUTC(), () -> true).seal("a", PAYLOAD);
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(sealed, 1, sealed.length - 1);
    int certLen = in.getInt();
    in.position(in.position() + certLen);
    int keyLen = in.getInt();
    int keyAt = in.position();
    // another Ed25519 key in its place: the delegation names the member's own key, not this one
    byte[] otherKey = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic().getEncoded();
    assertEquals(keyLen, otherKey.length);
    byte[] swapped = sealed.clone();
    System.arraycopy(otherKey, 0, swapped, keyAt, keyLen);
    assertEquals("bad message key delegation", assertThrows(Refused.class, () -> reader.open("a", "Test", swapped, AGE)).getMessage());

    // a delegation made by a certificate of another CA
    byte[] foreign = new Seals(TestCertificates.credentials("forged-controller", "other-ca"), true, Clock.systemUTC(), () -> true)
        .seal("a", PAYLOAD);
    assertTrue(assertThrows(Refused.class, () -> reader.open("a", "Test", foreign, AGE)).getMessage()
        .contains("not issued by the cluster CA"));

    // after the certificate's end, what its message key signed is refused as well
    Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(400 * 100)), ZoneOffset.UTC);
    Seals lateReader = new Seals(TestCertificates.credentials("gateway"), true, later);
    assertEquals("message key expired", assertThrows(Refused.class, () -> lateReader.open("a", "Test", sealed, null)).getMessage());
  }

  @Test
  void workersAskOnlyForTheirOwnNodesPods() throws Refused {
    PodCidrs cidrs = new PodCidrs();
    cidrs.put("w1", List.of("10.244.1.0/24", "fd00:1::/64"));
    Authorization auth = new Authorization(Map.of(GatewayNodeProtocol.Command.class.getName(), List.of("controller")), cidrs);
    Principal w1 = TestCertificates.credentials("worker-w1").principal();
    Principal anyWorker = TestCertificates.credentials("worker").principal();
    Principal controller = TestCertificates.credentials("controller").principal();
    Principal rogue = TestCertificates.credentials("rogue").principal();

    auth.check(w1, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.1.7/32", null, "w1", 1));
    auth.check(w1, new GatewayNodeProtocol.PeersOfNode("w1", "u", 1, Map.of("k", "10.244.1.7/32", "l", "fd00:1::7/128")));
    auth.check(w1, new GatewayNodeProtocol.RemovePeer("u", "k", null, "w1"));
    // a certificate for the role, not a node: the node named in the request is taken (see docs/security.md)
    auth.check(anyWorker, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.1.7/32", null, "w1", 1));

    assertThrows(Refused.class, () -> auth.check(w1, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.2.7/32", null, "w1", 1)));
    assertThrows(Refused.class, () -> auth.check(w1, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.1.0/24", null, "w1", 1)));
    assertThrows(Refused.class, () -> auth.check(w1, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.1.7/32", null, "", 1)));
    assertThrows(Refused.class, () -> auth.check(rogue, new GatewayNodeProtocol.AddPeer("u", "k", "10.244.1.7/32", null, "w1", 1)));
    assertThrows(Refused.class, () -> auth.check(controller, new GatewayNodeProtocol.RemovePeer("u", "k", null, "w1")));
    assertThrows(Refused.class, () -> auth.check(w1,
        new GatewayNodeProtocol.PeersOfNode("w1", "u", 1, Map.of("k", "10.244.1.7/32", "l", "10.0.0.1/32"))));
    assertThrows(Refused.class, () -> auth.check(w1, new GatewayNodeProtocol.AddPeer("u", "k", "localhost", null, "w1", 1)));
  }

  @Test
  void beforeTheNodesAreListedAnUnknownNodesRequestIsDroppedUncheckedNotRefused() throws Refused {
    java.util.concurrent.atomic.AtomicBoolean listed = new java.util.concurrent.atomic.AtomicBoolean(false);
    Map<String, List<String>> store = new java.util.concurrent.ConcurrentHashMap<>();
    PodCidrs cidrs = new PodCidrs();
    cidrs.use(node -> store.getOrDefault(node, List.of()), listed::get);
    Authorization auth = new Authorization(Map.of(), cidrs);
    Principal w1 = TestCertificates.credentials("worker-w1").principal();
    var peers = new GatewayNodeProtocol.PeersOfNode("w1", "u", 1, Map.of("k", "10.244.1.7/32"));

    // still filling: nothing known yet says nothing about the sender
    Refused early = assertThrows(Refused.class, () -> auth.check(w1, peers));
    assertTrue(early instanceof Refused.NotYet, early.getMessage());
    // a node already known is checked as ever, listed or not
    store.put("w1", List.of("10.244.1.0/24"));
    auth.check(w1, peers);
    Refused outside = assertThrows(Refused.class, () -> auth.check(w1,
        new GatewayNodeProtocol.AddPeer("u", "k", "10.244.2.7/32", null, "w1", 1)));
    assertFalse(outside instanceof Refused.NotYet, "a known node's CIDRs refuse: " + outside.getMessage());
    // once listed, an unknown node is refused
    store.clear();
    listed.set(true);
    Refused unknown = assertThrows(Refused.class, () -> auth.check(w1, peers));
    assertFalse(unknown instanceof Refused.NotYet, unknown.getMessage());
  }

  @Test
  void beforeAnySourceIsAttachedAnUnknownNodesRequestIsDroppedUncheckedNotRefused() throws Refused {
    // a restarted gateway: remoting is up and workers' peer lists arrive before its wiring starts the Node watch
    PodCidrs cidrs = new PodCidrs();
    Authorization auth = new Authorization(Map.of(), cidrs);
    Principal w1 = TestCertificates.credentials("worker-w1").principal();
    var peers = new GatewayNodeProtocol.PeersOfNode("w1", "u", 1, Map.of("k", "10.244.1.7/32"));
    Refused early = assertThrows(Refused.class, () -> auth.check(w1, peers));
    assertTrue(early instanceof Refused.NotYet, early.getMessage());
    // a fixed table counts as listed: a node missing from it is refused
    cidrs.put("w2", List.of("10.244.2.0/24"));
    Refused unknown = assertThrows(Refused.class, () -> auth.check(w1, peers));
    assertFalse(unknown instanceof Refused.NotYet, unknown.getMessage());
  }

  @Test
  void otherProtectedMessagesFollowTheirClassRule() throws Refused {
    record Status() implements GatewayNodeProtocol.Command {}
    Authorization auth = new Authorization(Map.of(GatewayNodeProtocol.Command.class.getName(), List.of("controller")), new PodCidrs());
    auth.check(TestCertificates.credentials("controller").principal(), new Status());
    assertThrows(Refused.class, () -> auth.check(TestCertificates.credentials("worker").principal(), new Status()));
    assertThrows(Refused.class, () -> auth.check(TestCertificates.credentials("controller").principal(), "not a protected class"));
  }
}
