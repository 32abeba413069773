package io.egressgateway.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cni.wire.CniWire;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
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
    return exec(launcher, env, stdin, null);
  }

  private static String[] exec(Path launcher, Map<String, String> env, String stdin, Path cwd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(launcher.toString());
    if (cwd != null) {
      pb.directory(cwd.toFile());
    }
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      // a launcher that ends without reading its input (no jar found) may be gone before the write or the close:
      // what it printed and its exit code are what the tests look at
    }
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
    assertTrue(r[1].contains("\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"), r[1]);
  }

  private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

  /** {@code java -jar <build>/kube-egress-cni.jar <args>}, as an operator runs install: exit code and output. */
  private String[] runJar(Map<String, String> env, String... args) throws Exception {
    Path jar = dir.resolve("build/kube-egress-cni.jar");
    if (!Files.exists(jar)) {
      installInto(dir.resolve("build"));
    }
    List<String> cmd = new java.util.ArrayList<>(List.of(JAVA, "-jar", jar.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new String[] {Integer.toString(p.waitFor()), out};
  }

  private static List<String> names(Path d) throws IOException {
    try (var s = Files.list(d)) {
      return s.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void installCopiesJarAndExecutableLauncherThatWork() throws Exception {
    Path target = dir.resolve("opt/cni/bin");
    String[] installed = runJar(Map.of(), "install", target.toString());
    assertEquals("0", installed[0], installed[1]);
    assertTrue(Files.isExecutable(target.resolve("kube-egress-cni")));
    assertTrue(Files.isRegularFile(target.resolve("kube-egress-cni.jar")));
    assertTrue(Files.size(target.resolve("kube-egress-cni.jsa")) > 0, "install made the class data sharing archive");
    assertEquals(List.of("kube-egress-cni", "kube-egress-cni.jar", "kube-egress-cni.jsa"), names(target),
        "no temporary files left");
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
    try (FakeAgent agent = new FakeAgent(sock, req -> CniWire.Answer.ok("{\"cniVersion\":\"1.0.0\",\"ips\":[]}"))) {
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
  private static final String RESULT = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.5/24\"}]}";

  private String addConf(Path sock, String extra) {
    return "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\"" + sock + "\""
        + extra + ",\"prevResult\":" + RESULT + "}";
  }

  private static Map<String, String> addEnv(String command, String... more) {
    Map<String, String> env = new java.util.HashMap<>(Map.of("CNI_COMMAND", command, "CNI_CONTAINERID", "c1",
        "CNI_NETNS", "/proc/1/ns/net", "CNI_IFNAME", "eth0", "PATH", "/usr/bin:/bin", "JAVA_HOME", System.getProperty("java.home")));
    for (int i = 0; i < more.length; i += 2) {
      env.put(more[i], more[i + 1]);
    }
    return env;
  }

  /** One ADD through the launcher, with the JVM's class loading logged to {@code classLog}. */
  private String[] addLogged(Path launcher, Path sock, Path classLog) throws Exception {
    Files.deleteIfExists(classLog);
    return exec(launcher, addEnv("ADD", "JAVA_TOOL_OPTIONS", "-Xlog:class+load=info:file=" + classLog), addConf(sock, ""));
  }

  private static boolean fromArchive(Path classLog) throws IOException {
    return Files.readString(classLog).contains("io.egressgateway.cni.CniPlugin source: shared objects file (top)");
  }

  @Test
  void addThroughTheInstalledLauncherWithTheArchivePresentMissingCorruptOrStale() throws Exception {
    Path bin = dir.resolve("opt/cni/bin");
    String[] installed = runJar(Map.of(), "install", bin.toString());
    assertEquals("0", installed[0], installed[1]);
    Path launcher = bin.resolve("kube-egress-cni");
    Path jsa = bin.resolve("kube-egress-cni.jsa");
    Path classLog = dir.resolve("classes.log");
    Path sock = dir.resolve("a.sock");
    try (FakeAgent agent = new FakeAgent(sock, req -> CniWire.Answer.ok(RESULT))) {
      String[] present = addLogged(launcher, sock, classLog);
      assertEquals("0", present[0], Arrays.toString(present));
      assertEquals(RESULT, present[1]);
      assertTrue(fromArchive(classLog), "the plugin's classes came from the archive");
      String loaded = Files.readString(classLog);
      assertTrue(loaded.contains("io.egressgateway.cni.wire.CniWire source: shared objects file (top)"), "the protocol too");
      // a class spun at run time (a new string concatenation or lambda call site) costs about a millisecond each
      // under -Xint; a frame's path adds none (the ADD spun 11 before CniWire lost its '+' and its lambda)
      long spun = loaded.lines().filter(l -> l.contains("__JVM_LookupDefineClass__")).count();
      assertTrue(spun <= 2, spun + " classes spun at run time:\n" + loaded.lines()
          .filter(l -> l.contains("__JVM_LookupDefineClass__")).collect(java.util.stream.Collectors.joining("\n")));

      // the same archive through a symlink (relative target) into a symlinked directory: still used
      Path other = Files.createSymbolicLink(dir.resolve("elsewhere"), bin);
      Path link = Files.createSymbolicLink(dir.resolve("kube-egress-cni"), Path.of("elsewhere/kube-egress-cni"));
      String[] viaLink = addLogged(link, sock, classLog);
      assertEquals(RESULT, viaLink[1], Arrays.toString(viaLink));
      assertTrue(fromArchive(classLog), "archive used when reached through " + other);

      byte[] good = Files.readAllBytes(jsa);
      Files.delete(jsa);
      String[] missing = addLogged(launcher, sock, classLog);
      assertEquals("0", missing[0], Arrays.toString(missing));
      assertEquals(RESULT, missing[1]);
      assertFalse(fromArchive(classLog));

      byte[] garbage = new byte[good.length];
      new java.util.Random(7).nextBytes(garbage);
      Files.write(jsa, garbage);
      String[] corrupt = addLogged(launcher, sock, classLog);
      assertEquals("0", corrupt[0], Arrays.toString(corrupt));
      assertEquals(RESULT, corrupt[1]);

      // a valid archive for a jar that has changed since: the JVM ignores it and warns, on stderr only
      Files.write(jsa, good);
      Path jar = bin.resolve("kube-egress-cni.jar");
      Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 60_000));
      String[] stale = addLogged(launcher, sock, classLog);
      assertEquals("0", stale[0], Arrays.toString(stale));
      assertEquals(RESULT, stale[1]);
      assertFalse(fromArchive(classLog));
      assertTrue(stale[2].contains("Unable to use shared archive"), stale[2]);
      assertEquals(5, agent.requests.size());
    }
  }

  @Test
  void installWithoutArchiveSupportStillInstallsAWorkingPlugin() throws Exception {
    Path bin = dir.resolve("bin");
    // without a base CDS archive (like a plain jlink runtime) the archiving JVM fails: install says so and succeeds
    String[] installed = runJar(Map.of("JAVA_TOOL_OPTIONS", "-XX:SharedArchiveFile=" + dir.resolve("none.jsa")),
        "install", bin.toString());
    assertEquals("0", installed[0], installed[1]);
    assertTrue(installed[1].contains("no class data sharing archive") && installed[1].contains("works without it"), installed[1]);
    assertTrue(installed[1].contains("java -Xshare:dump"), "the message says what to do: " + installed[1]);
    assertEquals(List.of("kube-egress-cni", "kube-egress-cni.jar"), names(bin), "no archive, no temporary files");
    String[] version = exec(bin.resolve("kube-egress-cni"), Map.of("CNI_COMMAND", "VERSION", "PATH", "/usr/bin:/bin",
        "JAVA_HOME", System.getProperty("java.home")), "{}");
    assertEquals("0", version[0], Arrays.toString(version));
    assertTrue(version[1].contains("supportedVersions"), version[1]);

    String[] nowhere = runJar(Map.of(), "archive", dir.resolve("no/such/dir/kube-egress-cni.jsa").toString());
    assertEquals("1", nowhere[0], nowhere[1]);
    assertTrue(nowhere[1].contains("cannot create a temporary directory"), nowhere[1]);
  }

  @Test
  void archiveModeReplacesAnArchiveAtomicallyAndLeavesNothingElse() throws Exception {
    Path bin = dir.resolve("bin");
    installInto(bin);
    Path jsa = bin.resolve("kube-egress-cni.jsa");
    Files.writeString(jsa, "old");
    Process p = new ProcessBuilder(JAVA, "-jar", bin.resolve("kube-egress-cni.jar").toString(), "archive", jsa.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertEquals("", out, "archive prints nothing when it works");
    assertTrue(Files.size(jsa) > 1000, "the old file was replaced by an archive");
    assertEquals(List.of("kube-egress-cni", "kube-egress-cni.jar", "kube-egress-cni.jsa"), names(bin));
  }

  @Test
  void theJvmRunsInTheJarsDirectoryButARelativeLogFileStaysRelativeToTheCaller() throws Exception {
    Path launcher = installInto(dir.resolve("bin"));
    Path caller = Files.createDirectories(dir.resolve("runtime-cwd"));
    // no agent: DEL fails, succeeds anyway, and logs to logFile
    String[] del = exec(launcher, addEnv("DEL"), addConf(dir.resolve("none.sock"), ",\"logFile\":\"del.log\""), caller);
    assertEquals("0", del[0], Arrays.toString(del));
    assertTrue(Files.readString(caller.resolve("del.log")).contains("DEL ignored error 11"));
    assertFalse(Files.exists(dir.resolve("bin/del.log")));
  }

  @Test
  void launcherAndArchiveUseTheSameJvmFlags() throws Exception {
    String flags = String.join(" ", CdsArchive.RUNTIME_FLAGS);
    String launcher;
    try (InputStream in = CniPlugin.launcher()) {
      launcher = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(launcher.contains("exec \"$java\" " + flags + " \"$@\""), launcher);
    // the chart generates its own launcher for the archive install-cni.sh makes with this jar
    Path chart = Path.of("../charts/kube-egress-gateway/files/install-cni.sh");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(chart), "not in the repository");
    assertTrue(Files.readString(chart).contains(" " + flags + " "), "install-cni.sh's launcher runs java with " + flags);
  }
}
