package io.egressgateway.cnichain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The runtime's rules of a chain, checked against plugins that record what they were given. */
class CniChainTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONFLIST = """
      {"cniVersion":"1.0.0","name":"k8s","plugins":[
        {"type":"ptp","ipam":{"type":"host-local"}},
        {"type":"kube-egress-cni","capabilities":{"io.kubernetes.cri.pod-annotations":true}}
      ]}""";

  /** One plugin run as the launcher saw it. */
  record Seen(Map<String, String> env, String binary, JsonNode conf) {}

  private final List<Seen> seen = new ArrayList<>();

  private CniChain chain(String conflist, String failing, String failure) {
    return new CniChain(conflist, "/opt/cni/bin", type -> type.equals("missing") ? null : "/opt/cni/bin/" + type,
        (env, binary, stdin) -> {
          try {
            seen.add(new Seen(Map.copyOf(env), binary, JSON.readTree(stdin)));
          } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
          }
          if (binary.endsWith("/" + failing)) {
            return new CniChain.Run(1, failure, "stderr of " + failing);
          }
          return new CniChain.Run(0, "{\"cniVersion\":\"1.0.0\",\"by\":\"" + binary.substring(binary.lastIndexOf('/') + 1) + "\"}", "");
        });
  }

  @Test
  void addFeedsEachResultToTheNextPluginWithTheRuntimesEnvironment() {
    CniChain.Outcome add = chain(CONFLIST, "", "").add("c1", "/var/run/netns/p", "eth0", "K8S_POD_NAME=web",
        Map.of("io.kubernetes.cri.pod-annotations", Map.of("a", "b"), "portMappings", List.of()));
    assertTrue(add.ok(), add.error());
    assertEquals("{\"cniVersion\":\"1.0.0\",\"by\":\"kube-egress-cni\"}", add.result());
    assertEquals(List.of("ptp", "kube-egress-cni"), List.copyOf(add.millis().keySet()));
    assertEquals(2, seen.size());
    Seen ptp = seen.get(0);
    assertEquals(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c1", "CNI_NETNS", "/var/run/netns/p", "CNI_IFNAME", "eth0",
        "CNI_PATH", "/opt/cni/bin", "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web"), ptp.env());
    assertEquals("k8s", ptp.conf().path("name").asText());
    assertEquals("1.0.0", ptp.conf().path("cniVersion").asText());
    assertFalse(ptp.conf().has("prevResult"), "the first plugin has no previous result");
    assertFalse(ptp.conf().has("runtimeConfig"), "ptp declares no capability");
    Seen ours = seen.get(1);
    assertEquals("ptp", ours.conf().path("prevResult").path("by").asText());
    assertEquals("b", ours.conf().path("runtimeConfig").path("io.kubernetes.cri.pod-annotations").path("a").asText());
    assertFalse(ours.conf().path("runtimeConfig").has("portMappings"), "only the capabilities it declares");
  }

  @Test
  void aFailingPluginStopsTheAddAndSaysWhy() {
    CniChain.Outcome add = chain(CONFLIST, "ptp", "{\"code\":11,\"msg\":\"busy\",\"details\":\"later\"}")
        .add("c1", "/n", "eth0", "");
    assertFalse(add.ok());
    assertEquals("ptp", add.plugin());
    assertEquals("busy: later", add.error());
    assertEquals(1, seen.size(), "the next plugin never ran");
    assertEquals("", seen.get(0).env().get("CNI_ARGS"), "empty args stay empty");

    CniChain.Outcome garbled = chain(CONFLIST, "kube-egress-cni", "not json").add("c1", "/n", "eth0", "IgnoreUnknown=1;X=y");
    assertEquals("exit 1 stderr of kube-egress-cni not json", garbled.error());
    assertEquals("IgnoreUnknown=1;X=y", seen.get(seen.size() - 1).env().get("CNI_ARGS"), "not added twice");
  }

  @Test
  void delRunsEveryPluginInReverseAndReportsTheFirstFailure() {
    CniChain.Outcome del = chain(CONFLIST, "kube-egress-cni", "{\"msg\":\"boom\"}").del("c1", "/n", "eth0", "");
    assertFalse(del.ok());
    assertEquals("kube-egress-cni", del.plugin());
    assertEquals("boom", del.error());
    assertEquals(List.of("/opt/cni/bin/kube-egress-cni", "/opt/cni/bin/ptp"), seen.stream().map(Seen::binary).toList(),
        "reverse order, and ptp still ran after the failure");
    assertTrue(seen.stream().allMatch(s -> s.env().get("CNI_COMMAND").equals("DEL") && !s.conf().has("prevResult")));
  }

  @Test
  void checkGivesEveryPluginTheLastResult() {
    CniChain.Outcome check = chain(CONFLIST, "", "").check("c1", "/n", "eth0", "", "{\"ips\":[]}");
    assertTrue(check.ok());
    assertEquals(2, seen.size());
    assertTrue(seen.stream().allMatch(s -> s.env().get("CNI_COMMAND").equals("CHECK") && s.conf().path("prevResult").has("ips")));
  }

  @Test
  void aSinglePluginConfIsAListOfOneAndAMissingBinaryIsExit127() {
    CniChain single = chain("{\"cniVersion\":\"0.4.0\",\"name\":\"one\",\"type\":\"missing\"}", "", "");
    JsonNode list = jsonOf(single.conflist());
    assertEquals("0.4.0", list.path("cniVersion").asText());
    assertEquals("missing", list.path("plugins").get(0).path("type").asText());
    CniChain.Outcome add = single.add("c1", "/n", "eth0", "");
    assertFalse(add.ok());
    assertEquals("missing", add.plugin());
    assertTrue(add.error().startsWith("exit 127 CNI plugin 'missing' not found in /opt/cni/bin"), add.error());
    assertTrue(seen.isEmpty(), "nothing was launched");
  }

  @Test
  void theNamespaceCommandLineRunsTheBinaryWithItsEnvironment() {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("CNI_COMMAND", "ADD");
    env.put("CNI_ARGS", "a=b");
    assertEquals(List.of("ip", "netns", "exec", "node1", "env", "CNI_COMMAND=ADD", "CNI_ARGS=a=b", "/bin/ptp"),
        CniChain.inNamespace("node1", env, "/bin/ptp"));
  }

  private static JsonNode jsonOf(String s) {
    try {
      return JSON.readTree(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
