package io.egressgateway.pod.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.cni.wire.CniWire;
import io.egressgateway.pod.model.CniCall;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.pod.model.CniReply;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's end of the plugin's protocol ({@link CniWire}, the one definition both sides use): reads a request
 * frame into a {@link CniCall}, pulling what the agent needs out of the network configuration it carries as
 * JSON, and writes the agent's reply as an answer frame.
 */
public final class CniCodec {
  private static final ObjectMapper JSON = new ObjectMapper();

  private CniCodec() {}

  /** Parses one request frame; fails with {@link IllegalArgumentException} saying what is wrong. */
  public static CniCall parse(byte[] frame) {
    return call(CniWire.Request.decode(frame));
  }

  /**
   * A DEL kept by a plugin older than {@link CniWire} ({@code deferred-del/*.json}, written while no agent ran,
   * e.g. during the upgrade that brought frames): its JSON request, as that plugin sent it, read into a request.
   */
  public static CniWire.Request legacyJson(String request) {
    JsonNode root;
    try {
      root = JSON.readTree(request);
    } catch (IOException e) {
      throw new IllegalArgumentException("request is not JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("request is not a JSON object");
    }
    return new CniWire.Request(root.path("command").asText(""), root.path("containerId").asText(""),
        root.path("netns").asText(""), root.path("ifName").asText(""), root.path("args").asText(""),
        root.path("path").asText(""), root.has("config") ? root.get("config").toString() : "");
  }

  /** The call a decoded request asks for; fails with {@link IllegalArgumentException} saying what is wrong. */
  public static CniCall call(CniWire.Request request) {
    JsonNode config;
    try {
      config = JSON.readTree(request.config());
    } catch (IOException e) {
      throw new IllegalArgumentException("the network configuration is not JSON: " + e.getMessage());
    }
    if (config == null || !config.isObject()) {
      throw new IllegalArgumentException("request carries no network configuration");
    }
    JsonNode prev = config.path("prevResult");
    String podIp = "";
    String gateway = "";
    for (JsonNode ip : prev.path("ips")) {
      String address = ip.path("address").asText("");
      if (!address.contains(":") && !address.isEmpty()) {
        podIp = address.contains("/") ? address.substring(0, address.indexOf('/')) : address;
        gateway = ip.path("gateway").asText("");
        break;
      }
    }
    if (gateway.isEmpty()) {
      for (JsonNode r : prev.path("routes")) {
        if (r.path("dst").asText().equals("0.0.0.0/0") && r.has("gw")) {
          gateway = r.path("gw").asText();
        }
      }
    }
    if (!podIp.isEmpty() && !isIpv4(podIp)) {
      throw new IllegalArgumentException("prevResult holds a pod address that is not an IPv4 address: " + printable(podIp));
    }
    if (!gateway.isEmpty() && !isIpv4(gateway)) {
      throw new IllegalArgumentException("prevResult holds a gateway that is not an IPv4 address: " + printable(gateway));
    }
    List<String> excluded = new ArrayList<>();
    for (JsonNode c : config.path("excludedCIDRs")) {
      String cidr = c.asText("");
      if (!isIpv4Cidr(cidr)) {
        throw new IllegalArgumentException("excludedCIDRs holds an entry that is not an IPv4 CIDR: " + printable(cidr));
      }
      excluded.add(cidr);
    }
    List<String> valid = new ArrayList<>();
    config.path("cni.dev/valid-attachments").forEach(a -> valid.add(a.path("containerID").asText("")));
    return new CniCall(
        request.command(),
        request.containerId(),
        request.netns(),
        request.ifName(),
        CniCall.parseArgs(request.args()),
        config.path("cniVersion").asText("1.0.0"),
        prev.isObject() ? prev.toString() : "",
        podIp,
        gateway,
        excluded,
        valid);
  }

  /** A dotted-quad IPv4 address, each part 0-255 without leading zeros: nothing else reaches a command. */
  static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(ch -> ch >= '0' && ch <= '9')
          || (p.length() > 1 && p.charAt(0) == '0') || Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  static boolean isIpv4Cidr(String s) {
    try {
      return Ipv4Cidr.parse(s).toString().equals(s);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** A value quoted for an error message, control characters shown escaped. */
  private static String printable(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return "'" + cut.replaceAll("\\p{Cntrl}", "?") + "'";
  }

  /** The answer frame for {@code reply}; a result is passed on as compact JSON, and must be JSON. */
  public static byte[] write(CniReply reply) {
    return answer(reply).encode();
  }

  static CniWire.Answer answer(CniReply reply) {
    if (reply instanceof CniReply.Error e) {
      return CniWire.Answer.error(e.code(), e.msg(), e.details());
    }
    String json = ((CniReply.Result) reply).json();
    if (json.isEmpty()) {
      return CniWire.Answer.ok("");
    }
    try {
      return CniWire.Answer.ok(JSON.readTree(json).toString());
    } catch (IOException e) {
      throw new IllegalArgumentException("result is not JSON", e);
    }
  }

  /** {@code prevResult} with the tunnel interface appended (name wg0, in the pod's sandbox). */
  public static String withTunnelInterface(String prevResult, String netns) {
    try {
      ObjectNode prev = (ObjectNode) JSON.readTree(prevResult);
      ArrayNode ifs = prev.has("interfaces") && prev.get("interfaces").isArray()
          ? (ArrayNode) prev.get("interfaces") : prev.putArray("interfaces");
      for (JsonNode i : ifs) {
        if (i.path("name").asText().equals("wg0")) {
          return prev.toString();
        }
      }
      ifs.addObject().put("name", "wg0").put("sandbox", netns);
      return prev.toString();
    } catch (IOException | ClassCastException e) {
      throw new IllegalArgumentException("prevResult is not a JSON object", e);
    }
  }
}
