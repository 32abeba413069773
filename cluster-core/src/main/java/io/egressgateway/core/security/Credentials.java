package io.egressgateway.core.security;

import akka.pki.pem.DERPrivateKeyLoader;
import akka.pki.pem.PEMDecoder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * This member's signing identity: the private key and certificate of its role (the same PEM files its TLS
 * uses) and the CA certificates it trusts. Never logged: {@link #toString} names the subject only.
 */
public final class Credentials {
  private final PrivateKey key;
  private final X509Certificate certificate;
  private final byte[] certificateDer;
  private final List<X509Certificate> trusted;

  private Credentials(PrivateKey key, X509Certificate certificate, List<X509Certificate> trusted) {
    this.key = key;
    this.certificate = certificate;
    this.trusted = List.copyOf(trusted);
    try {
      this.certificateDer = certificate.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("unreadable certificate", e);
    }
  }

  /** Reads PEM files: the key (PKCS#1 or PKCS#8), its certificate, the CA certificate(s). */
  public static Credentials load(Path keyFile, Path certFile, Path caFile) {
    try {
      PrivateKey key = DERPrivateKeyLoader.load(PEMDecoder.decode(Files.readString(keyFile)));
      List<X509Certificate> certs = certificates(Files.readAllBytes(certFile));
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("no certificate in " + certFile);
      }
      List<X509Certificate> cas = certificates(Files.readAllBytes(caFile));
      if (cas.isEmpty()) {
        throw new IllegalArgumentException("no CA certificate in " + caFile);
      }
      return new Credentials(key, certs.get(0), cas);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot read the member's key and certificates: " + e.getMessage(), e);
    }
  }

  static List<X509Certificate> certificates(byte[] pem) throws GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  public Principal principal() {
    return Principal.of(certificate);
  }

  public List<X509Certificate> trusted() {
    return trusted;
  }

  byte[] certificateDer() {
    return certificateDer;
  }

  /** When the certificate ends (epoch ms): what it signs for this member ends then too. */
  long notAfter() {
    return certificate.getNotAfter().getTime();
  }

  byte[] sign(byte[] data) {
    try {
      Signature s = Signature.getInstance(algorithm(key.getAlgorithm()));
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the member key: " + e.getMessage(), e);
    }
  }

  static String algorithm(String keyAlgorithm) {
    return switch (keyAlgorithm) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new IllegalArgumentException("unsupported key algorithm " + keyAlgorithm);
    };
  }

  @Override
  public String toString() {
    return "Credentials[" + certificate.getSubjectX500Principal().getName() + ", key redacted]";
  }
}
