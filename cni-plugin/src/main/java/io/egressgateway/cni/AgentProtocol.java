package io.egressgateway.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The plugin-to-agent exchange on the unix socket: one request, one response, one connection. The plugin
 * writes a JSON object and shuts its output down; the agent answers with one JSON object and closes.
 *
 * <pre>
 * request:  {"command":"ADD","containerId":"..","netns":"..","ifName":"..","args":"..","path":"..",
 *            "config":{ the network configuration exactly as the runtime passed it on stdin }}
 * response: {"result":{ CNI result, printed as is }}            success (ADD, CHECK may carry no result)
 *           {"error":{"code":N,"msg":"..","details":".."}}      a CNI error
 * </pre>
 */
public final class AgentProtocol {
  public static final String DEFAULT_SOCKET = "/var/run/kube-egress-gateway/cni.sock";

  private AgentProtocol() {}

  /** The request for one plugin invocation; {@code config} is the parsed stdin. */
  public static String request(Map<String, String> env, Map<String, Object> config) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("command", env.getOrDefault("CNI_COMMAND", ""));
    m.put("containerId", env.getOrDefault("CNI_CONTAINERID", ""));
    m.put("netns", env.getOrDefault("CNI_NETNS", ""));
    m.put("ifName", env.getOrDefault("CNI_IFNAME", ""));
    m.put("args", env.getOrDefault("CNI_ARGS", ""));
    m.put("path", env.getOrDefault("CNI_PATH", ""));
    m.put("config", config);
    return Json.write(m);
  }
}
