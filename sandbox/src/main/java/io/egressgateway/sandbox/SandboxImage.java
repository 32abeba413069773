package io.egressgateway.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * The product image {@code ./egress image} built, as its {@code target/image/kube-egress-gateway-<tag>.properties}
 * describes it: reference ({@code localhost/kube-egress-gateway:<tag>}), repository, tag, id and size.
 */
record SandboxImage(String image, String repository, String tag, String id, long bytes) {

  /** The tag the sandbox installs unless told otherwise: property {@code egress.image.tag}, else the project version. */
  static String defaultTag() {
    String tag = System.getProperty("egress.image.tag", "");
    if (!tag.isBlank()) {
      return tag;
    }
    String version = SandboxImage.class.getPackage().getImplementationVersion();
    return version == null ? "0.1.0-SNAPSHOT" : version;
  }

  /** The description of image {@code tag} under {@code root}/target/image, if it was built. */
  static Optional<SandboxImage> find(Path root, String tag) {
    Path props = root.resolve("target/image/kube-egress-gateway-" + tag + ".properties");
    if (!Files.isRegularFile(props)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(props)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Optional.of(new SandboxImage(p.getProperty("image"), p.getProperty("name"), p.getProperty("tag"),
        p.getProperty("id", ""), Long.parseLong(p.getProperty("bytes", "0").trim())));
  }

  /** The repository root (property {@code egress.root}, default: the working directory). */
  static Path root() {
    return Path.of(System.getProperty("egress.root", ".")).toAbsolutePath().normalize();
  }
}
