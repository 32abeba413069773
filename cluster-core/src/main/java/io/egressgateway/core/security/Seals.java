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
 * signed:    0x01 | certLen:int | cert (DER) | signedAt:long (epoch ms) | sigLen:int | signature | payload
 * delegated: 0x02 | certLen:int | cert (DER) | keyLen:int | message key (X.509 SubjectPublicKeyInfo, Ed25519)
 *                 | keyNotAfter:long (epoch ms) | delegationLen:int | delegation | signedAt:long | sigLen:int
 *                 | signature | payload
 * unsigned:  0x00 | payload        (written and accepted only while egress.security.enforce is off)
 * </pre>
 *
 * <p>Delegated seals exist for cost: the certificate's key is RSA (what Akka's TLS reads), and an RSA signature
 * costs a member that runs C1 only (the worker) about 8.5 ms of CPU, on the remoting stream that sends the message;
 * an Ed25519 signature about 0.7 ms (docs/benchmarks.md, "Signatures"). So each member makes an Ed25519 message
 * key when it starts, signs it once with its certificate's key (the delegation: the key and its end, the
 * certificate's own), and signs each message with it. A reader checks the certificate and the delegation once
 * (both cached by their hash), then each message's signature with the message key. The key lives in the
 * member's memory only, like the certificate's key it stands for. Readers before delegated seals refuse them, so
 * a member writes them only while {@code delegated} says every member of the cluster reads them
 * ({@link Security}: every member's app version is set); until then, and without it, it writes 0x01.
 *
 * <p>Opening checks that the certificate was issued by a trusted CA and is valid now, the signature, and that
 * the bytes are not older than {@code maxAge} (a bound on replays; view entries, which live long, pass
 * {@code null} and are ordered by {@code signedAt} instead). A certificate that passed is cached by its hash.
 */
public final class Seals {
  private static final byte SIGNED = 1;
  private static final byte DELEGATED = 2;
  private static final byte UNSIGNED = 0;
  private static final String MESSAGE_KEY_ALGORITHM = "Ed25519";
  /** What a delegation's signature is made for: no message can be presented as one. */
  private static final String DELEGATION_CONTEXT = "egress message key/1";
  private static final int MAX_CERT = 16 * 1024;
  private static final int MAX_SIG = 2 * 1024;
  private static final int MAX_KEY = 1024;

  private final Credentials own;
  private final List<X509Certificate> trusted;
  private final boolean enforce;
  private final Clock clock;
  private final Map<String, Verified> certificates = new ConcurrentHashMap<>();
  /** Delegations that passed, by their hash: the message key they vouch for and its end. */
  private final Map<String, Delegated> delegations = new ConcurrentHashMap<>();
  private final java.util.function.BooleanSupplier delegated;
  /** This member's message key and its delegation; null without credentials. */
  private final MessageKey messageKey;

  /** What an opened seal says: the payload, who signed it, and when. */
  public record Opened(byte[] payload, Principal signer, long signedAt) {}

  /** A certificate that checked out, with its SHA-256 (hex): what it signed is checked with {@link #verifier}. */
  private record Verified(X509Certificate cert, Principal principal, String hash) {
    Signature verifier() throws GeneralSecurityException {
      Signature s = Signature.getInstance(Credentials.algorithm(cert.getPublicKey().getAlgorithm()));
      s.initVerify(cert.getPublicKey());
      return s;
    }
  }

  private record Delegated(java.security.PublicKey key, long notAfter) {}

  private record MessageKey(java.security.PrivateKey key, byte[] encoded, long notAfter, byte[] delegation) {}

  /**
   * @param own     this member's credentials; null when it runs without them (then it writes unsigned bytes)
   * @param enforce whether unsigned bytes and bad signatures are refused
   */
  public Seals(Credentials own, boolean enforce, Clock clock) {
    this(own, enforce, clock, () -> false);
  }

  /**
   * @param delegated whether this member may write delegated seals now (every reader reads them); asked at each
   *                  seal, so it must be cheap
   */
  public Seals(Credentials own, boolean enforce, Clock clock, java.util.function.BooleanSupplier delegated) {
    if (enforce && own == null) {
      throw new IllegalArgumentException("enforcing signatures needs the member's key and certificates");
    }
    this.own = own;
    this.trusted = own == null ? List.of() : own.trusted();
    this.enforce = enforce;
    this.clock = clock;
    this.delegated = delegated;
    this.messageKey = own == null ? null : newMessageKey(own);
  }

  private static MessageKey newMessageKey(Credentials own) {
    try {
      java.security.KeyPair pair = java.security.KeyPairGenerator.getInstance(MESSAGE_KEY_ALGORITHM).generateKeyPair();
      byte[] encoded = pair.getPublic().getEncoded();
      long notAfter = own.notAfter();
      return new MessageKey(pair.getPrivate(), encoded, notAfter, own.sign(delegationData(encoded, notAfter)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a message key: " + e.getMessage(), e);
    }
  }

  public boolean enforcing() {
    return enforce;
  }

  /**
   * Seals {@code payload} for {@code context}: delegated while allowed, else with the certificate's key. For
   * messages, which live no longer than {@code max-message-age}.
   */
  public byte[] seal(String context, byte[] payload) {
    return seal(context, payload, true);
  }

  /**
   * Seals {@code payload} with the certificate's key, never delegated: for values kept long (view entries), which
   * a member of an earlier release may have to read even after this one's have gone (a rollback).
   */
  public byte[] sealWithCertificate(String context, byte[] payload) {
    return seal(context, payload, false);
  }

  private byte[] seal(String context, byte[] payload, boolean mayDelegate) {
    if (own == null) {
      byte[] out = new byte[payload.length + 1];
      out[0] = UNSIGNED;
      System.arraycopy(payload, 0, out, 1, payload.length);
      return out;
    }
    long now = clock.millis();
    byte[] cert = own.certificateDer();
    if (mayDelegate && now <= messageKey.notAfter() && delegated.getAsBoolean()) {
      byte[] sig = signWithMessageKey(signedData(context, now, payload));
      byte[] key = messageKey.encoded();
      byte[] delegation = messageKey.delegation();
      return ByteBuffer.allocate(1 + 4 + cert.length + 4 + key.length + 8 + 4 + delegation.length + 8 + 4 + sig.length
              + payload.length)
          .put(DELEGATED).putInt(cert.length).put(cert).putInt(key.length).put(key).putLong(messageKey.notAfter())
          .putInt(delegation.length).put(delegation).putLong(now).putInt(sig.length).put(sig).put(payload)
          .array();
    }
    byte[] sig = own.sign(signedData(context, now, payload));
    return ByteBuffer.allocate(1 + 4 + cert.length + 8 + 4 + sig.length + payload.length)
        .put(SIGNED).putInt(cert.length).put(cert).putLong(now).putInt(sig.length).put(sig).put(payload)
        .array();
  }

  private byte[] signWithMessageKey(byte[] data) {
    try {
      Signature s = Signature.getInstance(MESSAGE_KEY_ALGORITHM);
      s.initSign(messageKey.key());
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the message key: " + e.getMessage(), e);
    }
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
    if (bytes[0] != SIGNED && bytes[0] != DELEGATED) {
      throw new Refused(kind, Principal.UNVERIFIED, "unknown seal format " + bytes[0]);
    }
    boolean viaMessageKey = bytes[0] == DELEGATED;
    ByteBuffer in = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
    try {
      byte[] cert = chunk(in, MAX_CERT);
      byte[] key = viaMessageKey ? chunk(in, MAX_KEY) : null;
      long keyNotAfter = viaMessageKey ? in.getLong() : 0;
      byte[] delegation = viaMessageKey ? chunk(in, MAX_SIG) : null;
      long signedAt = in.getLong();
      byte[] sig = chunk(in, MAX_SIG);
      byte[] payload = new byte[in.remaining()];
      in.get(payload);
      if (!enforce && own == null) {
        // a member without credentials cannot check anything: it takes what it gets (enforce off)
        return new Opened(payload, Principal.UNVERIFIED, signedAt);
      }
      Verified signer = verifiedCertificate(cert, kind);
      Signature s;
      if (viaMessageKey) {
        Delegated d = verifiedDelegation(signer, key, keyNotAfter, delegation, kind);
        if (signedAt > d.notAfter() || clock.millis() > d.notAfter()) {
          throw new Refused(kind, signer.principal(), "message key expired");
        }
        s = Signature.getInstance(MESSAGE_KEY_ALGORITHM);
        s.initVerify(d.key());
      } else {
        s = signer.verifier();
      }
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
    Verified v = new Verified(cert, principal, hash);
    if (certificates.size() < 1024) {
      certificates.put(hash, v);
    }
    return v;
  }

  /** The message key a delegation vouches for, once its signature by {@code signer}'s certificate checked out. */
  private Delegated verifiedDelegation(Verified signer, byte[] key, long notAfter, byte[] delegation, String kind)
      throws Refused, GeneralSecurityException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    sha.update(signer.hash().getBytes(StandardCharsets.US_ASCII)); // the certificate, hashed once already
    sha.update(key);
    sha.update(ByteBuffer.allocate(8).putLong(notAfter).array());
    sha.update(delegation);
    String hash = HexFormat.of().formatHex(sha.digest());
    Delegated known = delegations.get(hash);
    if (known != null) {
      return known;
    }
    Signature s = signer.verifier();
    s.update(delegationData(key, notAfter));
    if (!s.verify(delegation)) {
      throw new Refused(kind, signer.principal(), "bad message key delegation");
    }
    java.security.PublicKey pub = java.security.KeyFactory.getInstance(MESSAGE_KEY_ALGORITHM)
        .generatePublic(new java.security.spec.X509EncodedKeySpec(key));
    Delegated d = new Delegated(pub, notAfter);
    if (delegations.size() < 1024) {
      delegations.put(hash, d);
    }
    return d;
  }

  private static byte[] delegationData(byte[] key, long notAfter) {
    return signedData(DELEGATION_CONTEXT, notAfter, key);
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
