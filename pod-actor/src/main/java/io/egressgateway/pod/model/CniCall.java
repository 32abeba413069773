package io.egressgateway.pod.model;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One CNI call forwarded by the plugin, with what the agent needs pulled out of it.
 *
 * @param command      ADD, DEL or CHECK
 * @param containerId  CNI_CONTAINERID
 * @param netns        CNI_NETNS (a path)
 * @param ifName       CNI_IFNAME
 * @param cniArgs      CNI_ARGS as key/value pairs (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID, ...)
 * @param cniVersion   the configuration's cniVersion
 * @param prevResult   the previous plugin's result, JSON text; empty when absent
 * @param podIp        the pod's first IPv4 address from prevResult (no prefix); empty when absent
 * @param eth0Gateway  the gateway of that address in prevResult; empty when absent
 * @param excludedCidrs the CNI configuration's {@code excludedCIDRs}
 * @param validContainerIds GC (CNI 1.1): the containers of the configuration's {@code cni.dev/valid-attachments}
 */
public record CniCall(
    String command,
    String containerId,
    String netns,
    String ifName,
    Map<String, String> cniArgs,
    String cniVersion,
    String prevResult,
    String podIp,
    String eth0Gateway,
    List<String> excludedCidrs,
    List<String> validContainerIds) {

  public CniCall(String command, String containerId, String netns, String ifName, Map<String, String> cniArgs,
      String cniVersion, String prevResult, String podIp, String eth0Gateway, List<String> excludedCidrs) {
    this(command, containerId, netns, ifName, cniArgs, cniVersion, prevResult, podIp, eth0Gateway, excludedCidrs, List.of());
  }

  public CniCall {
    Objects.requireNonNull(command, "command");
    containerId = containerId == null ? "" : containerId;
    netns = netns == null ? "" : netns;
    ifName = ifName == null ? "" : ifName;
    cniArgs = cniArgs == null ? Map.of() : Map.copyOf(cniArgs);
    cniVersion = cniVersion == null || cniVersion.isEmpty() ? "1.0.0" : cniVersion;
    prevResult = prevResult == null ? "" : prevResult;
    podIp = podIp == null ? "" : podIp;
    eth0Gateway = eth0Gateway == null ? "" : eth0Gateway;
    excludedCidrs = excludedCidrs == null ? List.of() : List.copyOf(excludedCidrs);
    validContainerIds = validContainerIds == null ? List.of() : List.copyOf(validContainerIds);
  }

  public String podNamespace() {
    return cniArgs.getOrDefault("K8S_POD_NAMESPACE", "");
  }

  public String podName() {
    return cniArgs.getOrDefault("K8S_POD_NAME", "");
  }

  /** The pod uid when the runtime passes it (containerd and CRI-O do). */
  public String podUid() {
    return cniArgs.getOrDefault("K8S_POD_UID", "");
  }

  /** Parses {@code K1=v1;K2=v2}; malformed pieces are ignored as runtimes do. */
  public static Map<String, String> parseArgs(String args) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    if (args == null) {
      return m;
    }
    for (String part : args.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
      }
    }
    return m;
  }
}
