package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sandbox's cluster members, one {@link MemberProcess} per simulated node in start order, each with its
 * node's role so checks can ask every member of a kind. Waits for them to be ready and stops them the way
 * a node drain would.
 */
final class Members {
  private final NetLab lab;
  private final Path distLib;
  private final PrintStream out;
  private final List<MemberProcess> started = new ArrayList<>();
  private final Map<String, String> roleByNode = new HashMap<>();
  /** Each node's journal kind as its member was told ({@code EGRESS_JOURNAL_MODE}). */
  private final Map<String, String> journalByNode = new HashMap<>();
  /** How each node's member was started, to start it again the same way. */
  private final Map<String, Runnable> starters = new HashMap<>();

  Members(NetLab lab, Path distLib, PrintStream out) {
    this.lab = lab;
    this.distLib = distLib;
    this.out = out;
  }

  /** Starts {@code egress run} in {@code n}'s namespace with {@code n}'s role as its only role. */
  void start(Sandbox.SimNode n, String seed, Map<String, String> env) {
    Runnable starter = () -> started.add(MemberProcess.start(lab, distLib, n.name(), n.ns(), n.ip(), List.of(n.role()),
        seed, env));
    starter.run();
    roleByNode.put(n.name(), n.role());
    journalByNode.put(n.name(), env.getOrDefault("EGRESS_JOURNAL_MODE", "embedded"));
    starters.put(n.name(), starter);
  }

  /**
   * Restarts the members of {@code nodes} as a rolling agent upgrade does (SIGTERM, wait for the exit,
   * start again with the same settings; what the member made on its node stays), then waits until every
   * member is ready again; false at the timeout. {@code whileDown} runs for each node while its member is
   * stopped.
   */
  boolean restart(List<String> nodes, Duration timeout, java.util.function.Consumer<String> whileDown) {
    for (String node : nodes) {
      MemberProcess old = started.stream().filter(m -> m.node().equals(node)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no member on node " + node));
      old.stop();
      old.awaitExit(Duration.ofSeconds(30));
      started.remove(old);
      whileDown.accept(node);
      starters.get(node).run();
    }
    return awaitReady(timeout);
  }

  /** Until every member's management endpoint answers ready; false at the timeout or when one exits. */
  boolean awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (started.stream().allMatch(m -> m.managementStatus("ready") == 200)) {
        return true;
      }
      if (started.stream().anyMatch(m -> !m.isAlive())) {
        out.println("a member exited: " + started.stream().filter(m -> !m.isAlive()).map(MemberProcess::node).toList()
            + " (logs in " + lab.workDir() + ")");
        return false;
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  /** One entry per member: its name (and log file), node, role, journal kind, whether it is ready now, pid. */
  void report(ArrayNode ms) {
    for (MemberProcess m : started) {
      ms.addObject().put("name", "member-" + m.node()).put("node", m.node()).put("role", roleByNode.get(m.node()))
          .put("journal", journalByNode.get(m.node())).put("ready", m.managementStatus("ready") == 200).put("pid", m.pid());
    }
  }

  /** {@code node@ip} of each member, in start order. */
  List<String> addresses() {
    return started.stream().map(m -> m.node() + "@" + m.ip()).toList();
  }

  /** The /metrics text of every member whose node has {@code role}, concatenated in start order. */
  String metrics(String role) {
    return started.stream().filter(m -> role.equals(roleByNode.get(m.node())))
        .map(m -> m.management("metrics")).reduce("", String::concat);
  }

  /** SIGTERM to all, then waits for each (bounded); one that does not stop is reported, not fatal. */
  void stop() {
    started.forEach(MemberProcess::stop);
    for (MemberProcess m : started) {
      try {
        m.awaitExit(Duration.ofSeconds(20));
      } catch (RuntimeException e) {
        out.println("member " + m.node() + " did not stop: " + e.getMessage());
      }
    }
  }
}
