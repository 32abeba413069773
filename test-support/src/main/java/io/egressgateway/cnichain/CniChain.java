package io.egressgateway.cnichain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Runs a CNI network configuration list the way a container runtime does: ADD runs each plugin in order and feeds
 * its result to the next as {@code prevResult}; CHECK runs each in order with the cached final result; DEL runs
 * every plugin in reverse, even after a failure, and reports the first failure. Each plugin gets the
 * {@code CNI_*} environment, its entry of the list with the list's {@code cniVersion} and {@code name}, and,
 * under {@code runtimeConfig}, the values of the capabilities it declares (as containerd passes
 * {@code io.kubernetes.cri.pod-annotations}). {@code CNI_ARGS} gets {@code IgnoreUnknown=1} in front, as
 * runtimes do, so that plugins ignore the {@code K8S_*} keys they do not know.
 *
 * <p>The one chain runner of the repository: the pod module's privileged end-to-end tests and benchmark (ptp +
 * host-local, then kube-egress-cni) and the sandbox's simulated nodes use it. How and where a plugin binary
 * runs (which namespace, which command runner) is the caller's {@link Launcher}.
 */
public final class CniChain {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How one plugin process ended. */
  public record Run(int exit, String stdout, String stderr) {}

  /** Runs plugin {@code binary} with {@code env}, {@code stdin} its configuration. */
  @FunctionalInterface
  public interface Launcher {
    Run run(Map<String, String> env, String binary, String stdin);
  }

  /**
   * A chain run's outcome: on success the final result (ADD; empty for CHECK and DEL), else the plugin that
   * failed ({@code plugin}) and why ({@code error}: the CNI error's message and details, or the exit code and
   * output). {@code millis}: how long each plugin of an ADD took, by type.
   */
  public record Outcome(boolean ok, String result, String plugin, String error, Map<String, Long> millis) {
    public static Outcome failed(String plugin, String error) {
      return new Outcome(false, "", plugin, error, Map.of());
    }
  }

  private final ObjectNode conflist;
  private final String binDirs;
  private final Function<String, String> lookup;
  private final Launcher launcher;

  /**
   * {@code conflistJson}: a conflist, or a single plugin's {@code .conf} (run as a list of one); {@code binDirs}:
   * CNI_PATH; {@code lookup}: a plugin type's binary, or null when there is none; {@code launcher}: how it runs.
   */
  public CniChain(String conflistJson, String binDirs, Function<String, String> lookup, Launcher launcher) {
    JsonNode conf;
    try {
      conf = JSON.readTree(conflistJson);
    } catch (IOException e) {
      throw new IllegalArgumentException("not a CNI configuration: " + e.getMessage(), e);
    }
    if (conf == null || !conf.isObject()) {
      throw new IllegalArgumentException("not a CNI configuration: " + conflistJson);
    }
    if (!conf.has("plugins")) {
      ObjectNode list = JSON.createObjectNode().put("cniVersion", conf.path("cniVersion").asText("1.0.0"))
          .put("name", conf.path("name").asText());
      list.putArray("plugins").add(conf);
      conf = list;
    }
    this.conflist = (ObjectNode) conf;
    this.binDirs = binDirs;
    this.lookup = lookup;
    this.launcher = launcher;
  }

  /** The chain with binaries from {@code binDirs} (CNI_PATH, {@code :}-separated), run by {@code launcher}. */
  public static CniChain inDirs(String conflistJson, String binDirs, Launcher launcher) {
    return new CniChain(conflistJson, binDirs, type -> {
      for (String dir : binDirs.split(":")) {
        if (new File(dir, type).canExecute()) {
          return dir + "/" + type;
        }
      }
      return null;
    }, launcher);
  }

  /** The command line that runs {@code binary} with {@code env} in network namespace {@code ns}, as a runtime's host. */
  public static List<String> inNamespace(String ns, Map<String, String> env, String binary) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "env"));
    env.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.add(binary);
    return cmd;
  }

  /** The conflist this chain runs. */
  public String conflist() {
    return conflist.toString();
  }

  public Outcome add(String containerId, String netns, String ifName, String args) {
    return add(containerId, netns, ifName, args, Map.of());
  }

  /** ADD, with values for the capabilities plugins may declare ({@code runtimeConfig}). */
  public Outcome add(String containerId, String netns, String ifName, String args, Map<String, ?> capabilities) {
    JsonNode prev = null;
    Map<String, Long> millis = new LinkedHashMap<>();
    for (JsonNode plugin : plugins()) {
      String type = plugin.path("type").asText();
      long t0 = System.nanoTime();
      Run r = exec("ADD", pluginConf(plugin, prev, capabilities), containerId, netns, ifName, args);
      millis.put(type, (System.nanoTime() - t0) / 1_000_000);
      if (r.exit() != 0) {
        return new Outcome(false, r.stdout(), type, errorOf(r), millis);
      }
      try {
        prev = JSON.readTree(r.stdout());
      } catch (IOException e) {
        return new Outcome(false, r.stdout(), type, "unparseable result: " + r.stdout(), millis);
      }
    }
    return new Outcome(true, prev == null ? "{}" : prev.toString(), "", "", millis);
  }

  public Outcome check(String containerId, String netns, String ifName, String args, String lastResult) {
    return check(containerId, netns, ifName, args, lastResult, Map.of());
  }

  /** CHECK of every plugin in order, with {@code lastResult} (the ADD's final result) as {@code prevResult}. */
  public Outcome check(String containerId, String netns, String ifName, String args, String lastResult,
      Map<String, ?> capabilities) {
    JsonNode prev;
    try {
      prev = JSON.readTree(lastResult);
    } catch (IOException e) {
      throw new IllegalArgumentException("the last result is not JSON: " + e.getMessage(), e);
    }
    for (JsonNode plugin : plugins()) {
      Run r = exec("CHECK", pluginConf(plugin, prev, capabilities), containerId, netns, ifName, args);
      if (r.exit() != 0) {
        return new Outcome(false, r.stdout(), plugin.path("type").asText(), errorOf(r), Map.of());
      }
    }
    return new Outcome(true, "", "", "", Map.of());
  }

  public Outcome del(String containerId, String netns, String ifName, String args) {
    return del(containerId, netns, ifName, args, Map.of());
  }

  /** DEL, with the capability values the ADD had: every plugin, in reverse, the first failure reported. */
  public Outcome del(String containerId, String netns, String ifName, String args, Map<String, ?> capabilities) {
    List<JsonNode> ps = plugins();
    Outcome first = null;
    for (int i = ps.size() - 1; i >= 0; i--) {
      Run r = exec("DEL", pluginConf(ps.get(i), null, capabilities), containerId, netns, ifName, args);
      if (r.exit() != 0 && first == null) {
        first = new Outcome(false, r.stdout(), ps.get(i).path("type").asText(), errorOf(r), Map.of());
      }
    }
    return first == null ? new Outcome(true, "", "", "", Map.of()) : first;
  }

  private List<JsonNode> plugins() {
    List<JsonNode> out = new ArrayList<>();
    conflist.path("plugins").forEach(out::add);
    return out;
  }

  private ObjectNode pluginConf(JsonNode plugin, JsonNode prev, Map<String, ?> capabilities) {
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

  private Run exec(String command, ObjectNode conf, String containerId, String netns, String ifName, String args) {
    String type = conf.path("type").asText();
    String binary = lookup.apply(type);
    if (binary == null) {
      return new Run(127, "", "CNI plugin '" + type + "' not found in " + binDirs);
    }
    if (!args.isEmpty() && !args.startsWith("IgnoreUnknown=")) {
      args = "IgnoreUnknown=1;" + args;
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("CNI_COMMAND", command);
    env.put("CNI_CONTAINERID", containerId);
    env.put("CNI_NETNS", netns);
    env.put("CNI_IFNAME", ifName);
    env.put("CNI_PATH", binDirs);
    env.put("CNI_ARGS", args);
    return launcher.run(env, binary, conf.toString());
  }

  /** A failed plugin's CNI error ({@code msg: details}), or its exit code and output when it printed none. */
  static String errorOf(Run r) {
    try {
      JsonNode err = JSON.readTree(r.stdout());
      if (err != null && err.has("msg")) {
        return err.path("msg").asText() + (err.has("details") ? ": " + err.path("details").asText() : "");
      }
    } catch (IOException ignored) {
      // not JSON: the exit code and output say it
    }
    return ("exit " + r.exit() + " " + r.stderr() + " " + r.stdout()).trim();
  }
}
