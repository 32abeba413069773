package io.egressgateway.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The container image the chart runs, as {@code ./egress image} built it: the one that
 * {@code target/image/kube-egress-gateway-<tag>.properties} names (tag: the project version unless
 * {@code -Dimage.tag} says otherwise). Each test runs it with podman the way the repository runs podman
 * ({@code docker/containers.conf}) and checks what the members and the chart's scripts rely on.
 *
 * <p>Privileged: podman runs as root. Without root, podman, skopeo or the built image the tests are skipped,
 * except under {@code CI=true}, where {@code ./egress test} has built the image and a missing piece fails.
 */
@Tag("privileged")
@Tag("container")
class ImageTest {

  private static final Path ROOT = Path.of(System.getProperty("egress.root", "..")).toAbsolutePath().normalize();
  private static final String TAG = System.getProperty("image.tag", "");
  private static final Path FILES = Chart.DIR.resolve("files");
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final String USER = "65532";

  private static final List<String> MISSING = new ArrayList<>();
  private static Properties built;
  private static String image;
  private static Path archive;

  @BeforeAll
  static void builtImage() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      MISSING.add("root");
    }
    for (String tool : List.of("podman", "skopeo")) {
      if (Stream.of(System.getenv().getOrDefault("PATH", "").split(":")).noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
        MISSING.add(tool);
      }
    }
    Path props = ROOT.resolve("target/image/kube-egress-gateway-" + TAG + ".properties");
    if (!Files.isRegularFile(props)) {
      MISSING.add("the image (no " + props + ": run ./egress image)");
    } else if (MISSING.isEmpty()) {
      built = new Properties();
      try (Reader r = Files.newBufferedReader(props)) {
        built.load(r);
      }
      image = built.getProperty("image");
      archive = props.resolveSibling(built.getProperty("archive"));
      if (podman("image", "exists", built.getProperty("id")).exit() != 0) {
        MISSING.add("the image " + image + " (" + built.getProperty("id") + " is not in podman's store: run ./egress image)");
      }
    }
  }

  /** Per test, so that a skip is reported with its reason on every test. */
  @BeforeEach
  void prerequisites() {
    if (MISSING.isEmpty()) {
      return;
    }
    String why = "image test prerequisites missing: " + MISSING;
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      Assertions.fail(why + " (CI=true: this is a failure, not a skip)");
    }
    Assumptions.abort(why);
  }

  @Test
  void theDefaultUserIsNotRoot() throws Exception {
    Run id = container(List.of("--entrypoint", "id"), "-u");
    assertEquals(0, id.exit(), id.err());
    assertEquals(USER, id.out().strip());
    assertEquals(USER + ":" + USER, podman("image", "inspect", "--format", "{{.Config.User}}", image).out().strip());
  }

  @Test
  void theMembersAndTheChartScriptsFindTheirCommands() throws Exception {
    // the members: java and the datapath; the scripts in charts/kube-egress-gateway/files: the rest
    String commands = "java ip nft iptables iptables-legacy iptables-nft wg wireguard-go socat setsid sysctl mount unshare sh jq curl sha256sum cmp mktemp";
    Run found = container(List.of("--entrypoint", "sh"), "-c",
        "for c in " + commands + "; do command -v $c >/dev/null || echo $c; done");
    assertEquals(0, found.exit(), found.err());
    assertEquals("", found.out().strip(), "missing from the image");

    // present is not enough: each one loads its libraries and runs
    Run versions = container(List.of("--entrypoint", "sh"), "-c",
        "set -e; wg --version; wireguard-go --version; nft --version; ip -V; iptables-legacy --version; "
            + "iptables-nft --version; jq --version; curl --version");
    assertEquals(0, versions.exit(), versions.out() + versions.err());
  }

  @Test
  void javaSeventeenRuns() throws Exception {
    Run java = container(List.of("--entrypoint", "java"), "-version");
    assertEquals(0, java.exit(), java.err());
    assertTrue(java.err().contains("version \"17."), java.err());
  }

  @Test
  void theEntryPointRunsTheDistribution() throws Exception {
    Run help = container(List.of(), "help");
    assertEquals(0, help.exit(), help.err());
    assertTrue(help.out().toLowerCase(java.util.Locale.ROOT).startsWith("usage: egress"), help.out());
    assertEquals("[/opt/egress/bin/egress] [run]",
        podman("image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Config.Cmd}}", image).out().strip());
  }

  @Test
  void theCniPluginAnswersVersionWithItsOwnJavaBaseRuntime() throws Exception {
    Run version = container("{\"cniVersion\":\"0.4.0\"}", List.of("-e", "CNI_COMMAND=VERSION", "--entrypoint",
        "/opt/egress/cni/kube-egress-cni"));
    assertEquals(0, version.exit(), version.err());
    JsonNode answer = JSON.readTree(version.out());
    assertEquals("0.4.0", answer.get("cniVersion").asString());
    assertEquals(List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"),
        answer.get("supportedVersions").valueStream().map(JsonNode::asString).toList());

    Run modules = container(List.of("--entrypoint", "/opt/egress/cni/jre/bin/java"), "--list-modules");
    assertEquals(0, modules.exit(), modules.err());
    assertTrue(modules.out().strip().matches("java\\.base@17[^\\n]*"), "only java.base: " + modules.out());
  }

  /**
   * The worker's init container as the chart runs it (root, no capabilities, read-only root filesystem, the
   * chart's scripts mounted): the plugin lands on the host, and the runtime copied there runs on the host.
   */
  @Test
  void installCniCopiesAPluginThatRunsOnTheHost(@TempDir Path host) throws Exception {
    Path bin = Files.createDirectories(host.resolve("opt/cni/bin"));
    Path conf = Files.createDirectories(host.resolve("etc/cni/net.d"));
    Files.writeString(conf.resolve("10-azure.conflist"), """
        {"cniVersion":"0.3.0","name":"azure","plugins":[{"type":"azure-vnet"}]}""");

    Run install = container(List.of("--user", "0", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "-v", FILES + ":/opt/egress/scripts:ro", "-v", bin + ":/host/opt/cni/bin", "-v", conf + ":/host/etc/cni/net.d",
        "-e", "CNI_HOST_BIN_DIR=" + bin, "-e", "CNI_WAIT_SECONDS=0",
        "--entrypoint", "/bin/sh"), "/opt/egress/scripts/install-cni.sh");
    assertEquals(0, install.exit(), install.out() + install.err());

    JsonNode chained = JSON.readTree(Files.readString(conf.resolve("01-egressgateway.conflist")));
    assertEquals(List.of("azure-vnet", "kube-egress-cni"),
        chained.get("plugins").valueStream().map(p -> p.get("type").asString()).toList());
    assertTrue(Files.isRegularFile(bin.resolve("kube-egress-cni.d/kube-egress-cni.jsa")),
        "the plugin's class data sharing archive was made with the image's runtime: " + install.err());

    Run version = run(null, List.of(bin.resolve("kube-egress-cni").toString()), Map.of("CNI_COMMAND", "VERSION"));
    assertEquals(0, version.exit(), version.err());
    assertEquals("1.0.0", JSON.readTree(version.out()).get("cniVersion").asString());
  }

  @Test
  void skopeoReadsTheOciArchive() throws Exception {
    assertEquals(Files.size(archive), Long.parseLong(built.getProperty("archiveBytes")));
    assertTrue(Long.parseLong(built.getProperty("bytes")) > 0);

    Run inspect = run(null, List.of("skopeo", "inspect", "oci-archive:" + archive), Map.of());
    assertEquals(0, inspect.exit(), inspect.err());
    JsonNode manifest = JSON.readTree(inspect.out());
    assertEquals("linux", manifest.get("Os").asString());
    assertEquals("amd64", manifest.get("Architecture").asString());

    Run config = run(null, List.of("skopeo", "inspect", "--config", "oci-archive:" + archive), Map.of());
    assertEquals(0, config.exit(), config.err());
    JsonNode c = JSON.readTree(config.out()).get("config");
    assertEquals(USER + ":" + USER, c.get("User").asString());
    assertEquals("/opt/egress/bin/egress", c.get("Entrypoint").get(0).asString());
  }

  private record Run(int exit, String out, String err) {}

  /** {@code podman run --rm --network none OPTIONS IMAGE ARGS}. */
  private static Run container(List<String> options, String... args) throws Exception {
    return container(null, options, args);
  }

  private static Run container(String stdin, List<String> options, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("run", "--rm", "--network", "none"));
    if (stdin != null) {
      cmd.add("-i");
    }
    cmd.addAll(options);
    cmd.add(image);
    cmd.addAll(List.of(args));
    return podman(stdin, cmd);
  }

  private static Run podman(String... args) throws Exception {
    return podman(null, List.of(args));
  }

  /** podman as {@code ./egress} runs it: with the repository's containers.conf (runc, cgroupfs, no rlimits). */
  private static Run podman(String stdin, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("podman"));
    cmd.addAll(args);
    return run(stdin, cmd, Map.of("CONTAINERS_CONF", ROOT.resolve("docker/containers.conf").toString()));
  }

  private static Run run(String stdin, List<String> command, Map<String, String> env) throws IOException, InterruptedException {
    Path out = Files.createTempFile("image-test", ".out");
    Path err = Files.createTempFile("image-test", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      pb.environment().putAll(env);
      Process p = pb.start();
      try (var in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + command);
      }
      return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
