package io.egressgateway.cni;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
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
  /**
   * The directory, next to the socket, where a DEL that could not reach the agent waits for the agent's next
   * start (one request per file, as it would have been sent). The agent's {@code CniServer} reads it.
   */
  public static final String DEFERRED_DIR = "deferred-del";

  private AgentProtocol() {}

  /**
   * Keeps a DEL {@code request} that could not reach the agent for the agent's next start: written whole
   * under a temporary name, readable by root only, then renamed into {@value #DEFERRED_DIR} next to
   * {@code socket}. Returns the file.
   */
  public static Path defer(Path socket, String containerId, String request) throws IOException {
    Path dir = socket.toAbsolutePath().getParent().resolve(DEFERRED_DIR);
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    String name = containerId.replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + System.currentTimeMillis() + "-"
        + ProcessHandle.current().pid() + ".json";
    Path tmp = dir.resolve("." + name + ".tmp");
    Files.writeString(tmp, request, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
    return Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
  }

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
