package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What is on a node that the release could have put there: files in its CNI directories, network
 * namespaces in its {@code /var/run/netns}, links and nft tables in its network namespace. Taken once
 * before {@code helm install} and again after {@code helm uninstall}; the difference is what the product
 * left behind ({@link #leftover}).
 */
record NodeInventory(List<String> files, List<String> namespaces, List<String> links, List<String> nft) {

  static NodeInventory of(NodeHost h) {
    List<String> files = new ArrayList<>();
    for (String dir : List.of("/opt/cni/bin", "/etc/cni/net.d")) {
      files.addAll(list(h.hostPath(dir), dir));
    }
    List<String> namespaces = list(h.hostPath("/var/run/netns"), "/var/run/netns");
    List<String> links = new ArrayList<>();
    for (String line : Sh.quiet(null, "ip", "-n", h.netns(), "-o", "link", "show").stdout().split("\n")) {
      String[] f = line.split(":\\s+", 3);
      if (f.length >= 2) {
        links.add(f[1].split("@")[0].trim());
      }
    }
    // the tables, and every rule carrying our ownership marker (in tables that are not ours, like the host's nat)
    List<String> nft = new ArrayList<>(Sh.quiet(h.netns(), "nft", "list", "tables").stdout().lines().map(String::trim)
        .filter(l -> !l.isEmpty()).toList());
    Sh.quiet(h.netns(), "nft", "list", "ruleset").stdout().lines().map(String::trim).filter(l -> l.contains("egress-gateway"))
        .map(l -> "rule: " + l).forEach(nft::add);
    return new NodeInventory(files, namespaces, links, nft);
  }

  private static List<String> list(Path dir, String shownAs) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var s = Files.list(dir)) {
      return s.map(p -> shownAs + "/" + p.getFileName()).sorted().toList();
    } catch (IOException e) {
      return List.of(shownAs + " (unreadable: " + e.getMessage() + ")");
    }
  }

  /**
   * Writes under {@code out} ({@code nodeFiles}, {@code namespaces}, {@code links}, {@code nft}) what each
   * node has now and did not have in {@code before}, as {@code node: item}; true when nothing.
   */
  static boolean leftover(Map<String, NodeInventory> before, Map<String, NodeHost> hosts, ObjectNode out) {
    ArrayNode files = out.putArray("nodeFiles");
    ArrayNode namespaces = out.putArray("namespaces");
    ArrayNode links = out.putArray("links");
    ArrayNode nft = out.putArray("nft");
    boolean none = true;
    for (var e : before.entrySet()) {
      NodeHost h = hosts.get(e.getKey());
      if (h == null) {
        continue;
      }
      NodeInventory now = of(h);
      none &= added(e.getKey(), e.getValue().files(), now.files(), files);
      none &= added(e.getKey(), e.getValue().namespaces(), now.namespaces(), namespaces);
      none &= added(e.getKey(), e.getValue().links(), now.links(), links);
      none &= added(e.getKey(), e.getValue().nft(), now.nft(), nft);
    }
    return none;
  }

  private static boolean added(String node, List<String> before, List<String> now, ArrayNode out) {
    TreeSet<String> extra = new TreeSet<>(now);
    extra.removeAll(before);
    extra.forEach(x -> out.add(node + ": " + x));
    return extra.isEmpty();
  }
}
