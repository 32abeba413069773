package io.egressgateway.pod.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.datapath.command.CommandRunner;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a CNI conflist as a container runtime does, inside the node's namespace: ADD in order feeding each
 * result to the next plugin as prevResult, DEL in reverse; CHECK in order with the cached final result.
 */
final class CniChainRunner {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code millis}: how long each plugin of the chain took, by type. */
  record Outcome(boolean ok, String output, String plugin, java.util.Map<String, Long> millis) {
    Outcome(boolean ok, String output, String plugin) {
      this(ok, output, plugin, java.util.Map.of());
    }
  }

  private final CommandRunner cmd;
  private final ObjectNode conflist;
  private final String binDirs;
  private final String nodeNs;

  CniChainRunner(CommandRunner cmd, String conflist, String binDirs, String nodeNs) throws IOException {
    this.cmd = cmd;
    this.conflist = (ObjectNode) JSON.readTree(conflist);
    this.binDirs = binDirs;
    this.nodeNs = nodeNs;
  }

  Outcome add(String containerId, String netns, String args) {
    JsonNode prev = null;
    java.util.Map<String, Long> millis = new java.util.LinkedHashMap<>();
    for (JsonNode plugin : plugins()) {
      long t0 = System.nanoTime();
      CommandRunner.Result r = exec("ADD", conf(plugin, prev), containerId, netns, args);
      millis.put(plugin.path("type").asText(), (System.nanoTime() - t0) / 1_000_000);
      if (!r.ok()) {
        return new Outcome(false, r.stdout() + r.stderr(), plugin.path("type").asText());
      }
      try {
        prev = JSON.readTree(r.stdout());
      } catch (IOException e) {
        return new Outcome(false, "unparseable result: " + r.stdout(), plugin.path("type").asText());
      }
    }
    return new Outcome(true, prev.toString(), "", millis);
  }

  Outcome check(String containerId, String netns, String args, String lastResult) throws IOException {
    JsonNode prev = JSON.readTree(lastResult);
    for (JsonNode plugin : plugins()) {
      CommandRunner.Result r = exec("CHECK", conf(plugin, prev), containerId, netns, args);
      if (!r.ok()) {
        return new Outcome(false, r.stdout() + r.stderr(), plugin.path("type").asText());
      }
    }
    return new Outcome(true, "", "");
  }

  Outcome del(String containerId, String netns, String args) {
    List<JsonNode> ps = plugins();
    Outcome first = new Outcome(true, "", "");
    for (int i = ps.size() - 1; i >= 0; i--) {
      CommandRunner.Result r = exec("DEL", conf(ps.get(i), null), containerId, netns, args);
      if (!r.ok() && first.ok()) {
        first = new Outcome(false, r.stdout() + r.stderr(), ps.get(i).path("type").asText());
      }
    }
    return first;
  }

  private List<JsonNode> plugins() {
    List<JsonNode> out = new ArrayList<>();
    conflist.path("plugins").forEach(out::add);
    return out;
  }

  private ObjectNode conf(JsonNode plugin, JsonNode prev) {
    ObjectNode c = ((ObjectNode) plugin).deepCopy();
    c.put("cniVersion", conflist.path("cniVersion").asText());
    c.put("name", conflist.path("name").asText());
    if (prev != null) {
      c.set("prevResult", prev);
    }
    return c;
  }

  private CommandRunner.Result exec(String command, ObjectNode conf, String containerId, String netns, String args) {
    String type = conf.path("type").asText();
    String binary = null;
    for (String d : binDirs.split(":")) {
      if (new java.io.File(d, type).canExecute()) {
        binary = d + "/" + type;
        break;
      }
    }
    if (binary == null) {
      return new CommandRunner.Result(List.of(type), 127, "", "plugin " + type + " not found in " + binDirs);
    }
    List<String> argv = List.of("ip", "netns", "exec", nodeNs, "env", "CNI_COMMAND=" + command,
        "CNI_CONTAINERID=" + containerId, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + binDirs,
        "CNI_ARGS=" + args, binary);
    return cmd.attempt(argv, conf.toString());
  }
}
