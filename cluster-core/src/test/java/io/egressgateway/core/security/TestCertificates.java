package io.egressgateway.core.security;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The test certificates under {@code src/test/resources/security} (see generate.sh there). */
public final class TestCertificates {
  private TestCertificates() {}

  public static Path file(String name) {
    try {
      return Path.of(TestCertificates.class.getResource("/security/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("missing test certificate " + name, e);
    }
  }

  public static Credentials credentials(String identity) {
    return credentials(identity, "ca");
  }

  public static Credentials credentials(String identity, String ca) {
    return Credentials.load(file(identity + ".key"), file(identity + ".crt"), file(ca + ".crt"));
  }

  /**
   * A member that signs as {@code identity} and enforces, over mutual TLS with the same key and certificate
   * (Akka's rotating-keys engine reads the PEM files directly).
   */
  public static Config memberConfig(String identity) {
    String key = file(identity + ".key").toString();
    String cert = file(identity + ".crt").toString();
    String ca = file("ca.crt").toString();
    return ConfigFactory.parseString(
            "akka.remote.artery.transport = tls-tcp\n"
                + "akka.remote.artery.ssl.ssl-engine-provider = akka.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider\n"
                + "egress.security.enforce = on\n"
                // the workers' way (C1 only) whatever this JVM's compilers: the cluster tests check delegated seals
                + "egress.security.delegated-seals = on\n")
        .withValue("akka.remote.artery.ssl.rotating-keys-engine.key-file", ConfigValueFactory.fromAnyRef(key))
        .withValue("akka.remote.artery.ssl.rotating-keys-engine.cert-file", ConfigValueFactory.fromAnyRef(cert))
        .withValue("akka.remote.artery.ssl.rotating-keys-engine.ca-cert-file", ConfigValueFactory.fromAnyRef(ca))
        .withValue("egress.security.key-file", ConfigValueFactory.fromAnyRef(key))
        .withValue("egress.security.cert-file", ConfigValueFactory.fromAnyRef(cert))
        .withValue("egress.security.ca-file", ConfigValueFactory.fromAnyRef(ca));
  }
}
