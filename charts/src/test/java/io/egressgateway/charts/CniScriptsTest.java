package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The worker's host-side shell scripts, run for real (sh, jq, curl) against a fake host tree in a temporary
 * directory and a loopback HTTP server standing in for the Kubernetes API.
 */
class CniScriptsTest {

  private static final Path FILES = Chart.DIR.resolve("files");
  private static final JsonMapper JSON = JsonMapper.builder().build();

  @TempDir Path root;
  private Path src;
  private Path bin;
  private Path conf;

  /** The scripts need sh, jq and curl, as the image has them; CI must have them too. */
  @org.junit.jupiter.api.BeforeAll
  static void tools() {
    List<String> missing = Stream.of("sh", "jq", "curl", "sha256sum")
        .filter(t -> Stream.of(System.getenv().getOrDefault("PATH", "").split(":")).noneMatch(d -> Files.isExecutable(Path.of(d, t))))
        .toList();
    if (!missing.isEmpty()) {
      String why = "missing on PATH: " + missing;
      if ("true".equals(System.getenv("CI"))) {
        throw new AssertionError(why);
      }
      org.junit.jupiter.api.Assumptions.abort(why);
    }
  }

  @BeforeEach
  void hostTree() throws IOException {
    src = Files.createDirectories(root.resolve("image/opt/egress/cni"));
    bin = Files.createDirectories(root.resolve("host/opt/cni/bin"));
    conf = Files.createDirectories(root.resolve("host/etc/cni/net.d"));
    Files.writeString(src.resolve("kube-egress-cni.jar"), "jar v1");
    Path java = Files.createDirectories(src.resolve("jre/bin")).resolve("java");
    // stands in for the runtime: prints how and where it was called
    fakeJava("");
  }

  /** The image's jre/bin/java: prints its arguments and working directory, then runs {@code more} (sh). */
  private void fakeJava(String more) throws IOException {
    Path java = src.resolve("jre/bin/java");
    Files.writeString(java, "#!/bin/sh\necho \"java $* (in $(pwd))\"\n" + more);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static final String FLAGS =
      "-XX:+UseSerialGC -Xint -XX:-UsePerfData -Xshare:auto -Xmx32m -Xss512k -Xlog:all=off -Xlog:all=warning:stderr";

  @Test
  void installChainsOntoThePrimaryConflistAndTheLauncherRunsTheInstalledRuntime() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet","mode":"transparent"},{"type":"portmap"}]}""");
    assertEquals(0, install().exit(), "install failed");

    JsonNode chained = JSON.readTree(Files.readString(conf.resolve("01-egressgateway.conflist")));
    assertEquals("azure", chained.get("name").asString());
    assertEquals("0.3.0", chained.get("cniVersion").asString());
    List<String> types = chained.get("plugins").valueStream().map(p -> p.get("type").asString()).toList();
    assertEquals(List.of("azure-vnet", "portmap", "kube-egress-cni"), types);
    assertEquals("/var/run/kube-egress-gateway/cni.sock", chained.get("plugins").get(2).get("socketPath").asString());
    // containerd passes the pod's annotations to a plugin declaring this capability (plain pods while the agent is down)
    assertTrue(chained.get("plugins").get(2).get("capabilities").get("io.kubernetes.cri.pod-annotations").asBoolean(),
        chained.toString());

    Run launched = run(List.of(bin.resolve("kube-egress-cni").toString(), "--probe"), Map.of());
    assertEquals(0, launched.exit());
    // java runs in the plugin's directory, with the jar's bare name (as the class data sharing archive names it)
    assertTrue(launched.out().startsWith("java " + FLAGS + " -Dkube-egress-cni.cwd="), launched.out());
    assertTrue(launched.out().contains(" -jar kube-egress-cni.jar --probe (in " + bin + "/kube-egress-cni.d)"), launched.out());
    assertFalse(launched.out().contains("SharedArchiveFile"), "no archive, no flag: " + launched.out());
    assertEquals("jar v1", Files.readString(bin.resolve("kube-egress-cni.d/kube-egress-cni.jar")));
  }

  @Test
  void installMakesTheClassDataSharingArchivesWithTheBundledRuntimeAndTheLauncherUsesThem() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");
    Files.createDirectories(src.resolve("jre/lib/server"));
    // a runtime that makes what it is asked for: -Xshare:dump the base archive, 'archive <file>' the plugin's
    fakeJava("""
        dump=; prev=
        for a in "$@"; do [ "$a" != -Xshare:dump ] || dump=1; done
        for a in "$@"; do
          case $a in -XX:SharedArchiveFile=*) [ -z "$dump" ] || echo base > "${a#*=}" ;; esac
          [ "$prev" != archive ] || echo plugin > "$a"
          prev=$a
        done
        """);
    Run r = install();
    assertEquals(0, r.exit(), r.out());
    Path d = versionedDirs().get(0);
    assertTrue(r.out().contains("java -XX:+UseSerialGC -XX:-UsePerfData -Xmx32m -jar " + d + "/kube-egress-cni.jar archive "
        + d + "/kube-egress-cni.jsa"), r.out());
    assertEquals("base\n", Files.readString(d.resolve("jre/lib/server/classes.jsa")));
    assertEquals("plugin\n", Files.readString(d.resolve("kube-egress-cni.jsa")));
    assertFalse(Files.exists(d.resolve("jre/lib/server/classes.jsa.new")));

    Run launched = run(List.of(bin.resolve("kube-egress-cni").toString(), "ADD"), Map.of());
    assertEquals(0, launched.exit(), launched.out());
    assertTrue(launched.out().startsWith("java " + FLAGS + " -XX:SharedArchiveFile=kube-egress-cni.jsa -Dkube-egress-cni.cwd="),
        launched.out());
    assertTrue(launched.out().contains(" -jar kube-egress-cni.jar ADD (in " + bin + "/kube-egress-cni.d)"), launched.out());

    Run again = install();
    assertEquals(0, again.exit(), again.out());
    assertFalse(again.out().contains("archive"), "archives already there are kept: " + again.out());
  }

  @Test
  void anArchiveThatCannotBeMadeIsLoggedButTheInstallSucceeds() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");
    fakeJava("exit 1\n");
    Run r = install();
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("cannot make the Java runtime's CDS archive"), r.out());
    assertTrue(r.out().contains("no class data sharing archive for the plugin"), r.out());
    assertTrue(Files.exists(conf.resolve("01-egressgateway.conflist")));
    Path d = versionedDirs().get(0);
    try (Stream<Path> s = Files.walk(d)) {
      assertTrue(s.noneMatch(p -> p.toString().endsWith(".jsa") || p.toString().endsWith(".new")), "no archive, no leftovers");
    }
    Run launched = run(List.of(bin.resolve("kube-egress-cni").toString()), Map.of());
    assertTrue(launched.out().startsWith("java " + FLAGS + " -Dkube-egress-cni.cwd="), launched.out());
  }

  @Test
  void reinstallIsIdempotentAndANewPluginVersionReplacesTheOldRuntime() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");
    assertEquals(0, install().exit());
    String first = Files.readString(conf.resolve("01-egressgateway.conflist"));
    assertEquals(0, install().exit());
    assertEquals(first, Files.readString(conf.resolve("01-egressgateway.conflist")));
    assertEquals(1, versionedDirs().size());

    Files.writeString(src.resolve("kube-egress-cni.jar"), "jar v2");
    assertEquals(0, install().exit());
    assertEquals(1, versionedDirs().size(), "the old runtime is removed");
    assertEquals("jar v2", Files.readString(bin.resolve("kube-egress-cni.d/kube-egress-cni.jar")));
    try (Stream<Path> s = Files.list(bin)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no staging leftovers");
    }
  }

  @Test
  void aSinglePluginConfIsWrappedIntoAConflist() throws Exception {
    Files.writeString(conf.resolve("10-bridge.conf"), """
        {"cniVersion":"0.4.0","name":"k8s","type":"bridge","bridge":"cni0"}""");
    assertEquals(0, install().exit());
    JsonNode chained = JSON.readTree(Files.readString(conf.resolve("01-egressgateway.conflist")));
    assertEquals("k8s", chained.get("name").asString());
    assertEquals("bridge", chained.get("plugins").get(0).get("type").asString());
    assertEquals("cni0", chained.get("plugins").get(0).get("bridge").asString());
    assertFalse(chained.get("plugins").get(0).has("cniVersion"));
    assertEquals("kube-egress-cni", chained.get("plugins").get(1).get("type").asString());
  }

  @Test
  void aBrokenPrimaryConfigFailsClearlyAndLeavesNoConflist() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), "{not json");
    Run r = install();
    assertNotEquals(0, r.exit());
    assertTrue(r.out().contains("cannot chain onto") && r.out().contains("10-azure.conflist"), r.out());
    try (Stream<Path> s = Files.list(conf)) {
      assertEquals(List.of("10-azure.conflist"), s.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void withoutAPrimaryNetworkTheInstallerGivesUpWithAMessage() throws Exception {
    Run r = install();
    assertNotEquals(0, r.exit());
    assertTrue(r.out().contains("no primary CNI config"), r.out());
    assertFalse(Files.exists(conf.resolve("01-egressgateway.conflist")));
  }

  @Test
  void preStopRemovesTheConfigOnlyWhenTheDaemonSetIsGone() throws Exception {
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");
    assertEquals(0, install().exit());
    Path sa = Files.createDirectories(root.resolve("sa"));
    Files.writeString(sa.resolve("token"), "t0ken");
    Files.writeString(sa.resolve("ca.crt"), "");

    Map<String, Integer> answer = new HashMap<>(Map.of("code", 200));
    Map<String, String> seen = new HashMap<>();
    HttpServer api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext("/", ex -> {
      seen.put("path", ex.getRequestURI().getPath());
      seen.put("auth", ex.getRequestHeaders().getFirst("Authorization"));
      byte[] body = "{\"metadata\":{\"name\":\"w\"}}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(answer.get("code"), body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    api.start();
    try {
      Map<String, String> env = Map.of("KUBERNETES_API", "http://127.0.0.1:" + api.getAddress().getPort(),
          "SERVICE_ACCOUNT_DIR", sa.toString(), "NAMESPACE", "egress-ns", "WORKER_DAEMONSET", "egress-worker",
          "CNI_BIN_DIR", bin.toString(), "CNI_CONF_DIR", conf.toString(), "REMOVE_SETTLE_SECONDS", "0");
      List<String> cmd = List.of("sh", FILES.resolve("remove-cni.sh").toString());

      assertEquals(0, run(cmd, env).exit());
      assertEquals("/apis/apps/v1/namespaces/egress-ns/daemonsets/egress-worker", seen.get("path"));
      assertEquals("Bearer t0ken", seen.get("auth"));
      assertTrue(Files.exists(conf.resolve("01-egressgateway.conflist")), "a rollout keeps the config");

      answer.put("code", 500);
      assertEquals(0, run(cmd, env).exit());
      assertTrue(Files.exists(conf.resolve("01-egressgateway.conflist")), "an unclear answer keeps the config");

      answer.put("code", 404);
      assertEquals(0, run(cmd, env).exit());
      assertFalse(Files.exists(conf.resolve("01-egressgateway.conflist")));
      assertFalse(Files.exists(bin.resolve("kube-egress-cni")));
      assertTrue(versionedDirs().isEmpty());
      assertTrue(Files.exists(conf.resolve("10-azure.conflist")), "the primary network is untouched");
    } finally {
      api.stop(0);
    }
  }

  @Test
  void watchModeRechainsAChangedPrimaryButNeverRecreatesARemovedConflist() throws Exception {
    Path primary = conf.resolve("10-azure.conflist");
    Files.writeString(primary, """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");
    assertEquals(0, install().exit());
    Path ours = conf.resolve("01-egressgateway.conflist");
    Map<String, String> watchOnce = Map.of("CNI_CONF_DIR", conf.toString(), "CNI_WATCH_SECONDS", "1", "CNI_WATCH_ROUNDS", "1");
    List<String> cmd = List.of("sh", FILES.resolve("install-cni.sh").toString());

    String before = Files.readString(ours);
    assertEquals(0, run(cmd, watchOnce).exit());
    assertEquals(before, Files.readString(ours), "nothing changed, nothing written");

    Files.writeString(primary, """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"},{"type":"tuning"}]}""");
    Run r = run(cmd, watchOnce);
    assertEquals(0, r.exit(), r.out());
    List<String> types = JSON.readTree(Files.readString(ours)).get("plugins").valueStream()
        .map(p -> p.get("type").asString()).toList();
    assertEquals(List.of("azure-vnet", "tuning", "kube-egress-cni"), types);

    Files.writeString(primary, "{broken");
    assertEquals(0, run(cmd, watchOnce).exit());
    assertEquals(types, JSON.readTree(Files.readString(ours)).get("plugins").valueStream()
        .map(p -> p.get("type").asString()).toList(), "a broken primary leaves the last good chain");

    Files.delete(ours);
    assertEquals(0, run(cmd, watchOnce).exit());
    assertFalse(Files.exists(ours), "after the uninstall hook removed it, the watcher does not bring it back");
  }

  private List<Path> versionedDirs() throws IOException {
    try (Stream<Path> s = Files.list(bin)) {
      return s.filter(p -> p.getFileName().toString().matches("kube-egress-cni-[0-9a-f]+\\.d")).toList();
    }
  }

  private Run install() throws Exception {
    return run(List.of("sh", FILES.resolve("install-cni.sh").toString()), Map.of(
        "CNI_SOURCE", src.toString(), "CNI_BIN_DIR", bin.toString(), "CNI_CONF_DIR", conf.toString(),
        "CNI_HOST_BIN_DIR", bin.toString(), "CNI_WAIT_SECONDS", "0"));
  }

  private record Run(int exit, String out) {}

  private static Run run(List<String> command, Map<String, String> env) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    return new Run(p.exitValue(), out);
  }
}
