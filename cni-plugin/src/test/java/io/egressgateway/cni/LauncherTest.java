package io.egressgateway.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher script as a runtime execs it: jar beside it, java found, CNI errors when something is missing. */
class LauncherTest {
  @TempDir Path dir;

  /** Installs launcher + a jar built from the compiled classes into {@code bin}. */
  static Path installInto(Path bin) throws IOException {
    Files.createDirectories(bin);
    Path classes = Path.of(CniPlugin.class.getProtectionDomain().getCodeSource().getLocation().getPath());
    Manifest mf = new Manifest();
    mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, CniPlugin.class.getName());
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(bin.resolve("kube-egress-cni.jar")), mf);
        var files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        jar.putNextEntry(new JarEntry(classes.relativize(f).toString()));
        Files.copy(f, jar);
        jar.closeEntry();
      }
    }
    Path launcher = bin.resolve("kube-egress-cni");
    try (InputStream in = CniPlugin.launcher(); OutputStream out = Files.newOutputStream(launcher)) {
      in.transferTo(out);
    }
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
    return launcher;
  }

  private static String[] exec(Path launcher, Map<String, String> env, String stdin) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(launcher.toString());
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return new String[] {Integer.toString(p.waitFor()), out, err};
  }

  @Test
  void launcherFindsJavaWithoutPathAndAnswersVersion() throws Exception {
    Path launcher = installInto(dir.resolve("bin"));
    Map<String, String> env = Map.of("CNI_COMMAND", "VERSION", "PATH", "/usr/bin:/bin",
        "JAVA_HOME", System.getProperty("java.home"));
    String[] r = exec(launcher, env, "{\"cniVersion\":\"1.0.0\"}");
    assertEquals("0", r[0], Arrays.toString(r));
    assertTrue(r[1].contains("\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]"), r[1]);
  }

  @Test
  void installCopiesJarAndExecutableLauncherThatWork() throws Exception {
    installInto(dir.resolve("build"));
    Path target = dir.resolve("opt/cni/bin");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        dir.resolve("build/kube-egress-cni.jar").toString(), "install", target.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(Files.isExecutable(target.resolve("kube-egress-cni")));
    assertTrue(Files.isRegularFile(target.resolve("kube-egress-cni.jar")));
    String[] r = exec(target.resolve("kube-egress-cni"), Map.of("CNI_COMMAND", "VERSION", "PATH", "/usr/bin:/bin"), "{}");
    assertEquals("0", r[0], Arrays.toString(r));
    assertTrue(r[1].contains("supportedVersions"), r[1]);
  }

  @Test
  void launcherWithoutJarPrintsCniErrorButDelSucceeds() throws Exception {
    Path launcher = installInto(dir.resolve("bin"));
    Files.delete(dir.resolve("bin/kube-egress-cni.jar"));
    String[] add = exec(launcher, Map.of("CNI_COMMAND", "ADD", "PATH", "/usr/bin:/bin"), "{}");
    assertEquals("1", add[0]);
    assertTrue(add[1].startsWith("{\"cniVersion\":\"1.0.0\",\"code\":5"), add[1]);
    String[] del = exec(launcher, Map.of("CNI_COMMAND", "DEL", "PATH", "/usr/bin:/bin"), "{}");
    assertEquals("0", del[0], Arrays.toString(del));
  }

  @Test
  void launcherRunsAddAgainstAnAgent() throws Exception {
    Path launcher = installInto(dir.resolve("bin"));
    Path sock = dir.resolve("a.sock");
    try (FakeAgent agent = new FakeAgent(sock, req -> "{\"result\":{\"cniVersion\":\"1.0.0\",\"ips\":[]}}")) {
      String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\"" + sock
          + "\",\"prevResult\":{\"cniVersion\":\"1.0.0\"}}";
      Map<String, String> env = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c1", "CNI_NETNS", "/proc/1/ns/net",
          "CNI_IFNAME", "eth0", "PATH", "/usr/bin:/bin", "JAVA_HOME", System.getProperty("java.home"));
      List<Long> nanos = new java.util.ArrayList<>();
      String[] r = null;
      for (int k = 0; k < 5; k++) {
        long t0 = System.nanoTime();
        r = exec(launcher, env, conf);
        nanos.add(System.nanoTime() - t0);
      }
      assertEquals("0", r[0], Arrays.toString(r));
      assertEquals("{\"cniVersion\":\"1.0.0\",\"ips\":[]}", r[1]);
      assertEquals(5, agent.requests.size());
      System.out.printf("kube-egress-cni ADD via launcher (JVM start included), 5 runs, ms: %s%n",
          nanos.stream().map(n -> String.format("%.0f", n / 1e6)).toList());
    }
  }
}
