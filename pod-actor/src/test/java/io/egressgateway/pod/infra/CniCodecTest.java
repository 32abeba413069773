package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.pod.model.CniCall;
import io.egressgateway.pod.model.CniReply;
import io.egressgateway.pod.model.Route;
import java.util.List;
import org.junit.jupiter.api.Test;

class CniCodecTest {
  static final String PREV = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/var/run/netns/p\"}],"
      + "\"ips\":[{\"address\":\"fd00::5/64\"},{\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\",\"interface\":0}]}";

  static String request(String command) {
    return "{\"command\":\"" + command + "\",\"containerId\":\"c0ffee42\",\"netns\":\"/var/run/netns/p\",\"ifName\":\"eth0\","
        + "\"args\":\"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\",\"path\":\"/opt/cni/bin\",\"config\":{\"cniVersion\":\"1.0.0\","
        + "\"name\":\"k8s\",\"type\":\"kube-egress-cni\",\"excludedCIDRs\":[\"10.0.0.0/8\"],\"prevResult\":" + PREV + "}}";
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
  void refusesGarbage() {
    assertThrows(IllegalArgumentException.class, () -> CniCodec.parse("{nope"));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.parse("[]"));
    assertThrows(IllegalArgumentException.class, () -> CniCodec.parse("{\"command\":\"ADD\"}"));
  }

  @Test
  void writesResultsAndErrors() {
    assertEquals("{\"result\":{\"a\":1}}", CniCodec.write(CniReply.ok("{\"a\":1}")));
    assertEquals("{}", CniCodec.write(CniReply.ok("")));
    assertEquals("{\"error\":{\"code\":100,\"msg\":\"m\",\"details\":\"d\"}}", CniCodec.write(CniReply.error(100, "m", "d")));
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
    String req = "{\"command\":\"ADD\",\"containerId\":\"c\",\"netns\":\"/var/run/netns/p\",\"ifName\":\"eth0\","
        + "\"args\":\"K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\",\"config\":{\"cniVersion\":\"1.0.0\","
        + "\"excludedCIDRs\":[\"" + excluded + "\"],\"prevResult\":" + prev + "}}";
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> CniCodec.parse(req), what);
    assertTrue(e.getMessage().contains("not an IPv4"), e.getMessage());
    assertTrue(e.getMessage().lines().count() == 1, "the error names the value on one line: " + e.getMessage());
  }
}
