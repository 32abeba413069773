package io.egressgateway.cni;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How the plugin tells, without the node agent, whether a pod can need a gateway. Two node-local sources, never
 * the network:
 *
 * <ol>
 *   <li>the pod's annotations, when the runtime passes them ({@code runtimeConfig} key
 *       {@value #POD_ANNOTATIONS}, which containerd fills in for a plugin whose conflist entry declares that
 *       capability): an annotated pod needs a gateway; one without the annotation needs none, unless the file below
 *       says a cluster-wide policy selects pods of its namespace (a line {@code policy <namespace>});
 *   <li>otherwise the file {@value #FILE} next to the agent's socket, which the agent keeps current: the
 *       namespaces that hold at least one gateway configuration or where a policy selects pods, one per line. A pod
 *       of any other namespace cannot name a configuration that exists (an SGC is named in the pod's own
 *       namespace), and no policy selects it.
 * </ol>
 *
 * Anything else (no annotations, no file, the pod's namespace listed, an unreadable file) means the pod may need
 * a gateway, and the ADD fails closed as before.
 */
public final class NodeHints {
  /** The agent's file of namespaces that hold gateway configurations, next to its socket. */
  public static final String FILE = "gateway-namespaces";
  /** The runtimeConfig capability under which containerd passes the pod's annotations. */
  public static final String POD_ANNOTATIONS = "io.kubernetes.cri.pod-annotations";
  /** The annotation that asks for a gateway. */
  public static final String GATEWAY_ANNOTATION = "kubernetes.azure.com/static-gateway-configuration";

  /** The prefix of a line naming a namespace where a policy selects pods without the annotation. */
  public static final String POLICY = "policy ";

  /** Whether the pod is plain (certainly needs no gateway), and why that was decided. */
  public record Decision(boolean plain, String why) {}

  private NodeHints() {}

  public static Decision decide(Map<String, Object> conf, Map<String, String> env, Path socket) {
    Map<String, Object> runtimeConfig = Json.obj(conf, "runtimeConfig");
    Map<String, Object> annotations = runtimeConfig == null ? null : Json.obj(runtimeConfig, POD_ANNOTATIONS);
    String namespace = argsOf(env.getOrDefault("CNI_ARGS", "")).getOrDefault("K8S_POD_NAMESPACE", "");
    if (annotations != null) {
      Object gw = annotations.get(GATEWAY_ANNOTATION);
      boolean annotated = gw instanceof String s && !s.isBlank();
      if (annotated) {
        return new Decision(false, "the pod is annotated for gateway configuration '" + gw + "'");
      }
      Path file = socket.toAbsolutePath().getParent().resolve(FILE);
      try {
        boolean selected = !namespace.isEmpty() && Files.readAllLines(file, StandardCharsets.UTF_8).stream()
            .map(String::trim)
            .anyMatch(l -> l.startsWith(POLICY) && l.substring(POLICY.length()).trim().equals(namespace));
        return selected
            ? new Decision(false, "a policy selects pods of namespace " + namespace + " (" + file + ")")
            : new Decision(true, "the runtime's pod annotations ask for no gateway and no policy selects pods of namespace "
                + namespace);
      } catch (IOException e) {
        return new Decision(true, "the runtime's pod annotations ask for no gateway (no " + file + " names a policy)");
      }
    }
    if (namespace.isEmpty()) {
      return new Decision(false, "CNI_ARGS names no pod namespace");
    }
    Path file = socket.toAbsolutePath().getParent().resolve(FILE);
    Set<String> namespaces;
    try {
      namespaces = Files.readAllLines(file, StandardCharsets.UTF_8).stream()
          .map(String::trim)
          .filter(l -> !l.isEmpty() && !l.startsWith("#"))
          .collect(Collectors.toSet());
    } catch (IOException e) {
      return new Decision(false, "no pod annotations from the runtime and no " + file + " from the agent");
    }
    return namespaces.contains(namespace)
        ? new Decision(false, "namespace " + namespace + " holds gateway configurations")
        : new Decision(true, "namespace " + namespace + " holds no gateway configuration (" + file + ")");
  }

  /** The agent has left its namespaces file on this node. */
  public static boolean present(Path socket) {
    return Files.isReadable(socket.toAbsolutePath().getParent().resolve(FILE));
  }

  /** {@code K1=v1;K2=v2}, malformed pieces ignored, as runtimes do. */
  static Map<String, String> argsOf(String args) {
    Map<String, String> m = new java.util.HashMap<>();
    for (String part : args.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
      }
    }
    return m;
  }
}
