package io.egressgateway.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

  @Test
  void roundTripKeepsOrderNumbersAndEscapes() {
    String text = "{\"cniVersion\":\"1.0.0\",\"mtu\":1500,\"ratio\":-1.5e3,\"ok\":true,\"none\":null,"
        + "\"ips\":[{\"address\":\"10.244.1.5/24\"}],\"s\":\"a\\\"b\\\\c\\n\\u0001\"}";
    assertEquals(text, Json.write(Json.parse(text)));
  }

  @Test
  void parsesWhitespaceAndUnicodeEscapes() {
    Map<String, Object> m = Json.parseObject(" {\n \"a\" : [ 1 , \"\\u00e9\" ] }\n");
    assertEquals(List.of(new Json.Num("1"), "é"), m.get("a"));
  }

  @Test
  void rejectsMalformedInputNamingTheOffset() {
    for (String bad : List.of("", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "nul", "\"\\q\"", "{a:1}", "01x")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
      assertTrue(e.getMessage().contains("offset"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Json.parseObject("[1]"));
  }

  @Test
  void refusesAbsurdNesting() {
    assertThrows(IllegalArgumentException.class, () -> Json.parse("[".repeat(100) + "]".repeat(100)));
  }
}
