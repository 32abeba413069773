package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Runs a CNI network configuration list the way a container runtime does: each plugin in order for ADD
 * (feeding the previous result as {@code prevResult}), in reverse for DEL, with the CNI_* environment,
 * executed inside the node's namespace so that the node namespace is the plugins' "host".
 */
public final class CniChain {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ObjectNode conflist;
  private final String binDirs;
  private final String nodeNs;

  /** {@code conflistJson}: a CNI 1.0 conflist; {@code binDirs}: CNI_PATH; {@code nodeNs}: the node namespace. */
  public CniChain(String conflistJson, String binDirs, String nodeNs) {
    try {
      this.conflist = (ObjectNode) JSON.readTree(conflistJson);
    } catch (IOException e) {
      throw new IllegalArgumentException("not a CNI conflist: " + e.getMessage(), e);
    }
    this.binDirs = binDirs;
    this.nodeNs = nodeNs;
  }

  /** Outcome of a chain run: the final result JSON, or the failing plugin's error. */
  public record Outcome(boolean ok, String result, String failedPlugin, String error) {}

  public Outcome add(String containerId, String netnsPath, String ifName, String k8sArgs) {
    JsonNode prev = null;
    for (JsonNode plugin : plugins()) {
      ObjectNode conf = pluginConf(plugin, prev);
      Sh.Result r = exec("ADD", conf, containerId, netnsPath, ifName, k8sArgs);
      if (!r.ok()) {
        return new Outcome(false, r.out(), plugin.path("type").asText(), errorOf(r));
      }
      try {
        prev = JSON.readTree(r.out());
      } catch (IOException e) {
        return new Outcome(false, r.out(), plugin.path("type").asText(), "unparseable result: " + r.out());
      }
    }
    return new Outcome(true, prev == null ? "{}" : prev.toString(), null, null);
  }

  /** DEL runs every plugin (in reverse) even if one fails, and reports the first failure. */
  public Outcome del(String containerId, String netnsPath, String ifName, String k8sArgs) {
    List<JsonNode> ps = plugins();
    Outcome first = null;
    for (int i = ps.size() - 1; i >= 0; i--) {
      Sh.Result r = exec("DEL", pluginConf(ps.get(i), null), containerId, netnsPath, ifName, k8sArgs);
      if (!r.ok() && first == null) {
        first = new Outcome(false, r.out(), ps.get(i).path("type").asText(), errorOf(r));
      }
    }
    return first == null ? new Outcome(true, "", null, null) : first;
  }

  private List<JsonNode> plugins() {
    List<JsonNode> out = new ArrayList<>();
    Iterator<JsonNode> it = conflist.path("plugins").elements();
    it.forEachRemaining(out::add);
    return out;
  }

  private ObjectNode pluginConf(JsonNode plugin, JsonNode prev) {
    ObjectNode conf = ((ObjectNode) plugin).deepCopy();
    conf.put("cniVersion", conflist.path("cniVersion").asText("1.0.0"));
    conf.put("name", conflist.path("name").asText());
    if (prev != null) {
      conf.set("prevResult", prev);
    }
    return conf;
  }

  private Sh.Result exec(String command, ObjectNode conf, String containerId, String netns, String ifName, String args) {
    String type = conf.path("type").asText();
    String binary = null;
    for (String dir : binDirs.split(":")) {
      if (new java.io.File(dir, type).canExecute()) {
        binary = dir + "/" + type;
        break;
      }
    }
    if (binary == null) {
      return new Sh.Result(127, "", "CNI plugin '" + type + "' not found in " + binDirs);
    }
    // like container runtimes: plugins must ignore the K8S_* arguments they do not know
    if (!args.isEmpty() && !args.startsWith("IgnoreUnknown=")) {
      args = "IgnoreUnknown=1;" + args;
    }
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", nodeNs, "env",
        "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + containerId, "CNI_NETNS=" + netns,
        "CNI_IFNAME=" + ifName, "CNI_PATH=" + binDirs, "CNI_ARGS=" + args, binary));
    try {
      return Sh.run(cmd, JSON.writeValueAsString(conf), 60);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String errorOf(Sh.Result r) {
    try {
      JsonNode err = JSON.readTree(r.out());
      if (err != null && err.has("msg")) {
        return err.path("msg").asText() + (err.has("details") ? ": " + err.path("details").asText() : "");
      }
    } catch (IOException ignored) {
      // not JSON: fall through to stderr
    }
    return ("exit " + r.exit() + " " + r.err() + " " + r.out()).trim();
  }
}
