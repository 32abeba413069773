package io.egressgateway.pod.e2e;

import io.egressgateway.cni.CniPlugin;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Puts the real plugin (jar + launcher) into a CNI bin directory, from the jar or the reactor's classes. */
final class PluginInstall {
  private PluginInstall() {}

  static Path into(Path bin) throws IOException {
    Files.createDirectories(bin);
    Path source;
    try {
      source = Path.of(CniPlugin.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    Path jar = bin.resolve("kube-egress-cni.jar");
    if (Files.isRegularFile(source)) {
      Files.copy(source, jar, StandardCopyOption.REPLACE_EXISTING);
    } else {
      Manifest mf = new Manifest();
      mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
      mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, CniPlugin.class.getName());
      try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf); var files = Files.walk(source)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          out.putNextEntry(new JarEntry(source.relativize(f).toString()));
          Files.copy(f, out);
          out.closeEntry();
        }
      }
    }
    Path launcher = bin.resolve("kube-egress-cni");
    try (InputStream in = CniPlugin.launcher(); OutputStream out = Files.newOutputStream(launcher)) {
      in.transferTo(out);
    }
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    return launcher;
  }
}
