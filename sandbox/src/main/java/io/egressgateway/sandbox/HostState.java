package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the sandbox touches outside its own namespaces, on the host it shares with everything else: links in
 * the namespace it runs in, wireguard-go UAPI sockets, and the inotify instance limit. Remembers how the
 * host looked before the run, so teardown can report exactly what the run left behind and put the limit back.
 * (The gateways' own namespaces live in their nodes' {@code /var/run/netns}, see {@link NodeHost}.)
 */
final class HostState {
  /** Every wireguard-go device holds an inotify instance; all simulated nodes share this host's limit. */
  private static final int INOTIFY_NEEDED = 8192;

  private final PrintStream out;
  private List<String> rootLinksBefore = List.of();
  private List<String> wgSocketsBefore = List.of();
  private String inotifyBefore;

  HostState(PrintStream out) {
    this.out = out;
  }

  /** Notes the links and sockets already there, then raises the inotify limit if it is too low for the run. */
  void prepare() {
    rootLinksBefore = rootLinks();
    wgSocketsBefore = wgSockets();
    raiseInotifyLimit();
  }

  /** Records under {@code leftover} the namespaces, processes and links that outlived the teardown. */
  void recordLeftovers(NetLab lab, ObjectNode report) {
    ObjectNode left = report.putObject("leftover");
    ArrayNode ns = left.putArray("namespaces");
    lab.existingNamespaces().forEach(ns::add);
    ArrayNode procs = left.putArray("processes");
    lab.livePids().forEach(procs::add);
    ArrayNode links = left.putArray("links");
    rootLinks().stream().filter(l -> !rootLinksBefore.contains(l)).forEach(links::add);
    wgSockets().stream().filter(w -> !wgSocketsBefore.contains(w)).forEach(w -> links.add("wireguard UAPI socket " + w));
  }

  void restoreInotifyLimit() {
    if (inotifyBefore != null) {
      try {
        Sh.must("sysctl", "-qw", "fs.inotify.max_user_instances=" + inotifyBefore);
      } catch (RuntimeException e) {
        out.println("could not restore fs.inotify.max_user_instances to " + inotifyBefore + ": " + e.getMessage());
      }
    }
  }

  private void raiseInotifyLimit() {
    try {
      // sysctl both ways: Java's file reads and writes split procfs access into several calls, and the
      // kernel takes only the first (a read of "128" gave "1", a write of "8192" set 8)
      String now = Sh.must("sysctl", "-n", "fs.inotify.max_user_instances").trim();
      if (Integer.parseInt(now) < INOTIFY_NEEDED) {
        Sh.must("sysctl", "-qw", "fs.inotify.max_user_instances=" + INOTIFY_NEEDED);
        inotifyBefore = now;
        out.println("fs.inotify.max_user_instances raised from " + now + " to " + INOTIFY_NEEDED
            + " for the run (every simulated node's wireguard-go devices share this host's limit)");
      }
    } catch (RuntimeException e) {
      out.println("could not raise fs.inotify.max_user_instances: " + e.getMessage());
    }
  }

  /** Link names in the namespace the sandbox runs in (it must not leave any behind there). */
  private static List<String> rootLinks() {
    List<String> names = new ArrayList<>();
    for (String line : Sh.quiet(null, "ip", "-o", "link", "show").stdout().split("\n")) {
      String[] f = line.split(":\\s+", 3);
      if (f.length >= 2) {
        names.add(f[1].split("@")[0].trim());
      }
    }
    return names;
  }

  /** wireguard-go UAPI sockets on this host. */
  private static List<String> wgSockets() {
    try (var files = Files.list(Path.of("/var/run/wireguard"))) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
