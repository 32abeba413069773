package io.egressgateway.cni.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CniWireTest {
  private static final String CONFIG = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\n  \"prevResult\":{\"ips\":[]}}";

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aRequestTravelsWholeNewlinesAndAllAndReadsBackTheSame() {
    CniWire.Request r = CniWire.Request.of(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c0ffee", "CNI_NETNS",
        "/var/run/netns/p", "CNI_IFNAME", "eth0", "CNI_ARGS", "K8S_POD_NAME=é\nend\n", "CNI_PATH", "/opt/cni/bin"), CONFIG);
    byte[] frame = r.encode();
    assertEquals(r, CniWire.Request.decode(frame));
    String text = new String(frame, StandardCharsets.UTF_8);
    assertTrue(text.startsWith("kube-egress-cni/1\ncommand 3\nADD\n"), text);
    assertTrue(text.endsWith("\nend\n"), text);
    // the length counts UTF-8 bytes: é is two
    assertTrue(text.contains("args 20\nK8S_POD_NAME=é\nend\n\n"), text);
  }

  @Test
  void answersReadBackAsSuccessesOrErrors() {
    assertEquals(CniWire.Answer.ok("{\"a\":1}"), CniWire.Answer.decode(CniWire.Answer.ok("{\"a\":1}").encode()));
    assertEquals("kube-egress-cni/1\nend\n", new String(CniWire.Answer.ok("").encode(), StandardCharsets.UTF_8));
    CniWire.Answer err = CniWire.Answer.decode(CniWire.Answer.error(11, "busy\nnow", "try again").encode());
    assertTrue(err.isError());
    assertEquals(new CniWire.Answer("", 11, "busy\nnow", "try again"), err);
    assertEquals(new CniWire.Answer("", 100, "node agent failed", ""), CniWire.Answer.decode(bytes("kube-egress-cni/1\ncode 1\nx\nend\n")),
        "a code that is not a number and no message still read as the agent's failure");
    assertThrows(IllegalArgumentException.class, () -> CniWire.Answer.error(0, "m", ""));
  }

  @Test
  void unknownFieldsAreSkippedAndOrderIsFree() {
    Map<String, String> f = CniWire.decode(bytes("kube-egress-cni/1\nconfig 2\n{}\nfuture 0\n\ncommand 3\nDEL\nend\n"),
        CniWire.MAX_REQUEST);
    assertEquals(Map.of("config", "{}", "future", "", "command", "DEL"), f);
    assertEquals(new CniWire.Request("DEL", "", "", "", "", "", "{}"),
        CniWire.Request.decode(bytes("kube-egress-cni/1\nconfig 2\n{}\nfuture 0\n\ncommand 3\nDEL\nend\n")));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "empty                         | ``                                                        | empty frame",
      "no version line               | `command 3\\nADD\\nend\\n`                                | does not begin",
      "another version               | `kube-egress-cni/2\\nend\\n`                              | does not begin",
      "an older plugin's JSON        | `{\"command\":\"ADD\"}`                                   | older plugin or an answer of an older agent",
      "cut off before the end line   | `kube-egress-cni/1\\ncommand 3\\nADD\\n`                  | no end line",
      "cut off in the header         | `kube-egress-cni/1\\ncomm`                                | no end line",
      "cut off in a value            | `kube-egress-cni/1\\nconfig 10\\n{}\\n`                   | cut off in field 'config'",
      "value longer than declared    | `kube-egress-cni/1\\ncommand 2\\nADD\\nend\\n`            | not followed by a newline",
      "length over the limit         | `kube-egress-cni/1\\nconfig 99999999\\n{}\\nend\\n`       | more than the frame's limit",
      "length with leading zero      | `kube-egress-cni/1\\ncommand 03\\nADD\\nend\\n`           | bad length",
      "negative length               | `kube-egress-cni/1\\ncommand -3\\nADD\\nend\\n`           | bad length",
      "length not a number           | `kube-egress-cni/1\\ncommand x\\nADD\\nend\\n`            | bad length",
      "no length                     | `kube-egress-cni/1\\ncommand\\nADD\\nend\\n`              | has no length",
      "name with a space before      | `kube-egress-cni/1\\n command 3\\nADD\\nend\\n`           | bad field name",
      "name with upper case first    | `kube-egress-cni/1\\nCommand 3\\nADD\\nend\\n`            | bad field name",
      "name with a dash              | `kube-egress-cni/1\\ncontainer-id 1\\nc\\nend\\n`         | bad field name",
      "name with a control character | `kube-egress-cni/1\\ncom\\tmand 3\\nADD\\nend\\n`         | bad field name",
      "name too long                 | `kube-egress-cni/1\\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1\\nx\\nend\\n` | bad field name",
      "header line without a newline | `kube-egress-cni/1\\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1\\nx\\nend\\n` | too long",
      "a field twice                 | `kube-egress-cni/1\\ncommand 3\\nADD\\ncommand 3\\nDEL\\nend\\n` | appears twice",
      "bytes after the end line      | `kube-egress-cni/1\\nend\\nextra`                         | after the end line",
      "CR LF line ends               | `kube-egress-cni/1\\r\\nend\\r\\n`                        | does not begin"})
  void hostileFramesAreRefusedWithWhatIsWrong(String what, String frame, String says) {
    String unescaped = frame.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t");
    CniWire.FrameException e = assertThrows(CniWire.FrameException.class,
        () -> CniWire.decode(bytes(unescaped), CniWire.MAX_REQUEST), what);
    assertTrue(e.getMessage().contains(says), what + ": " + e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), "one line, control characters shown as '?': " + e.getMessage());
  }

  @Test
  void aValueThatIsNotUtf8IsRefused() {
    byte[] head = bytes("kube-egress-cni/1\nmsg 2\n");
    byte[] frame = Arrays.copyOf(head, head.length + 2 + 5);
    frame[head.length] = (byte) 0xc3; // a two-byte sequence cut short
    frame[head.length + 1] = (byte) 0x28;
    System.arraycopy(bytes("\nend\n"), 0, frame, head.length + 2, 5);
    CniWire.FrameException e = assertThrows(CniWire.FrameException.class, () -> CniWire.decode(frame, CniWire.MAX_REQUEST));
    assertTrue(e.getMessage().contains("not UTF-8"), e.getMessage());
  }

  @Test
  void framesOverTheLimitAreRefusedBeforeTheyAreRead() {
    byte[] big = CniWire.Request.of(Map.of("CNI_COMMAND", "ADD"), "x".repeat(CniWire.MAX_REQUEST)).encode();
    CniWire.FrameException e = assertThrows(CniWire.FrameException.class, () -> CniWire.Request.decode(big));
    assertTrue(e.getMessage().contains("larger than " + CniWire.MAX_REQUEST), e.getMessage());
    // the same bytes are a fine answer: the plugin reads up to MAX_ANSWER
    Map<String, String> f = CniWire.decode(big, CniWire.MAX_ANSWER);
    assertEquals(CniWire.MAX_REQUEST, f.get("config").length());
  }

  @Test
  void requestsNeedACommandAndAConfiguration() {
    assertTrue(assertThrows(CniWire.FrameException.class, () -> CniWire.Request.decode(bytes("kube-egress-cni/1\nconfig 2\n{}\nend\n")))
        .getMessage().contains("no command"));
    assertTrue(assertThrows(CniWire.FrameException.class, () -> CniWire.Request.decode(bytes("kube-egress-cni/1\ncommand 3\nADD\nend\n")))
        .getMessage().contains("no network configuration"));
  }

  @Test
  void badNamesAreNeverWritten() {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("good", "1");
    f.put("bad name\nend", "2");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CniWire.encode(f));
    assertTrue(e.getMessage().contains("'bad name?end'"), e.getMessage());
    assertFalse(CniWire.validName(""));
    assertTrue(CniWire.validName("containerId"));
    assertArrayEquals(bytes("kube-egress-cni/1\nend\n"), CniWire.encode(Map.of()));
  }
}
