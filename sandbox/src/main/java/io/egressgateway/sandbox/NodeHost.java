package io.egressgateway.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host file system of one simulated node: a directory ({@code <state>/nodes/<node>}) that stands for the
 * node's root, so that a pod's {@code hostPath} (the CNI directories, {@code /var/run/netns}, the agent's
 * socket directory, {@code /run/xtables.lock}, the node journals under {@code /var/lib/kube-egress-gateway})
 * is that node's own and not this machine's. {@code /var/run} is {@code /run}, as on the nodes.
 *
 * <p>The node's {@code /run/netns} is a shared mount point, as {@code ip netns} makes the real one: a
 * namespace a privileged gateway container creates there (bidirectional propagation) appears on the node,
 * and a pod namespace the node runtime binds there appears in the worker container (host-to-container).
 *
 * <p>Host programs of the node (the CNI plugins a container runtime runs) run through {@link #hostCommand}:
 * in the node's network namespace and in a private mount namespace where the node's {@code /opt/cni/bin}
 * and {@code /run} are mounted over this machine's.
 */
final class NodeHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeHost.class);

  private final String node;
  private final String netns;
  private final Path root;

  NodeHost(String node, String netns, Path root) {
    this.node = node;
    this.netns = netns;
    this.root = root;
  }

  /** Creates the node's root with an empty {@code /opt/cni/bin}, {@code /etc/cni/net.d} and a shared {@code /run/netns}. */
  static NodeHost create(String node, String netns, Path nodesDir) {
    NodeHost h = new NodeHost(node, netns, nodesDir.resolve(node));
    try {
      for (String d : List.of("opt/cni/bin", "etc/cni/net.d", "run/netns", "var/lib")) {
        Files.createDirectories(h.root.resolve(d));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String ns = h.root.resolve("run/netns").toString();
    Sh.must("mount", "--bind", ns, ns);
    Sh.must("mount", "--make-shared", ns);
    return h;
  }

  String node() {
    return node;
  }

  /** The node's network namespace (its name under /run/netns). */
  String netns() {
    return netns;
  }

  Path root() {
    return root;
  }

  /** Where {@code hostPath} of a pod on this node is on this machine. */
  Path hostPath(String path) {
    String p = Path.of("/").resolve(path).normalize().toString();
    if (p.equals("/var/run") || p.startsWith("/var/run/")) {
      p = p.substring("/var".length());
    }
    return root.resolve(p.substring(1));
  }

  /**
   * The primary network's configuration, as the cluster's network add-on (kubenet, Azure CNI) writes it
   * before any of the chart's pods run: {@code ptp} with {@code host-local} addresses from the node's pod
   * CIDR, the plugins linked into the node's {@code /opt/cni/bin} from this machine's containernetworking
   * package.
   */
  void installPrimaryNetwork(String podCidr) {
    try {
      Path bin = hostPath("/opt/cni/bin");
      for (String plugin : List.of("ptp", "host-local", "loopback")) {
        Path target = Path.of("/usr/lib/cni", plugin);
        if (!Files.isExecutable(target)) {
          throw new IllegalStateException("CNI plugin " + target + " is missing (package containernetworking-plugins)");
        }
        Files.deleteIfExists(bin.resolve(plugin));
        Files.createSymbolicLink(bin.resolve(plugin), target);
      }
      Files.writeString(hostPath("/etc/cni/net.d").resolve("10-sandbox-ptp.conflist"), """
          {
            "cniVersion": "1.0.0",
            "name": "sandbox",
            "plugins": [
              {"type": "ptp", "ipMasq": false, "mtu": 1500,
               "ipam": {"type": "host-local", "subnet": "%s", "dataDir": "/run/cni/networks", "routes": [{"dst": "0.0.0.0/0"}]}}
            ]
          }
          """.formatted(podCidr));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The first network configuration of the node's {@code /etc/cni/net.d} by name ({@code .conflist},
   * {@code .conf}, {@code .json}), as containerd picks it; null when there is none.
   */
  Path cniConfig() {
    try (var files = Files.list(hostPath("/etc/cni/net.d"))) {
      return files.filter(f -> f.getFileName().toString().matches("[^.].*\\.(conflist|conf|json)"))
          .min(Comparator.comparing(f -> f.getFileName().toString())).orElse(null);
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * {@code cmd} as a program on this node: in its network namespace, with the node's {@code /opt/cni/bin}
   * and {@code /run} (so {@code /var/run} too) mounted over this machine's in a mount namespace of its own.
   * {@code env} is set for the program.
   */
  List<String> hostCommand(Map<String, String> env, List<String> cmd) {
    return hostCommand(env, cmd, null);
  }

  /**
   * The same, the program joining the cgroup whose {@code cgroup.procs} is {@code cgroupProcs} (null: none)
   * as it starts: the namespace and mount set-up before it is not counted in that group.
   */
  List<String> hostCommand(Map<String, String> env, List<String> cmd, Path cgroupProcs) {
    if (cgroupProcs != null && !cgroupProcs.toString().matches("[A-Za-z0-9/_.-]+")) {
      throw new IllegalArgumentException("unexpected cgroup path " + cgroupProcs);
    }
    String script = String.join("; ", List.of(
        "set -e",
        // /opt/cni/bin need not exist here: a tmpfs over /opt is private to this mount namespace
        "if [ -d /opt/cni/bin ]; then mount --bind \"$1/opt/cni/bin\" /opt/cni/bin; "
            + "else mount -t tmpfs -o mode=0755 tmpfs /opt && mkdir -p /opt/cni/bin && mount --bind \"$1/opt/cni/bin\" /opt/cni/bin; fi",
        "mount --rbind \"$1/run\" /run",
        "[ -L /var/run ] || mount --rbind /run /var/run",
        "shift",
        cgroupProcs == null ? ":" : "{ echo $$ > " + cgroupProcs + "; } 2>/dev/null || true",
        "exec \"$@\""));
    List<String> full = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + netns, "--",
        "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", root.toString(), "env"));
    env.forEach((k, v) -> full.add(k + "=" + v));
    full.addAll(cmd);
    return full;
  }

  /** Makes the pod namespace {@code name} (under /run/netns here) visible as the node's /var/run/netns/{@code name}. */
  void bindPodNetns(String name) {
    Path target = hostPath("/run/netns").resolve(name);
    try {
      if (!Files.exists(target)) {
        Files.createFile(target);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Sh.must("mount", "--bind", "/run/netns/" + name, target.toString());
  }

  /** Undoes {@link #bindPodNetns}. */
  void unbindPodNetns(String name) {
    Path target = hostPath("/run/netns").resolve(name);
    Sh.quiet(null, "umount", target.toString());
    try {
      Files.deleteIfExists(target);
    } catch (IOException e) {
      log.warn("node {}: cannot remove {}: {}", node, target, e.getMessage());
    }
  }

  /** Namespaces in the node's /run/netns (the gateway's own and bound pod namespaces). */
  List<String> namespaces() {
    try (var files = Files.list(hostPath("/run/netns"))) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * Unmounts everything mounted under the node's root (its namespaces, the shared /run/netns) and deletes
   * it; what cannot be unmounted is left in place and returned.
   */
  List<String> remove() {
    for (String m : mountsUnder(root)) {
      Sh.quiet(null, "umount", "--lazy", m);
    }
    List<String> left = mountsUnder(root);
    if (!left.isEmpty()) {
      log.warn("node {}: still mounted, not removing {}: {}", node, root, left);
      return left;
    }
    try (var s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      log.warn("node {}: cannot remove {}: {}", node, root, e.getMessage());
    }
    return List.of();
  }

  @Override
  public void close() {
    remove();
  }

  /** Mount points at or below {@code dir}, deepest first (from /proc/self/mountinfo). */
  static List<String> mountsUnder(Path dir) {
    String prefix = dir.toAbsolutePath().normalize().toString();
    List<String> found = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length > 4) {
          String mp = f[4].replace("\\040", " ");
          if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
            found.add(mp);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    found.sort(Comparator.comparingInt(String::length).reversed());
    return found;
  }
}
