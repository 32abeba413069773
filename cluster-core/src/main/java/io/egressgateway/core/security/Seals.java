package io.egressgateway.core.security;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Signed bytes: a payload with the signer's certificate, the time it was signed and a signature over
 * {@code context}, that time and the payload. The context names what the bytes are (a message's class, a
 * view entry's key), so a signature made for one thing cannot be presented as another.
 *
 * <pre>
 * signed:   0x01 | certLen:int | cert (DER) | signedAt:long (epoch ms) | sigLen:int | signature | payload
 * unsigned: 0x00 | payload        (written and accepted only while egress.security.enforce is off)
 * </pre>
 *
 * <p>Opening checks that the certificate was issued by a trusted CA and is valid now, the signature, and that
 * the bytes are not older than {@code maxAge} (a bound on replays; view entries, which live long, pass
 * {@code null} and are ordered by {@code signedAt} instead). A certificate that passed is cached by its hash.
 */
public final class Seals {
  private static final byte SIGNED = 1;
  private static final byte UNSIGNED = 0;
  private static final int MAX_CERT = 16 * 1024;
  private static final int MAX_SIG = 2 * 1024;

  private final Credentials own;
  private final List<X509Certificate> trusted;
  private final boolean enforce;
  private final Clock clock;
  private final Map<String, Verified> certificates = new ConcurrentHashMap<>();

  /** What an opened seal says: the payload, who signed it, and when. */
  public record Opened(byte[] payload, Principal signer, long signedAt) {}

  private record Verified(X509Certificate cert, Principal principal) {}

  /**
   * @param own     this member's credentials; null when it runs without them (then it writes unsigned bytes)
   * @param enforce whether unsigned bytes and bad signatures are refused
   */
  public Seals(Credentials own, boolean enforce, Clock clock) {
    if (enforce && own == null) {
      throw new IllegalArgumentException("enforcing signatures needs the member's key and certificates");
    }
    this.own = own;
    this.trusted = own == null ? List.of() : own.trusted();
    this.enforce = enforce;
    this.clock = clock;
  }

  public boolean enforcing() {
    return enforce;
  }

  public byte[] seal(String context, byte[] payload) {
    if (own == null) {
      byte[] out = new byte[payload.length + 1];
      out[0] = UNSIGNED;
      System.arraycopy(payload, 0, out, 1, payload.length);
      return out;
    }
    long now = clock.millis();
    byte[] cert = own.certificateDer();
    byte[] sig = own.sign(signedData(context, now, payload));
    return ByteBuffer.allocate(1 + 4 + cert.length + 8 + 4 + sig.length + payload.length)
        .put(SIGNED).putInt(cert.length).put(cert).putLong(now).putInt(sig.length).put(sig).put(payload)
        .array();
  }

  /** Opens {@code bytes} sealed for {@code context}; refuses what is unsigned (when enforcing), forged or too old. */
  public Opened open(String context, String kind, byte[] bytes, Duration maxAge) throws Refused {
    if (bytes.length == 0) {
      throw new Refused(kind, Principal.UNVERIFIED, "empty");
    }
    if (bytes[0] == UNSIGNED) {
      if (enforce) {
        throw new Refused(kind, Principal.UNVERIFIED, "not signed");
      }
      return new Opened(Arrays.copyOfRange(bytes, 1, bytes.length), Principal.UNVERIFIED, 0);
    }
    if (bytes[0] != SIGNED) {
      throw new Refused(kind, Principal.UNVERIFIED, "unknown seal format " + bytes[0]);
    }
    ByteBuffer in = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
    try {
      byte[] cert = chunk(in, MAX_CERT);
      long signedAt = in.getLong();
      byte[] sig = chunk(in, MAX_SIG);
      byte[] payload = new byte[in.remaining()];
      in.get(payload);
      if (!enforce && own == null) {
        // a member without credentials cannot check anything: it takes what it gets (enforce off)
        return new Opened(payload, Principal.UNVERIFIED, signedAt);
      }
      Verified signer = verifiedCertificate(cert, kind);
      Signature s = Signature.getInstance(Credentials.algorithm(signer.cert().getPublicKey().getAlgorithm()));
      s.initVerify(signer.cert().getPublicKey());
      s.update(signedData(context, signedAt, payload));
      if (!s.verify(sig)) {
        throw new Refused(kind, signer.principal(), "bad signature");
      }
      if (maxAge != null && Math.abs(clock.millis() - signedAt) > maxAge.toMillis()) {
        throw new Refused(kind, signer.principal(), "signed " + (clock.millis() - signedAt) + " ms ago, older than " + maxAge);
      }
      return new Opened(payload, signer.principal(), signedAt);
    } catch (java.nio.BufferUnderflowException | GeneralSecurityException | IllegalArgumentException e) {
      throw new Refused(kind, Principal.UNVERIFIED, "unreadable seal: " + e.getMessage());
    }
  }

  private Verified verifiedCertificate(byte[] der, String kind) throws Refused, GeneralSecurityException {
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
    Verified known = certificates.get(hash);
    X509Certificate cert = known != null ? known.cert()
        : (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    Principal principal = known != null ? known.principal() : Principal.of(cert);
    try {
      cert.checkValidity();
    } catch (GeneralSecurityException e) {
      certificates.remove(hash);
      throw new Refused(kind, principal, "certificate not valid now: " + e.getMessage());
    }
    if (known != null) {
      return known;
    }
    if (!issuedByTrusted(cert)) {
      throw new Refused(kind, principal, "certificate not issued by the cluster CA: " + cert.getIssuerX500Principal().getName());
    }
    Verified v = new Verified(cert, principal);
    if (certificates.size() < 1024) {
      certificates.put(hash, v);
    }
    return v;
  }

  private boolean issuedByTrusted(X509Certificate cert) {
    for (X509Certificate ca : trusted) {
      if (!ca.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
        continue;
      }
      try {
        cert.verify(ca.getPublicKey());
        ca.checkValidity();
        return true;
      } catch (GeneralSecurityException e) {
        // try the next CA certificate (during a CA rotation the bundle holds two)
      }
    }
    return false;
  }

  private static byte[] chunk(ByteBuffer in, int max) {
    int len = in.getInt();
    if (len < 0 || len > max || len > in.remaining()) {
      throw new IllegalArgumentException("bad length " + len);
    }
    byte[] out = new byte[len];
    in.get(out);
    return out;
  }

  private static byte[] signedData(String context, long signedAt, byte[] payload) {
    byte[] ctx = context.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(4 + ctx.length + 8 + payload.length)
        .putInt(ctx.length).put(ctx).putLong(signedAt).put(payload).array();
  }
}
