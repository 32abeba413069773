package io.egressgateway.core.security;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks {@link NodeProof}s offline: the token's signature against the API server's service-account signing
 * keys (its JWKS, {@code /openid/v1/jwks}, given with {@link #useKeys}), its audience, subject (the workers'
 * ServiceAccount), validity period, and reads the node it names. A token that passed is remembered by its hash
 * until it expires, so a worker's steady stream of requests costs one signature check per token.
 *
 * <p>Required ({@code egress.security.node-proof.required}): a worker whose certificate names no node must
 * show a proof, and may then ask only for its proven node; otherwise proofs are not looked at.
 */
public final class NodeProofs {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SKEW_MS = 60_000;
  private static final int MAX_TOKEN = 16 * 1024;
  private static final int MAX_REMEMBERED = 4096;

  private final boolean required;
  private final String audience;
  private final Set<String> subjects;
  private final Clock clock;
  private volatile Map<String, PublicKey> keys = Map.of();
  private volatile Runnable onUnknownKey = () -> {};
  private final Map<String, Passed> passed = new ConcurrentHashMap<>();

  private record Passed(String node, long expiresAtMs) {}

  /**
   * @param audience the audience the tokens must be issued for
   * @param subjects the ServiceAccounts ({@code system:serviceaccount:<ns>:<name>}) whose tokens count
   */
  public NodeProofs(boolean required, String audience, List<String> subjects, Clock clock) {
    if (required && (audience == null || audience.isBlank() || subjects == null || subjects.isEmpty())) {
      throw new IllegalArgumentException("egress.security.node-proof: required needs an audience and the workers' ServiceAccount subjects");
    }
    this.required = required;
    this.audience = audience;
    this.subjects = subjects == null ? Set.of() : Set.copyOf(subjects);
    this.clock = clock;
  }

  public boolean required() {
    return required;
  }

  /** The signing keys by key id (from {@link #parseJwks}); replaces the previous ones. */
  public void useKeys(Map<String, PublicKey> byKid) {
    this.keys = Map.copyOf(byKid);
  }

  /** Called (without blocking) when a token names a key not known: a key rotation, time to fetch the keys again. */
  public void onUnknownKey(Runnable refresh) {
    this.onUnknownKey = refresh;
  }

  /** The node {@code proof} names, if it is genuine and meant for us; otherwise says why not. */
  public String nodeOf(NodeProof proof) {
    if (proof == null || proof.token() == null || proof.token().isEmpty()) {
      throw new IllegalArgumentException("no node proof");
    }
    String token = proof.token();
    if (token.length() > MAX_TOKEN) {
      throw new IllegalArgumentException("node proof too long");
    }
    long now = clock.millis();
    String hash = sha256(token);
    Passed known = passed.get(hash);
    if (known != null && known.expiresAtMs() > now - SKEW_MS) {
      return known.node();
    }
    Passed p = verify(token, now);
    if (passed.size() >= MAX_REMEMBERED) {
      passed.values().removeIf(x -> x.expiresAtMs() <= now - SKEW_MS);
      if (passed.size() >= MAX_REMEMBERED) {
        passed.clear();
      }
    }
    passed.put(hash, p);
    return p.node();
  }

  private Passed verify(String token, long now) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException("node proof is not a signed JWT");
    }
    JsonNode header = json(parts[0]);
    JsonNode claims = json(parts[1]);
    String alg = header.path("alg").asText("");
    String kid = header.path("kid").asText("");
    PublicKey key = keys.get(kid);
    if (key == null) {
      onUnknownKey.run();
      throw new IllegalArgumentException("node proof signed with unknown key '" + kid + "'");
    }
    byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
    byte[] signed = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
    try {
      Signature s;
      if (alg.equals("RS256") && key.getAlgorithm().equals("RSA")) {
        s = Signature.getInstance("SHA256withRSA");
      } else if (alg.equals("ES256") && key.getAlgorithm().equals("EC") && sig.length == 64) {
        s = Signature.getInstance("SHA256withECDSA");
        sig = derOfConcatenated(sig);
      } else {
        throw new IllegalArgumentException("node proof algorithm '" + alg + "' does not fit key '" + kid + "'");
      }
      s.initVerify(key);
      s.update(signed);
      if (!s.verify(sig)) {
        throw new IllegalArgumentException("node proof has a bad signature");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("node proof signature unreadable: " + e.getMessage());
    }
    JsonNode aud = claims.path("aud");
    boolean forUs = aud.isTextual() ? aud.asText().equals(audience)
        : aud.isArray() && java.util.stream.StreamSupport.stream(aud.spliterator(), false).anyMatch(a -> audience.equals(a.asText()));
    if (!forUs) {
      throw new IllegalArgumentException("node proof is not for audience " + audience);
    }
    String sub = claims.path("sub").asText("");
    if (!subjects.contains(sub)) {
      throw new IllegalArgumentException("node proof is of " + sub + ", not of a worker");
    }
    long exp = claims.path("exp").asLong(0) * 1000;
    long nbf = claims.path("nbf").asLong(0) * 1000;
    if (exp <= now - SKEW_MS) {
      throw new IllegalArgumentException("node proof expired");
    }
    if (nbf > now + SKEW_MS) {
      throw new IllegalArgumentException("node proof not valid yet");
    }
    String node = claims.path("kubernetes.io").path("node").path("name").asText("");
    if (node.isEmpty()) {
      throw new IllegalArgumentException("node proof names no node (Kubernetes before 1.30, or a token not bound to a pod)");
    }
    return new Passed(node, exp);
  }

  /** The RSA and P-256 keys of a JWKS document, by key id; other keys are skipped. */
  public static Map<String, PublicKey> parseJwks(String jwks) {
    Map<String, PublicKey> out = new HashMap<>();
    try {
      for (JsonNode k : JSON.readTree(jwks).path("keys")) {
        String kid = k.path("kid").asText("");
        if (kid.isEmpty()) {
          continue;
        }
        Base64.Decoder d = Base64.getUrlDecoder();
        if (k.path("kty").asText().equals("RSA")) {
          out.put(kid, KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(
              new BigInteger(1, d.decode(k.path("n").asText())), new BigInteger(1, d.decode(k.path("e").asText())))));
        } else if (k.path("kty").asText().equals("EC") && k.path("crv").asText().equals("P-256")) {
          AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
          params.init(new ECGenParameterSpec("secp256r1"));
          ECPoint w = new ECPoint(new BigInteger(1, d.decode(k.path("x").asText())), new BigInteger(1, d.decode(k.path("y").asText())));
          out.put(kid, KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, params.getParameterSpec(ECParameterSpec.class))));
        }
      }
    } catch (java.io.IOException | GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException("unreadable JWKS: " + e.getMessage(), e);
    }
    return out;
  }

  private static JsonNode json(String part) {
    try {
      JsonNode n = JSON.readTree(Base64.getUrlDecoder().decode(part));
      if (n == null || !n.isObject()) {
        throw new IllegalArgumentException("node proof part is not a JSON object");
      }
      return n;
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException("node proof unreadable: " + e.getMessage());
    }
  }

  /** JWS ES256 signatures are r || s (32 bytes each); the JDK verifies DER. */
  static byte[] derOfConcatenated(byte[] rs) {
    byte[] r = integer(java.util.Arrays.copyOfRange(rs, 0, 32));
    byte[] s = integer(java.util.Arrays.copyOfRange(rs, 32, 64));
    byte[] out = new byte[2 + r.length + s.length];
    out[0] = 0x30;
    out[1] = (byte) (r.length + s.length);
    System.arraycopy(r, 0, out, 2, r.length);
    System.arraycopy(s, 0, out, 2 + r.length, s.length);
    return out;
  }

  private static byte[] integer(byte[] unsigned) {
    byte[] v = new BigInteger(1, unsigned).toByteArray();
    byte[] out = new byte[2 + v.length];
    out[0] = 0x02;
    out[1] = (byte) v.length;
    System.arraycopy(v, 0, out, 2, v.length);
    return out;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
