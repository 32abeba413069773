package io.egressgateway.core.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Node proofs as the gateways check them: genuine RS256 and ES256 tokens pass; everything else says why not. */
class NodeProofsTest {
  private final NodeProofs proofs = new NodeProofs(true, TestTokens.AUDIENCE, List.of(TestTokens.WORKER_SA), Clock.systemUTC());

  private String refusal(String token) {
    return assertThrows(IllegalArgumentException.class, () -> proofs.nodeOf(new NodeProof(token))).getMessage();
  }

  @Test
  void genuineTokensOfBothSigningAlgorithmsNameTheirNode() throws Exception {
    TestTokens rsa = new TestTokens("rsa-1", false);
    TestTokens ec = new TestTokens("ec-1", true);
    Map<String, java.security.PublicKey> keys = new HashMap<>(rsa.jwksKeys());
    keys.putAll(ec.jwksKeys());
    proofs.useKeys(keys);
    assertEquals("aks-node-1", proofs.nodeOf(new NodeProof(rsa.workerToken("aks-node-1"))));
    assertEquals("aks-node-2", proofs.nodeOf(new NodeProof(ec.workerToken("aks-node-2"))));
  }

  @Test
  void forgedStrangeOrMisdirectedTokensAreRefused() throws Exception {
    TestTokens api = new TestTokens("k1", false);
    TestTokens other = new TestTokens("k1", false);
    proofs.useKeys(api.jwksKeys());
    long hour = System.currentTimeMillis() / 1000 + 3600;
    assertTrue(refusal(other.workerToken("n1")).contains("bad signature"));
    assertTrue(refusal(api.token(TestTokens.WORKER_SA, "https://kubernetes.default.svc", "n1", hour)).contains("audience"));
    assertTrue(refusal(api.token("system:serviceaccount:egress:keg-gateway", TestTokens.AUDIENCE, "n1", hour)).contains("not of a worker"));
    assertTrue(refusal(api.token(TestTokens.WORKER_SA, TestTokens.AUDIENCE, "n1", hour - 3 * 3600)).contains("expired"));
    assertTrue(refusal(api.token(TestTokens.WORKER_SA, TestTokens.AUDIENCE, null, hour)).contains("names no node"));
    // a payload swapped under a genuine signature
    String[] a = api.workerToken("n1").split("\\.");
    String[] b = api.workerToken("n2").split("\\.");
    assertTrue(refusal(a[0] + "." + b[1] + "." + a[2]).contains("bad signature"));
    assertTrue(refusal("not-a-jwt").contains("not a signed JWT"));
    assertTrue(refusal("e30.e30.").contains("unknown key"));
    assertTrue(refusal("").contains("no node proof"));
    assertFalse(new NodeProof("secret.token.value").toString().contains("secret"), "never in logs");
  }

  @Test
  void aTokenOfAKeyNotYetKnownAsksForTheKeysAndPassesOnceTheyCame() throws Exception {
    TestTokens rotated = new TestTokens("k2", true);
    AtomicInteger asked = new AtomicInteger();
    proofs.onUnknownKey(asked::incrementAndGet);
    String token = rotated.workerToken("n1");
    assertTrue(refusal(token).contains("unknown key 'k2'"));
    assertEquals(1, asked.get());
    proofs.useKeys(rotated.jwksKeys());
    assertEquals("n1", proofs.nodeOf(new NodeProof(token)));
    // remembered: even with the keys gone again, the same token is not checked twice
    proofs.useKeys(Map.of());
    assertEquals("n1", proofs.nodeOf(new NodeProof(token)));
  }

  @Test
  void requiredNeedsAnAudienceAndSubjects() {
    assertThrows(IllegalArgumentException.class, () -> new NodeProofs(true, "", List.of(TestTokens.WORKER_SA), Clock.systemUTC()));
    assertThrows(IllegalArgumentException.class, () -> new NodeProofs(true, "a", List.of(), Clock.systemUTC()));
  }
}
