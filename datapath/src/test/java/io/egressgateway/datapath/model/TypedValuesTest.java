package io.egressgateway.datapath.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.wireguard.WgKeys;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Every typed value takes its canonical form only, and refuses every hostile shape around it. */
class TypedValuesTest {
  private static final String KEY = WgKeys.generate().publicKey();

  /** type, parser, valid samples (each its own canonical text), non-canonical or wrong samples. */
  record Case(String type, Function<String, Object> parser, List<String> valid, List<String> invalid) {
    @Override
    public String toString() {
      return type;
    }
  }

  static List<Case> cases() {
    return List.of(
        new Case("Ipv4Address", Ipv4Address::parse, List.of("10.0.0.1", "0.0.0.0", "255.255.255.255"),
            List.of("010.0.0.1", "10.0.0", "10.0.0.1.1", "10.0.0.256", "10.0.0.1/32", "1e1.0.0.1", "+1.0.0.1",
                "\uff11.2.3.4", "10..0.1", "fe80::1")),
        new Case("Ipv4Cidr", Ipv4Cidr::parse, List.of("10.0.0.0/8", "0.0.0.0/0", "10.244.1.10/32"),
            List.of("10.0.0.1/8", "10.0.0.0/08", "10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "/8", "10.0.0.0/8/8",
                "10.0.0.0/-1", "::/0")),
        new Case("IfName", IfName::parse, List.of("wg0", "eth0", "egw0123456789a", "host0", "a_b.c-d"),
            List.of("wg0123456789abcd", "wg/0", "wg:0", "wg@0", "wg*", "wg0\u00e9")),
        new Case("NetnsName", NetnsName::parse, List.of("egwt-abc", "cni-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab", "egp-123"),
            List.of("a/b", "/var/run/netns/x", "x".repeat(256), "ns*", "ns:1")),
        new Case("WgKey", WgKey::parse, List.of(KEY),
            List.of(KEY.substring(1), KEY + "=", KEY.replace('=', 'A'), KEY.substring(0, 43) + "B", nonCanonical(KEY),
                "AAAA", KEY.substring(0, 10) + "-" + KEY.substring(11), KEY.substring(0, 10) + "_" + KEY.substring(11))),
        new Case("Port", Port::parse, List.of("1", "6000", "65535"),
            List.of("0", "65536", "06000", "-1", "+1", "1e3", "600000")),
        new Case("Endpoint", Endpoint::parse, List.of("10.224.0.100:6000", "[fd00::1]:51820", "gw.example.com:6000"),
            List.of("10.224.0.100", "10.224.0.100:", ":6000", "10.224.0.100:0", "010.224.0.100:6000", "[fd00::1:51820",
                "gw_x.example:6000", "-gw.example:6000", "gw..example:6000", "[fd00::1;]:1")),
        new Case("NextHop", NextHop::parse, List.of("169.254.1.1", "inet6 fe80::1"),
            List.of("inet6  fe80::1", "inet6 fe80::1 dev eth0", "inet6 g::1", "inet 10.0.0.1", "169.254.1.1 onlink")));
  }

  static Stream<Arguments> hostile() {
    List<Arguments> out = new ArrayList<>();
    for (Case c : cases()) {
      for (String v : c.valid()) {
        for (String bad : HostileValues.around(v)) {
          out.add(Arguments.of(c, bad));
        }
      }
      for (String bad : HostileValues.ALWAYS) {
        out.add(Arguments.of(c, bad));
      }
      c.invalid().forEach(bad -> out.add(Arguments.of(c, bad)));
      out.add(Arguments.of(c, null));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} refuses {1}")
  @MethodSource("hostile")
  void refusesHostileAndNonCanonicalText(Case c, String bad) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.parser().apply(bad), c + " " + bad);
    assertNotNull(e.getMessage());
    assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), "a message cannot forge a log line: " + e.getMessage());
  }

  static Stream<Arguments> valid() {
    return cases().stream().flatMap(c -> c.valid().stream().map(v -> Arguments.of(c, v)));
  }

  @ParameterizedTest(name = "{0} takes {1}")
  @MethodSource("valid")
  void takesCanonicalTextAndGivesItBack(Case c, String good) {
    Object parsed = c.parser().apply(good);
    String text = parsed instanceof WgKey k ? k.value() : parsed instanceof IfName n ? n.value()
        : parsed instanceof NetnsName n ? n.value() : parsed.toString();
    assertEquals(good, text);
  }

  @Test
  void bareAddressesMayStandForTheirHostNetworkWhereAsked() {
    assertEquals("10.0.0.1/32", Ipv4Cidr.parseNetworkOrHost("10.0.0.1").toString());
    assertEquals("10.0.0.0/8", Ipv4Cidr.parseNetworkOrHost("10.0.0.0/8").toString());
    for (String bad : HostileValues.around("10.0.0.1")) {
      assertThrows(IllegalArgumentException.class, () -> Ipv4Cidr.parseNetworkOrHost(bad), bad);
    }
  }

  @Test
  void keysNeverShowThemselvesInToString() {
    WgKeys.KeyPair kp = WgKeys.generate();
    assertFalse(WgKey.parse(kp.privateKey()).toString().contains(kp.privateKey()));
    assertFalse(kp.toString().contains(kp.privateKey()));
    WgConfig c = new WgConfig(kp.privateKey(), 6000, List.of(WgPeer.of(KEY, "10.0.0.1/32")));
    assertFalse(c.toString().contains(kp.privateKey()));
    assertTrue(c.toConf().contains(kp.privateKey()), "the conf text (fed through stdin) has it");
  }

  /** Peers and configurations are built from parsed fields only: every hostile field is refused. */
  @Test
  void peersAndConfigsRefuseHostileFields() {
    for (String bad : HostileValues.around(KEY)) {
      assertThrows(IllegalArgumentException.class, () -> WgPeer.of(bad, "10.0.0.1/32"), "key " + bad);
      assertThrows(IllegalArgumentException.class, () -> new WgConfig(bad, 0, List.of()), "private key");
    }
    for (String bad : HostileValues.around("10.244.1.10/32")) {
      assertThrows(IllegalArgumentException.class, () -> WgPeer.of(KEY, bad), "allowed ip " + bad);
    }
    for (String bad : HostileValues.around("10.224.0.100:6000")) {
      assertThrows(IllegalArgumentException.class, () -> new WgPeer(KEY, List.of("0.0.0.0/0"), bad, 0), "endpoint " + bad);
    }
    // what stays valid, and the text it makes
    WgPeer p = new WgPeer(KEY, List.of("0.0.0.0/0", "::/0"), "10.224.0.100:6000", 25);
    assertEquals("[Peer]\nPublicKey = " + KEY + "\nAllowedIPs = 0.0.0.0/0,::/0\nEndpoint = 10.224.0.100:6000\n"
        + "PersistentKeepalive = 25\n", p.toConf());
    assertEquals(new WgPeer(KEY, List.of("0.0.0.0/0"), "10.224.0.100:6000", 25),
        WgPeer.of(WgKey.parse(KEY), List.of(Ipv4Cidr.ANY), Endpoint.parse("10.224.0.100:6000"), 25));
  }

  /** The same 32 bytes with the two unused bits of the last character set: base64 decoders take it. */
  static String nonCanonical(String key) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char last = alphabet.charAt(alphabet.indexOf(key.charAt(42)) + 1);
    return key.substring(0, 42) + last + "=";
  }
}
