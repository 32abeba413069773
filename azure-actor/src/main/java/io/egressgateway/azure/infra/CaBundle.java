package io.egressgateway.azure.infra;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * TLS trust for Azure's endpoints: the JVM's CAs plus the certificates of a PEM bundle, for a cloud whose
 * Resource Manager or sign-in endpoint has a certificate of a private CA (Azure Stack Hub, air-gapped
 * clouds). A server is trusted when either set vouches for it.
 */
public final class CaBundle {
  private CaBundle() {}

  /** An SSL context trusting the JVM's CAs and every certificate in {@code pemBundle}. */
  public static SSLContext sslContext(Path pemBundle) {
    try {
      List<X509Certificate> extra = read(pemBundle);
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      for (int i = 0; i < extra.size(); i++) {
        ks.setCertificateEntry("bundle-" + i, extra.get(i));
      }
      X509TrustManager bundle = x509(ks);
      X509TrustManager jvm = x509(null);
      X509TrustManager both = new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
          jvm.checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
          try {
            bundle.checkServerTrusted(chain, authType);
          } catch (java.security.cert.CertificateException notByTheBundle) {
            jvm.checkServerTrusted(chain, authType);
          }
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
          List<X509Certificate> all = new ArrayList<>(List.of(jvm.getAcceptedIssuers()));
          all.addAll(extra);
          return all.toArray(X509Certificate[]::new);
        }
      };
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new TrustManager[] {both}, null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot use the CA bundle " + pemBundle + ": " + e.getMessage(), e);
    }
  }

  /** The certificates of a PEM file; fails when it holds none. */
  static List<X509Certificate> read(Path pem) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> certs;
    try (InputStream in = Files.newInputStream(pem)) {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    List<X509Certificate> out = new ArrayList<>();
    certs.forEach(c -> out.add((X509Certificate) c));
    if (out.isEmpty()) {
      throw new GeneralSecurityException("no certificate in " + pem);
    }
    return out;
  }

  private static X509TrustManager x509(KeyStore ks) throws GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }
}
