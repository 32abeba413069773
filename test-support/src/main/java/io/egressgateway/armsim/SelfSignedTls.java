package io.egressgateway.armsim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throw-away self-signed certificate for 127.0.0.1/localhost, made with the JDK's keytool at start, and
 * the two SSL contexts that go with it: one for the server, one for clients that must trust it.
 */
public final class SelfSignedTls {
  private static final char[] PASSWORD = "armsim".toCharArray();

  private final SSLContext serverContext;
  private final SSLContext clientContext;
  private final X509Certificate certificate;
  private final KeyStore trustStore;

  private SelfSignedTls(SSLContext serverContext, SSLContext clientContext, X509Certificate certificate, KeyStore trustStore) {
    this.serverContext = serverContext;
    this.clientContext = clientContext;
    this.certificate = certificate;
    this.trustStore = trustStore;
  }

  /** Generates a fresh EC key pair and certificate; takes about half a second (one keytool run). */
  public static SelfSignedTls generate() {
    return generate(List.of());
  }

  /** The same, for 127.0.0.1, localhost and {@code extraIps}. */
  public static SelfSignedTls generate(List<String> extraIps) {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("armsim-tls");
      Path ks = dir.resolve("server.p12");
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      Process p = new ProcessBuilder(List.of(keytool, "-genkeypair", "-alias", "armsim", "-keyalg", "EC",
              "-groupname", "secp256r1", "-dname", "CN=armsim", "-validity", "7",
              "-ext", "san=ip:127.0.0.1,dns:localhost" + extraIps.stream().map(ip -> ",ip:" + ip).collect(java.util.stream.Collectors.joining()),
              "-storetype", "PKCS12",
              "-keystore", ks.toString(), "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD)))
          .redirectErrorStream(true).start();
      String out;
      try (InputStream in = p.getInputStream()) {
        out = new String(in.readAllBytes());
      }
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + out);
      }
      KeyStore keyStore = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(ks)) {
        keyStore.load(in, PASSWORD);
      }
      X509Certificate cert = (X509Certificate) keyStore.getCertificate("armsim");

      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keyStore, PASSWORD);
      SSLContext server = SSLContext.getInstance("TLS");
      server.init(kmf.getKeyManagers(), null, null);

      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("armsim", cert);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext client = SSLContext.getInstance("TLS");
      client.init(null, tmf.getTrustManagers(), null);
      return new SelfSignedTls(server, client, cert, trust);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while generating the certificate", e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot generate a self-signed certificate: " + e.getMessage(), e);
    } finally {
      deleteQuietly(dir);
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException ignored) {
      // a temp directory left behind is harmless
    }
  }

  public SSLContext serverContext() {
    return serverContext;
  }

  /** An SSL context whose only trusted certificate is this one. */
  public SSLContext clientContext() {
    return clientContext;
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public KeyStore trustStore() {
    return trustStore;
  }
}
