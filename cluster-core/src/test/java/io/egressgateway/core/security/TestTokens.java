package io.egressgateway.core.security;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.Map;

/**
 * A stand-in for the API server's service-account token signer: ServiceAccount tokens as the kubelet projects
 * them into a pod (claims of Kubernetes 1.30: {@code kubernetes.io.node.name}), signed RS256 or ES256, and the
 * JWKS that publishes the key.
 */
final class TestTokens {
  static final String AUDIENCE = "egress-gateway.test";
  static final String WORKER_SA = "system:serviceaccount:egress:keg-worker";

  final String kid;
  final KeyPair keys;
  final boolean ec;

  TestTokens(String kid, boolean ec) throws Exception {
    this.kid = kid;
    this.ec = ec;
    KeyPairGenerator g = KeyPairGenerator.getInstance(ec ? "EC" : "RSA");
    g.initialize(ec ? 256 : 2048);
    this.keys = g.generateKeyPair();
  }

  Map<String, PublicKey> jwksKeys() {
    return NodeProofs.parseJwks(jwks());
  }

  String jwks() {
    Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
    if (ec) {
      ECPublicKey k = (ECPublicKey) keys.getPublic();
      return "{\"keys\":[{\"use\":\"sig\",\"kty\":\"EC\",\"kid\":\"" + kid + "\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"x\":\""
          + b.encodeToString(fixed(k.getW().getAffineX().toByteArray())) + "\",\"y\":\""
          + b.encodeToString(fixed(k.getW().getAffineY().toByteArray())) + "\"}]}";
    }
    RSAPublicKey k = (RSAPublicKey) keys.getPublic();
    return "{\"keys\":[{\"use\":\"sig\",\"kty\":\"RSA\",\"kid\":\"" + kid + "\",\"alg\":\"RS256\",\"n\":\""
        + b.encodeToString(unsigned(k.getModulus().toByteArray())) + "\",\"e\":\""
        + b.encodeToString(unsigned(k.getPublicExponent().toByteArray())) + "\"}]}";
  }

  /** A token of {@code subject} for {@code audience}, bound to a pod on {@code node} (null: no node claim). */
  String token(String subject, String audience, String node, long expEpochSeconds) throws Exception {
    String header = "{\"alg\":\"" + (ec ? "ES256" : "RS256") + "\",\"kid\":\"" + kid + "\"}";
    long now = System.currentTimeMillis() / 1000;
    String kube = "{\"namespace\":\"egress\",\"pod\":{\"name\":\"keg-worker-abcde\",\"uid\":\"p-1\"},"
        + (node == null ? "" : "\"node\":{\"name\":\"" + node + "\",\"uid\":\"n-1\"},")
        + "\"serviceaccount\":{\"name\":\"keg-worker\",\"uid\":\"s-1\"}}";
    String claims = "{\"aud\":[\"" + audience + "\"],\"exp\":" + expEpochSeconds + ",\"iat\":" + now + ",\"nbf\":" + now
        + ",\"iss\":\"https://kubernetes.default.svc.cluster.local\",\"sub\":\"" + subject + "\",\"kubernetes.io\":" + kube + "}";
    Base64.Encoder b = Base64.getUrlEncoder().withoutPadding();
    String signingInput = b.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
        + b.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance(ec ? "SHA256withECDSAinP1363Format" : "SHA256withRSA");
    s.initSign(keys.getPrivate());
    s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + b.encodeToString(s.sign());
  }

  /** A worker's token for {@code node}, valid for an hour. */
  String workerToken(String node) throws Exception {
    return token(WORKER_SA, AUDIENCE, node, System.currentTimeMillis() / 1000 + 3600);
  }

  private static byte[] unsigned(byte[] twos) {
    return twos.length > 1 && twos[0] == 0 ? java.util.Arrays.copyOfRange(twos, 1, twos.length) : twos;
  }

  private static byte[] fixed(byte[] twos) {
    byte[] u = unsigned(twos);
    byte[] out = new byte[32];
    System.arraycopy(u, 0, out, 32 - u.length, u.length);
    return out;
  }
}
