package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.cni.wire.CniWire;
import io.egressgateway.pod.model.CniCall;
import io.egressgateway.pod.model.CniReply;
import io.egressgateway.pod.model.Route;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CniCodecTest {
  static final String PREV = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/p\"}],"
      + "\"ips\":[{\"address\":\"fd00::5/64\"},{\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":0}]}";

  static final String CONFIG = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"kube-egress-cni\","
      + "\"excludedCIDRs\":[\"10.0.0.0/8\"],\"prevResult\":" + PREV + "}";

  /** A request frame as the plugin sends it. */
  static byte[] request(String command) {
    return new CniWire.Request(command, "c0ffee42", "/var/run/netns/p", "eth0", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
        "/opt/cni/bin", CONFIG).encode();
  }

  /** The same request as a plugin older than the frames sent it (JSON), as it may still wait in deferred-del. */
  static String legacyRequest(String command) {
    return "{\"command\":\"" + command + "\",\"containerId\":\"c0ffee42\",\"netns\":\"/var/run/netns/p\",\"ifName\":\"eth0\","
        + "\"args\":\"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\",\"path\":\"/opt/cni/bin\",\"config\":" + CONFIG + "}";
  }

  @Test
  void parsesTheForwardedCall() {
    CniCall c = CniCodec.parse(request("ADD"));
    assertEquals("ADD", c.command());
    assertEquals("c0ffee42", c.containerId());
    assertEquals("default", c.podNamespace());
    assertEquals("10.244.1.5", c.podIp(), "first IPv4 address");
    assertEquals("10.244.1.1", c.eth0Gateway());
    assertEquals(List.of("10.0.0.0/8"), c.excludedCidrs());
    assertEquals(PREV, c.prevResult());
  }

  @Test
  void aLegacyJsonRequestReadsAsTheSameCall() {
    assertEquals(CniCodec.parse(request("DEL")), CniCodec.call(CniCodec.legacyJson(legacyRequest("DEL"))));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.legacyJson("{nope"));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.legacyJson("[]"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CniCodec.call(CniCodec.legacyJson("{\"command\":\"ADD\"}")));
    assertTrue(e.getMessage().contains("no network configuration"), e.getMessage());
  }

  @Test
  void refusesGarbage() {
    assertThrows(IllegalArgumentException.class, () -> CniCodec.parse("{nope".getBytes(StandardCharsets.UTF_8)));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.parse(new byte[0]));
    assertThrows(IllegalArgumentException.class,
        () -> CniCodec.parse(CniWire.encode(java.util.Map.of("command", "ADD"))), "no configuration");
    IllegalArgumentException notJson = assertThrows(IllegalArgumentException.class,
        () -> CniCodec.parse(new CniWire.Request("ADD", "c", "", "", "", "", "{nope").encode()));
    assertTrue(notJson.getMessage().contains("not JSON"), notJson.getMessage());
    IllegalArgumentException notObject = assertThrows(IllegalArgumentException.class,
        () -> CniCodec.parse(new CniWire.Request("ADD", "c", "", "", "", "", "[]").encode()));
    assertTrue(notObject.getMessage().contains("no network configuration"), notObject.getMessage());
  }

  @Test
  void writesResultsAndErrors() {
    assertEquals(CniWire.Answer.ok("{\"a\":1}"), CniWire.Answer.decode(CniCodec.write(CniReply.ok("{ \"a\" : 1 }"))),
        "the result as compact JSON");
    assertEquals(CniWire.Answer.ok(""), CniWire.Answer.decode(CniCodec.write(CniReply.ok(""))));
    assertEquals(CniWire.Answer.error(100, "m", "d"), CniWire.Answer.decode(CniCodec.write(CniReply.error(100, "m", "d"))));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.write(CniReply.ok("{nope")));
  }

  @Test
  void tunnelInterfaceIsAppendedOnce() {
    String once = CniCodec.withTunnelInterface(PREV, "/var/run/netns/p");
    assertTrue(once.contains("{\"name\":\"wg0\",\"sandbox\":\"/var/run/netns/p\"}"), once);
    assertEquals(once, CniCodec.withTunnelInterface(once, "/var/run/netns/p"));
  }

  @Test
  void parsesIpJsonRoutesIncludingRfc5549() throws Exception {
    String json = "[{\"dst\":\"default\",\"via\":{\"family\":\"inet6\",\"host\":\"fe80::1\"},\"dev\":\"wg0\",\"protocol\":\"77\",\"flags\":[]},"
        + "{\"dst\":\"198.18.20.0/24\",\"gateway\":\"169.254.1.1\",\"dev\":\"eth0\",\"protocol\":\"77\",\"flags\":[]},"
        + "{\"type\":\"unicast\",\"dst\":\"default\",\"gateway\":\"169.254.1.1\",\"dev\":\"eth0\",\"table\":\"8738\",\"protocol\":\"77\"}]";
    assertEquals(List.of(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0"), Route.main("198.18.20.0/24", "169.254.1.1", "eth0"),
        new Route("0.0.0.0/0", "169.254.1.1", "eth0", Route.REPLY_TABLE)), HostPodDatapath.parseRoutes(new ObjectMapper().readTree(json)));
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "pod address with a newline      | 10.244.1.5\\nnetns exec x sh/24 | 10.244.1.1   | 10.0.0.0/8",
      "pod address out of range        | 10.244.1.256/24                   | 10.244.1.1   | 10.0.0.0/8",
      "pod address with a space        | 10.244.1.5 /24                    | 10.244.1.1   | 10.0.0.0/8",
      "pod address with leading zeros  | 010.244.1.5/24                    | 10.244.1.1   | 10.0.0.0/8",
      "gateway with a newline          | 10.244.1.5/24                     | 10.244.1.1\\ndev x | 10.0.0.0/8",
      "gateway that is a name          | 10.244.1.5/24                     | gw.local     | 10.0.0.0/8",
      "excluded CIDR with a newline    | 10.244.1.5/24                     | 10.244.1.1   | 10.0.0.0/8\\nexec",
      "excluded CIDR without a length  | 10.244.1.5/24                     | 10.244.1.1   | 10.0.0.0",
      "excluded CIDR length 33         | 10.244.1.5/24                     | 10.244.1.1   | 10.0.0.0/33",
      "excluded CIDR that is IPv6      | 10.244.1.5/24                     | 10.244.1.1   | fd00::/8"})
  void hostileValuesNeverBecomeACall(String what, String address, String gateway, String excluded) {
    String prev = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"" + address + "\",\"gateway\":\"" + gateway + "\"}]}";
    byte[] req = new CniWire.Request("ADD", "c", "/var/run/netns/p", "eth0", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web", "",
        "{\"cniVersion\":\"1.0.0\",\"excludedCIDRs\":[\"" + excluded + "\"],\"prevResult\":" + prev + "}").encode();
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> CniCodec.parse(req), what);
    assertTrue(e.getMessage().contains("not an IPv4"), e.getMessage());
    assertTrue(e.getMessage().lines().count() == 1, "the error names the value on one line: " + e.getMessage());
  }
}
