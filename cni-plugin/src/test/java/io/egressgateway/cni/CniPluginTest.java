package io.egressgateway.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.cni.wire.CniWire;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniPluginTest {
  private static final String PREV = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/p\"}],"
      + "\"ips\":[{\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":0}]}";

  @TempDir Path dir;

  private String conf(String extra) {
    return "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + dir.resolve("cni.sock") + "\"" + extra + ",\"prevResult\":" + PREV + "}";
  }

  private static Map<String, String> env(String command) {
    Map<String, String> env = new HashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", "abcdef0123456789");
    env.put("CNI_NETNS", "/var/run/netns/p");
    env.put("CNI_IFNAME", "eth0");
    env.put("CNI_ARGS", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web");
    env.put("CNI_PATH", "/opt/cni/bin");
    return env;
  }

  private static CniPlugin.Outcome run(Map<String, String> env, String stdin) {
    return CniPlugin.run(env, stdin, t -> new AgentClient(t.socket(), t.timeout()));
  }

  @Test
  void addForwardsEnvironmentAndConfigAndPrintsTheAgentsResult() throws Exception {
    String result = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.5/24\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}";
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> CniWire.Answer.ok(result))) {
      CniPlugin.Outcome o = run(env("ADD"), conf(""));
      assertEquals(0, o.exitCode(), o.stdout());
      assertEquals(result, o.stdout());
      CniWire.Request req = agent.requests.get(0);
      assertEquals("ADD", req.command());
      assertEquals("abcdef0123456789", req.containerId());
      assertEquals("/var/run/netns/p", req.netns());
      assertEquals("eth0", req.ifName());
      assertEquals("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web", req.args());
      assertEquals("/opt/cni/bin", req.path());
      assertEquals(conf(""), req.config(), "config forwarded untouched, as the runtime passed it");
    }
  }

  @Test
  void agentErrorBecomesCniErrorJson() throws Exception {
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"),
        req -> CniWire.Answer.error(100, "gateway configuration default/gw1 is not ready", "x"))) {
      CniPlugin.Outcome o = run(env("ADD"), conf(""));
      assertEquals(1, o.exitCode());
      Map<String, Object> err = Json.parseObject(o.stdout());
      assertEquals("1.0.0", err.get("cniVersion"));
      assertEquals(new Json.Num("100"), err.get("code"));
      assertEquals("gateway configuration default/gw1 is not ready", err.get("msg"));
      assertEquals("x", err.get("details"));
    }
  }

  @Test
  void unreachableAgentIsTryAgainLaterForAddButDelStillSucceedsAndLogs() throws Exception {
    Path log = dir.resolve("cni.log");
    String c = conf(",\"logFile\":\"" + log + "\"");
    CniPlugin.Outcome add = run(env("ADD"), c);
    assertEquals(1, add.exitCode());
    Map<String, Object> err = Json.parseObject(add.stdout());
    assertEquals(new Json.Num("11"), err.get("code"));
    assertTrue(((String) err.get("details")).contains("cni.sock"), add.stdout());

    CniPlugin.Outcome del = run(env("DEL"), c);
    assertEquals(0, del.exitCode());
    assertEquals("", del.stdout());
    assertTrue(Files.readString(log).contains("DEL ignored error 11"), "DEL failure logged");
    assertTrue(Files.readString(log).contains("DEL kept for the agent's next start in " + dir.resolve("deferred-del")),
        Files.readString(log));

    // the DEL waits next to the socket, whole and root-only, as the agent would have received it
    List<Path> kept;
    try (var files = Files.list(dir.resolve("deferred-del"))) {
      kept = files.toList();
    }
    assertEquals(1, kept.size(), "one request and no temporary file: " + kept);
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(kept.get(0))));
    assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("deferred-del"))));
    assertTrue(kept.get(0).getFileName().toString().endsWith(AgentProtocol.DEFERRED_SUFFIX), kept.toString());
    CniWire.Request req = CniWire.Request.decode(Files.readAllBytes(kept.get(0)));
    assertEquals("DEL", req.command());
    assertEquals("abcdef0123456789", req.containerId());
    assertEquals("K8S_POD_NAMESPACE=default;K8S_POD_NAME=web", req.args());
    assertEquals(c, req.config());
  }

  @Test
  void delWithAgentErrorStillSucceeds() throws Exception {
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> CniWire.Answer.error(100, "boom", ""))) {
      CniPlugin.Outcome del = run(env("DEL"), conf(""));
      assertEquals(0, del.exitCode());
      assertEquals("", del.stdout());
      assertTrue(del.stderr().contains("boom"));
      assertEquals(1, agent.requests.size(), "DEL was forwarded");
      assertFalse(Files.exists(dir.resolve("deferred-del")), "a DEL the agent answered is not kept");
    }
  }

  @Test
  void checkForwardsAndSucceedsWithoutOutput() throws Exception {
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> CniWire.Answer.ok(""))) {
      CniPlugin.Outcome o = run(env("CHECK"), conf(""));
      assertEquals(0, o.exitCode());
      assertEquals("", o.stdout());
      assertEquals("CHECK", agent.requests.get(0).command());
    }
  }

  @Test
  void slowAgentEndsInTryAgainLater() throws Exception {
    // the agent answers only once the plugin has given up (or after 10 s, failing the test)
    java.util.concurrent.CountDownLatch gaveUp = new java.util.concurrent.CountDownLatch(1);
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> {
      try {
        gaveUp.await(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return CniWire.Answer.ok("");
    })) {
      long t0 = System.nanoTime();
      CniPlugin.Outcome o = run(env("ADD"), conf(",\"timeoutSeconds\":0.3"));
      gaveUp.countDown();
      assertEquals(1, o.exitCode());
      assertTrue(o.stdout().contains("did not answer"), o.stdout());
      assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "the plugin gave up before the agent answered");
    }
  }

  @Test
  void localErrors() {
    CniPlugin.Outcome bad = run(env("ADD"), "{not json");
    assertEquals(new Json.Num("6"), Json.parseObject(bad.stdout()).get("code"));

    String unchained = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\"}";
    CniPlugin.Outcome noPrev = run(env("ADD"), unchained);
    assertEquals(new Json.Num("7"), Json.parseObject(noPrev.stdout()).get("code"));

    CniPlugin.Outcome version = run(env("ADD"), conf("").replace("\"cniVersion\":\"1.0.0\",\"name\"", "\"cniVersion\":\"9.9.9\",\"name\""));
    assertEquals(new Json.Num("1"), Json.parseObject(version.stdout()).get("code"));
    assertEquals("9.9.9", Json.parseObject(version.stdout()).get("cniVersion"));

    CniPlugin.Outcome relative = run(env("ADD"), conf("").replace(dir.resolve("cni.sock").toString(), "cni.sock"));
    assertEquals(new Json.Num("7"), Json.parseObject(relative.stdout()).get("code"));

    Map<String, String> noNetns = env("ADD");
    noNetns.remove("CNI_NETNS");
    assertEquals(new Json.Num("4"), Json.parseObject(run(noNetns, conf("")).stdout()).get("code"));

    CniPlugin.Outcome unknown = run(env("FROB"), conf(""));
    assertEquals(1, unknown.exitCode());
    assertEquals(new Json.Num("4"), Json.parseObject(unknown.stdout()).get("code"));
  }

  @Test
  void versionIsAnsweredLocally() {
    CniPlugin.Outcome o = run(Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"0.4.0\"}");
    assertEquals(0, o.exitCode());
    Map<String, Object> v = Json.parseObject(o.stdout());
    assertEquals("0.4.0", v.get("cniVersion"));
    assertEquals(List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"), v.get("supportedVersions"));
  }

  private static Map<String, String> envIn(String command, String namespace) {
    Map<String, String> env = env(command);
    env.put("CNI_ARGS", "K8S_POD_NAMESPACE=" + namespace + ";K8S_POD_NAME=web");
    return env;
  }

  private void hints(String... namespaces) throws Exception {
    Files.writeString(dir.resolve(NodeHints.FILE), "# written by the agent\n" + String.join("\n", namespaces) + "\n");
  }

  @Test
  void withoutTheAgentAPodOfANamespaceWithoutConfigurationsIsAddedAndOthersFailClosed() throws Exception {
    // no agent and no hints yet (a node whose agent never ran): every ADD fails closed
    CniPlugin.Outcome noHints = run(envIn("ADD", "plain"), conf(""));
    assertEquals(1, noHints.exitCode());
    assertEquals(new Json.Num("11"), Json.parseObject(noHints.stdout()).get("code"));

    hints("gated", "other");
    CniPlugin.Outcome plain = run(envIn("ADD", "plain"), conf(""));
    assertEquals(0, plain.exitCode(), plain.stdout());
    assertEquals(Json.parse(PREV), Json.parse(plain.stdout()), "prevResult unchanged");
    assertTrue(plain.stderr().contains("holds no gateway configuration"), plain.stderr());

    CniPlugin.Outcome gated = run(envIn("ADD", "gated"), conf(""));
    assertEquals(1, gated.exitCode());
    Map<String, Object> err = Json.parseObject(gated.stdout());
    assertEquals(new Json.Num("11"), err.get("code"));
    assertTrue(((String) err.get("msg")).contains("may need a gateway"), gated.stdout());
    assertTrue(((String) err.get("details")).contains("namespace gated holds gateway configurations"), gated.stdout());

    // CHECK is never answered without the agent
    assertEquals(1, run(envIn("CHECK", "plain"), conf("")).exitCode());
  }

  @Test
  void podAnnotationsFromTheRuntimeDecideWithoutTheAgent() throws Exception {
    hints("gated");
    String annotated = conf(",\"runtimeConfig\":{\"" + NodeHints.POD_ANNOTATIONS + "\":{\"" + NodeHints.GATEWAY_ANNOTATION
        + "\":\"sgc-a\"}}");
    String plainAnnotations = conf(",\"runtimeConfig\":{\"" + NodeHints.POD_ANNOTATIONS + "\":{\"team\":\"web\"}}");
    // annotations win over the namespace list both ways
    assertEquals(0, run(envIn("ADD", "gated"), plainAnnotations).exitCode(), "a plain pod in a namespace with configurations");
    CniPlugin.Outcome a = run(envIn("ADD", "plain"), annotated);
    assertEquals(1, a.exitCode(), "an annotated pod in a namespace without configurations (its SGC may come later)");
    assertTrue(Json.parseObject(a.stdout()).get("details").toString().contains("sgc-a"), a.stdout());
  }

  @Test
  void statusAndGcGoToTheAgent() throws Exception {
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> req.command().equals("STATUS")
        ? CniWire.Answer.error(50, "not ready", "") : CniWire.Answer.ok("{}"))) {
      Map<String, String> status = new HashMap<>(Map.of("CNI_COMMAND", "STATUS"));
      CniPlugin.Outcome s = run(status, "{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
          + dir.resolve("cni.sock") + "\"}");
      assertEquals(1, s.exitCode());
      assertEquals(new Json.Num("50"), Json.parseObject(s.stdout()).get("code"));
      Map<String, String> gc = new HashMap<>(Map.of("CNI_COMMAND", "GC"));
      CniPlugin.Outcome g = run(gc, "{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
          + dir.resolve("cni.sock") + "\",\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]}");
      assertEquals(0, g.exitCode(), g.stdout());
      assertEquals("GC", agent.requests.get(1).command());
      assertTrue(agent.requests.get(1).config().contains("valid-attachments"), agent.requests.get(1).config());
    }
    // without the agent: STATUS is fine once its hints are on the node, not before
    String statusConf = "{\"cniVersion\":\"1.1.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"socketPath\":\""
        + dir.resolve("cni.sock") + "\"}";
    Files.deleteIfExists(dir.resolve("cni.sock"));
    CniPlugin.Outcome before = run(new HashMap<>(Map.of("CNI_COMMAND", "STATUS")), statusConf);
    assertEquals(new Json.Num("50"), Json.parseObject(before.stdout()).get("code"));
    hints();
    assertEquals(0, run(new HashMap<>(Map.of("CNI_COMMAND", "STATUS")), statusConf).exitCode());
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "nothing at all                 | ``",
      "an older agent's JSON          | `{\"result\":{}}`",
      "cut off before the end line    | `kube-egress-cni/1\\nresult 2\\n{}\\n`",
      "cut off in the result          | `kube-egress-cni/1\\nresult 900\\n{}\\nend\\n`",
      "a length over the limit        | `kube-egress-cni/1\\nresult 99999999999\\n{}\\nend\\n`",
      "a bad field name               | `kube-egress-cni/1\\nre sult 2\\n{}\\nend\\n`",
      "a result that is not JSON      | `kube-egress-cni/1\\nresult 5\\n{nope\\nend\\n`"})
  void anUnreadableAnswerIsAnIoFailureAndADelStillSucceeds(String what, String answer) throws Exception {
    boolean frameBroken = !what.equals("a result that is not JSON"); // a DEL does not read the result
    byte[] frame = answer.replace("\\n", "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (FakeAgent agent = FakeAgent.raw(dir.resolve("cni.sock"), req -> frame)) {
      CniPlugin.Outcome add = run(env("ADD"), conf(""));
      assertEquals(1, add.exitCode(), what);
      Map<String, Object> err = Json.parseObject(add.stdout());
      assertEquals(new Json.Num("5"), err.get("code"), what + ": " + add.stdout());
      assertEquals("unreadable answer from the node agent", err.get("msg"));
      CniPlugin.Outcome del = run(env("DEL"), conf(""));
      assertEquals(0, del.exitCode(), what);
      assertEquals(frameBroken, del.stderr().contains("DEL ignored error 5"), del.stderr());
      assertEquals(2, agent.requests.size());
      assertFalse(Files.exists(dir.resolve("deferred-del")), "the agent answered: the DEL is not kept");
    }
  }

  @Test
  void anErrorWithNewlinesReachesTheRuntimeWholeAndAResultThatIsNoObjectLeavesPrevResult() throws Exception {
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> req.command().equals("ADD")
        ? CniWire.Answer.error(100, "no gateway\nconfirmed", "line 1\nend\nline 3") : CniWire.Answer.ok("[1]"))) {
      Map<String, Object> err = Json.parseObject(run(env("ADD"), conf("")).stdout());
      assertEquals("no gateway\nconfirmed", err.get("msg"));
      assertEquals("line 1\nend\nline 3", err.get("details"));
    }
    try (FakeAgent agent = new FakeAgent(dir.resolve("cni.sock"), req -> CniWire.Answer.ok("[1]"))) {
      CniPlugin.Outcome o = run(env("ADD"), conf(""));
      assertEquals(0, o.exitCode(), o.stdout());
      assertEquals(Json.parse(PREV), Json.parse(o.stdout()), "as before the frames: a result that is not an object is ignored");
    }
  }
}
