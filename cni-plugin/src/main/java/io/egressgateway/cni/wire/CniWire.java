package io.egressgateway.cni.wire;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one protocol between the CNI plugin and the node agent, on the agent's root-only unix socket: one request
 * frame per connection, the plugin half-closes, the agent answers one frame and closes. The plugin's kept DELs
 * ({@code deferred-del/*.del}) are request frames too. Both ends use this class: the plugin is a JDK-only
 * program, so a frame needs a small scanner and no JSON parser; values that are JSON (the network
 * configuration, the CNI result) travel as opaque fields.
 *
 * <pre>
 * kube-egress-cni/1\n                 the version line
 * &lt;name&gt; &lt;bytes&gt;\n&lt;value&gt;\n      one field: its name, its value's length in UTF-8 bytes, the value
 * ...
 * end\n                               the end line; nothing may follow
 * </pre>
 *
 * A name is 1-32 letters and digits, starting with a lower-case letter; a length is decimal without leading
 * zeros. A value may hold any text, newlines included (its length says where it ends), and must be UTF-8. A
 * field appears at most once; fields a reader does not know are skipped. Anything else (a missing version or end
 * line, a short value, a length over the frame's limit, a bad name, bytes after the end) refuses the whole frame
 * with a {@link FrameException} that says where.
 *
 * <p>{@link Request} and {@link Answer} are the two frames; their fields are the names below.
 *
 * <p>The plugin runs interpreted ({@code -Xint}), once per pod: the success path has no lambdas, whose call sites
 * spin classes at first use (an ADD spun 11 and took about 12 ms longer with them and invokedynamic string
 * concatenation; {@code LauncherTest} counts them). String concatenation is compiled to StringBuilder calls in this
 * module (its pom), so it spins nothing on any path; error paths may use lambdas.
 */
public final class CniWire {
  public static final String VERSION_LINE = "kube-egress-cni/1";
  static final String END_LINE = "end";
  /** Largest request frame the agent reads (the plugin refuses configurations over 512 KiB before sending). */
  public static final int MAX_REQUEST = 1024 * 1024;
  /** Largest answer frame the plugin reads. */
  public static final int MAX_ANSWER = 4 * 1024 * 1024;
  static final int MAX_NAME = 32;
  /**
   * The directory next to the agent's socket where the plugin keeps a DEL the agent did not take, for the agent's
   * next start: one {@link Request} frame per {@value #DEFERRED_SUFFIX} file, written whole, then renamed in.
   */
  public static final String DEFERRED_DIR = "deferred-del";
  /** The name ending of a kept DEL. */
  public static final String DEFERRED_SUFFIX = ".del";

  private CniWire() {}

  /** A frame that cannot be read; the message says what and where. */
  public static final class FrameException extends IllegalArgumentException {
    FrameException(String msg) {
      super(msg);
    }
  }

  /** The frame for {@code fields}, in their iteration order; a bad name fails with {@link IllegalArgumentException}. */
  public static byte[] encode(Map<String, String> fields) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    line(out, VERSION_LINE);
    for (Map.Entry<String, String> f : fields.entrySet()) {
      if (!validName(f.getKey())) {
        throw new IllegalArgumentException("not a field name: " + printable(f.getKey()));
      }
      byte[] value = (f.getValue() == null ? "" : f.getValue()).getBytes(StandardCharsets.UTF_8);
      bytes(out, f.getKey());
      out.write(' ');
      line(out, Integer.toString(value.length));
      out.write(value, 0, value.length);
      out.write('\n');
    }
    line(out, END_LINE);
    return out.toByteArray();
  }

  /** The fields of {@code frame}, in frame order; refuses a frame longer than {@code max} bytes. */
  public static Map<String, String> decode(byte[] frame, int max) {
    if (frame.length > max) {
      throw new FrameException("frame of " + frame.length + " bytes is larger than " + max);
    }
    if (frame.length == 0) {
      throw new FrameException("empty frame");
    }
    if (frame[0] == '{') {
      throw new FrameException("frame does not begin with '" + VERSION_LINE + "' but with JSON (a request of an older"
          + " plugin or an answer of an older agent: install the plugin of this agent's version)");
    }
    byte[] head = (VERSION_LINE + "\n").getBytes(StandardCharsets.ISO_8859_1);
    if (frame.length < head.length || !java.util.Arrays.equals(frame, 0, head.length, head, 0, head.length)) {
      String begins = new String(frame, 0, Math.min(frame.length, 41), StandardCharsets.ISO_8859_1);
      throw new FrameException("frame does not begin with '" + VERSION_LINE + "' but " + printable(begins));
    }
    Scanner s = new Scanner(frame);
    s.pos = head.length;
    Map<String, String> fields = new LinkedHashMap<>();
    while (true) {
      int at = s.pos;
      String header = s.line();
      if (header.equals(END_LINE)) {
        break;
      }
      int sp = header.indexOf(' ');
      String name = sp < 0 ? header : header.substring(0, sp);
      if (!validName(name)) {
        throw new FrameException("bad field name " + printable(name) + " at byte " + at);
      }
      if (sp < 0) {
        throw new FrameException("field '" + name + "' has no length, at byte " + at);
      }
      int length = length(header.substring(sp + 1), name, max);
      if (fields.containsKey(name)) {
        throw new FrameException("field '" + name + "' appears twice");
      }
      fields.put(name, s.value(name, length));
    }
    if (s.pos != frame.length) {
      throw new FrameException((frame.length - s.pos) + " bytes after the end line");
    }
    return fields;
  }

  static boolean validName(String name) {
    if (name.isEmpty() || name.length() > MAX_NAME || name.charAt(0) < 'a' || name.charAt(0) > 'z') {
      return false;
    }
    for (int k = 1; k < name.length(); k++) {
      char c = name.charAt(k);
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
        return false;
      }
    }
    return true;
  }

  private static int length(String text, String name, int max) {
    boolean digits = !text.isEmpty() && text.length() <= 10 && (text.length() == 1 || text.charAt(0) != '0');
    for (int k = 0; digits && k < text.length(); k++) {
      digits = text.charAt(k) >= '0' && text.charAt(k) <= '9';
    }
    if (!digits) {
      throw new FrameException("field '" + name + "' has a bad length " + printable(text));
    }
    long n = Long.parseLong(text);
    if (n > max) {
      throw new FrameException("field '" + name + "' declares " + n + " bytes, more than the frame's limit " + max);
    }
    return (int) n;
  }

  private static void line(ByteArrayOutputStream out, String text) {
    bytes(out, text);
    out.write('\n');
  }

  private static void bytes(ByteArrayOutputStream out, String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    out.write(b, 0, b.length);
  }

  /** A text quoted for an error message, cut short, control characters shown as '?'. */
  static String printable(String s) {
    String cut = s.length() > 40 ? s.substring(0, 40) + "..." : s;
    StringBuilder b = new StringBuilder(cut.length() + 2).append('\'');
    cut.chars().forEach(c -> b.append(c < 0x20 || c == 0x7f ? '?' : (char) c));
    return b.append('\'').toString();
  }

  /** The scanner: header lines are short ASCII, values are counted bytes. */
  private static final class Scanner {
    private final byte[] b;
    int pos;

    Scanner(byte[] b) {
      this.b = b;
    }

    String line() {
      int start = pos;
      int limit = Math.min(b.length, start + MAX_NAME + 12);
      for (int k = start; k < limit; k++) {
        if (b[k] == '\n') {
          pos = k + 1;
          return new String(b, start, k - start, StandardCharsets.ISO_8859_1);
        }
      }
      if (limit == b.length) {
        throw new FrameException("frame cut off at byte " + b.length + " (no end line)");
      }
      throw new FrameException("header line at byte " + start + " is too long");
    }

    String value(String name, int length) {
      if (b.length - pos < length + 1) {
        throw new FrameException("frame cut off in field '" + name + "': " + length + " bytes declared, "
            + Math.max(0, b.length - pos) + " left");
      }
      if (b[pos + length] != '\n') {
        throw new FrameException("field '" + name + "' is not followed by a newline after its " + length + " bytes");
      }
      String v;
      try {
        v = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, pos, length)).toString();
      } catch (CharacterCodingException e) {
        throw new FrameException("field '" + name + "' is not UTF-8");
      }
      pos += length + 1;
      return v;
    }
  }

  /**
   * One plugin call: the CNI environment and the network configuration exactly as the runtime passed it on
   * stdin. Fields {@code command}, {@code containerId}, {@code netns}, {@code ifName}, {@code args}, {@code path},
   * {@code config}; {@code command} and {@code config} are required.
   */
  public record Request(String command, String containerId, String netns, String ifName, String args, String path,
      String config) {
    public Request {
      command = command == null ? "" : command;
      containerId = containerId == null ? "" : containerId;
      netns = netns == null ? "" : netns;
      ifName = ifName == null ? "" : ifName;
      args = args == null ? "" : args;
      path = path == null ? "" : path;
      config = config == null ? "" : config;
    }

    /** The request of one plugin invocation: its {@code CNI_*} environment and its stdin. */
    public static Request of(Map<String, String> env, String config) {
      return new Request(env.getOrDefault("CNI_COMMAND", ""), env.getOrDefault("CNI_CONTAINERID", ""),
          env.getOrDefault("CNI_NETNS", ""), env.getOrDefault("CNI_IFNAME", ""), env.getOrDefault("CNI_ARGS", ""),
          env.getOrDefault("CNI_PATH", ""), config);
    }

    public byte[] encode() {
      Map<String, String> f = new LinkedHashMap<>();
      f.put("command", command);
      f.put("containerId", containerId);
      f.put("netns", netns);
      f.put("ifName", ifName);
      f.put("args", args);
      f.put("path", path);
      f.put("config", config);
      return CniWire.encode(f);
    }

    public static Request decode(byte[] frame) {
      Map<String, String> f = CniWire.decode(frame, MAX_REQUEST);
      if (!f.containsKey("command")) {
        throw new FrameException("request names no command");
      }
      if (!f.containsKey("config")) {
        throw new FrameException("request carries no network configuration");
      }
      return new Request(f.get("command"), f.get("containerId"), f.get("netns"), f.get("ifName"), f.get("args"),
          f.get("path"), f.get("config"));
    }
  }

  /**
   * The agent's answer: a success, with the CNI result as JSON text when there is one (field {@code result}), or a
   * CNI error (fields {@code code}, {@code msg}, {@code details}). A frame with a {@code code} is an error; a code
   * that is not a number, or a missing message, still reads as the agent's failure.
   */
  public record Answer(String result, int code, String msg, String details) {
    /** The node agent answered but could not do the call (and said no more). */
    public static final int AGENT_FAILURE = 100;

    public Answer {
      result = result == null ? "" : result;
      msg = msg == null ? "" : msg;
      details = details == null ? "" : details;
    }

    public static Answer ok(String result) {
      return new Answer(result, 0, "", "");
    }

    public static Answer error(int code, String msg, String details) {
      if (code == 0) {
        throw new IllegalArgumentException("an error answer needs a non-zero code");
      }
      return new Answer("", code, msg, details);
    }

    public boolean isError() {
      return code != 0;
    }

    public byte[] encode() {
      Map<String, String> f = new LinkedHashMap<>();
      if (isError()) {
        f.put("code", Integer.toString(code));
        f.put("msg", msg);
        if (!details.isEmpty()) {
          f.put("details", details);
        }
      } else if (!result.isEmpty()) {
        f.put("result", result);
      }
      return CniWire.encode(f);
    }

    public static Answer decode(byte[] frame) {
      Map<String, String> f = CniWire.decode(frame, MAX_ANSWER);
      if (!f.containsKey("code")) {
        return ok(f.get("result"));
      }
      int code;
      try {
        code = Integer.parseInt(f.get("code"));
      } catch (NumberFormatException e) {
        code = AGENT_FAILURE;
      }
      return error(code == 0 ? AGENT_FAILURE : code, f.getOrDefault("msg", "node agent failed"), f.get("details"));
    }
  }
}
