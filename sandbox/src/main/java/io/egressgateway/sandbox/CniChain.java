package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.datapath.command.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Runs a CNI network configuration list the way a container runtime does: each plugin in order for ADD
 * (feeding the previous result as {@code prevResult}), in reverse for DEL, with the CNI_* environment,
 * executed on the node so that the node namespace is the plugins' "host". A plugin that declares a
 * capability the caller has a value for gets it under {@code runtimeConfig}, as containerd passes
 * {@code io.kubernetes.cri.pod-annotations}.
 */
public final class CniChain {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How a plugin binary runs on the node: the command for {@code binary} with {@code env}. */
  interface Runner {
    List<String> command(java.util.Map<String, String> env, String binary);
  }

  private final ObjectNode conflist;
  private final String binDirs;
  private final java.util.function.Function<String, String> lookup;
  private final Runner runner;

  /** {@code conflistJson}: a CNI 1.0 conflist; {@code binDirs}: CNI_PATH; {@code nodeNs}: the node namespace. */
  public CniChain(String conflistJson, String binDirs, String nodeNs) {
    this(conflistJson, binDirs, type -> {
      for (String dir : binDirs.split(":")) {
        if (new java.io.File(dir, type).canExecute()) {
          return dir + "/" + type;
        }
      }
      return null;
    }, (env, binary) -> {
      List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", nodeNs, "env"));
      env.forEach((k, v) -> cmd.add(k + "=" + v));
      cmd.add(binary);
      return cmd;
    });
  }

  /**
   * The chain as the container runtime of a simulated node runs it: binaries from the node's
   * {@code /opt/cni/bin}, run through {@link NodeHost#hostCommand}.
   */
  static CniChain onNode(String conflistJson, NodeHost host) {
    try {
      JsonNode conf = JSON.readTree(conflistJson);
      if (conf != null && conf.isObject() && !conf.has("plugins")) {
        // a single-plugin .conf file: a list of one
        ObjectNode list = JSON.createObjectNode().put("cniVersion", conf.path("cniVersion").asText("1.0.0"))
            .put("name", conf.path("name").asText());
        list.putArray("plugins").add(conf);
        conflistJson = list.toString();
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not a CNI configuration: " + e.getMessage(), e);
    }
    return new CniChain(conflistJson, "/opt/cni/bin",
        type -> java.nio.file.Files.exists(host.hostPath("/opt/cni/bin").resolve(type)) ? "/opt/cni/bin/" + type : null,
        (env, binary) -> host.hostCommand(env, List.of(binary)));
  }

  private CniChain(String conflistJson, String binDirs, java.util.function.Function<String, String> lookup, Runner runner) {
    try {
      this.conflist = (ObjectNode) JSON.readTree(conflistJson);
    } catch (IOException e) {
      throw new IllegalArgumentException("not a CNI conflist: " + e.getMessage(), e);
    }
    this.binDirs = binDirs;
    this.lookup = lookup;
    this.runner = runner;
  }

  /** The conflist this chain runs. */
  String conflist() {
    return conflist.toString();
  }

  /** Outcome of a chain run: the final result JSON, or the failing plugin's error. */
  public record Outcome(boolean ok, String result, String failedPlugin, String error) {}

  public Outcome add(String containerId, String netnsPath, String ifName, String k8sArgs) {
    return add(containerId, netnsPath, ifName, k8sArgs, java.util.Map.of());
  }

  /** ADD, with values for the capabilities plugins may declare ({@code runtimeConfig}). */
  public Outcome add(String containerId, String netnsPath, String ifName, String k8sArgs, java.util.Map<String, ?> capabilities) {
    JsonNode prev = null;
    for (JsonNode plugin : plugins()) {
      ObjectNode conf = pluginConf(plugin, prev, capabilities);
      CommandRunner.Result r = exec("ADD", conf, containerId, netnsPath, ifName, k8sArgs);
      if (!r.ok()) {
        return new Outcome(false, r.stdout(), plugin.path("type").asText(), errorOf(r));
      }
      try {
        prev = JSON.readTree(r.stdout());
      } catch (IOException e) {
        return new Outcome(false, r.stdout(), plugin.path("type").asText(), "unparseable result: " + r.stdout());
      }
    }
    return new Outcome(true, prev == null ? "{}" : prev.toString(), null, null);
  }

  /** DEL runs every plugin (in reverse) even if one fails, and reports the first failure. */
  public Outcome del(String containerId, String netnsPath, String ifName, String k8sArgs) {
    return del(containerId, netnsPath, ifName, k8sArgs, java.util.Map.of());
  }

  /** DEL, with the capability values the ADD had. */
  public Outcome del(String containerId, String netnsPath, String ifName, String k8sArgs, java.util.Map<String, ?> capabilities) {
    List<JsonNode> ps = plugins();
    Outcome first = null;
    for (int i = ps.size() - 1; i >= 0; i--) {
      CommandRunner.Result r = exec("DEL", pluginConf(ps.get(i), null, capabilities), containerId, netnsPath, ifName, k8sArgs);
      if (!r.ok() && first == null) {
        first = new Outcome(false, r.stdout(), ps.get(i).path("type").asText(), errorOf(r));
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

  private ObjectNode pluginConf(JsonNode plugin, JsonNode prev, java.util.Map<String, ?> capabilities) {
    ObjectNode conf = ((ObjectNode) plugin).deepCopy();
    conf.put("cniVersion", conflist.path("cniVersion").asText("1.0.0"));
    conf.put("name", conflist.path("name").asText());
    if (prev != null) {
      conf.set("prevResult", prev);
    }
    ObjectNode runtime = JSON.createObjectNode();
    capabilities.forEach((name, value) -> {
      if (plugin.path("capabilities").path(name).asBoolean(false)) {
        runtime.set(name, JSON.valueToTree(value));
      }
    });
    if (!runtime.isEmpty()) {
      conf.set("runtimeConfig", runtime);
    }
    return conf;
  }

  private CommandRunner.Result exec(String command, ObjectNode conf, String containerId, String netns, String ifName, String args) {
    String type = conf.path("type").asText();
    String binary = lookup.apply(type);
    if (binary == null) {
      return new CommandRunner.Result(List.of(type), 127, "", "CNI plugin '" + type + "' not found in " + binDirs);
    }
    // like container runtimes: plugins must ignore the K8S_* arguments they do not know
    if (!args.isEmpty() && !args.startsWith("IgnoreUnknown=")) {
      args = "IgnoreUnknown=1;" + args;
    }
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", containerId);
    env.put("CNI_NETNS", netns);
    env.put("CNI_IFNAME", ifName);
    env.put("CNI_PATH", binDirs);
    env.put("CNI_ARGS", args);
    List<String> cmd = runner.command(env, binary);
    try {
      return Sh.run(cmd, JSON.writeValueAsString(conf), 60);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String errorOf(CommandRunner.Result r) {
    try {
      JsonNode err = JSON.readTree(r.stdout());
      if (err != null && err.has("msg")) {
        return err.path("msg").asText() + (err.has("details") ? ": " + err.path("details").asText() : "");
      }
    } catch (IOException ignored) {
      // not JSON: fall through to stderr
    }
    return ("exit " + r.exitCode() + " " + r.stderr() + " " + r.stdout()).trim();
  }
}
