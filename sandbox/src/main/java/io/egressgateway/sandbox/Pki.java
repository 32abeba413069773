package io.egressgateway.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Certificates for a run, made with the openssl command in a directory only root reads. */
final class Pki {
  /** A key pair's files: the certificate and key (PEM). */
  record Pair(Path cert, Path key) {
    String certPem() {
      return read(cert);
    }

    String keyPem() {
      return read(key);
    }
  }

  private final Path dir;

  Pki(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PodVolumes.perms(0700));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A self-signed CA named {@code cn}, valid for a week. */
  Pair ca(String name, String cn) {
    Pair p = new Pair(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
    Sh.must("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", p.key().toString(), "-out", p.cert().toString(), "-days", "7", "-subj", "/CN=" + cn,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    return p;
  }

  /**
   * A certificate for {@code cn} signed by {@code ca}, with {@code extensions} (openssl extension lines, such
   * as {@code subjectAltName=IP:10.0.0.1}); an RSA key in PKCS#1 form when {@code rsa} (what Helm's
   * {@code genSignedCert} makes), else an EC key.
   */
  Pair signed(String name, Pair ca, String cn, List<String> extensions, boolean rsa) {
    Pair p = new Pair(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
    Path csr = dir.resolve(name + ".csr");
    Path ext = dir.resolve(name + ".ext");
    if (rsa) {
      Sh.must("openssl", "genrsa", "-traditional", "-out", p.key().toString(), "2048");
      Sh.must("openssl", "req", "-new", "-key", p.key().toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
    } else {
      Sh.must("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", p.key().toString(), "-out", csr.toString(), "-subj", "/CN=" + cn);
    }
    try {
      Files.writeString(ext, String.join("\n", extensions) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Sh.must("openssl", "x509", "-req", "-in", csr.toString(), "-CA", ca.cert().toString(), "-CAkey", ca.key().toString(),
        "-CAcreateserial", "-days", "7", "-out", p.cert().toString(), "-extfile", ext.toString());
    return p;
  }

  private static String read(Path f) {
    try {
      return Files.readString(f);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
