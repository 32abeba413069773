package io.egressgateway.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train}, the ADD the archiving JVM runs: it must work, print nothing and leave nothing behind. */
class CdsArchiveTest {
  @TempDir Path dir;

  private static List<String> names(Path d) throws IOException {
    try (var s = Files.list(d)) {
      return s.map(f -> f.getFileName().toString()).toList();
    }
  }

  @Test
  void trainRunsAnAddAgainstItsOwnAgentAndRemovesItsSocket() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, CdsArchive.train(dir, new PrintStream(err, true, StandardCharsets.UTF_8)), err.toString());
    assertEquals("", err.toString(StandardCharsets.UTF_8));
    assertEquals(List.of(), names(dir), "no socket or temporary directory left");
  }

  @Test
  void trainFromTheJarPrintsNothingAndLeavesTheTemporaryDirectoryEmpty() throws Exception {
    Path bin = dir.resolve("bin");
    LauncherTest.installInto(bin);
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djava.io.tmpdir=" + tmp, "-XX:-UsePerfData", "-jar", bin.resolve("kube-egress-cni.jar").toString(), "train").start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), err);
    assertEquals("", out, "train prints nothing on stdout");
    assertEquals(List.of(), names(tmp), "no socket or temporary directory left");
  }

  @Test
  void aDirectoryTooDeepForASocketFallsBackToTheTemporaryDirectory() throws Exception {
    Path deep = Files.createDirectories(dir.resolve("d".repeat(60)).resolve("e".repeat(60)));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, CdsArchive.train(deep, new PrintStream(err, true, StandardCharsets.UTF_8)), err.toString());
    assertEquals(List.of(), names(deep));
  }

  @Test
  void archiveFailuresSayWhy() throws Exception {
    Path jar = dir.resolve("kube-egress-cni.jar");
    CdsArchive.Failure noJar = org.junit.jupiter.api.Assertions.assertThrows(CdsArchive.Failure.class,
        () -> CdsArchive.create(jar, dir.resolve("kube-egress-cni.jsa")));
    assertTrue(noJar.getMessage().contains("no jar at " + jar), noJar.getMessage());

    // a "jar" the JVM cannot run: the archiving JVM fails and its output is in the message
    Files.writeString(jar, "not a jar");
    CdsArchive.Failure bad = org.junit.jupiter.api.Assertions.assertThrows(CdsArchive.Failure.class,
        () -> CdsArchive.create(jar, dir.resolve("kube-egress-cni.jsa")));
    assertTrue(bad.getMessage().contains("the archiving JVM exited 1"), bad.getMessage());
    assertTrue(bad.getMessage().contains("kube-egress-cni.jar"), bad.getMessage());
    assertEquals(List.of("kube-egress-cni.jar"), names(dir), "no archive, no temporary files");
  }
}
