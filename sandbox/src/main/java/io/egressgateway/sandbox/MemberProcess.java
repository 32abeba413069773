package io.egressgateway.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One cluster member of the sandbox: the real distribution ({@code egress run}) started inside a simulated
 * node's namespace, so that namespace is its host network exactly as hostNetwork is on a real node.
 */
public final class MemberProcess {
  private final String node;
  private final String ns;
  private final String ip;
  private final int managementPort;
  private final Process process;

  private MemberProcess(String node, String ns, String ip, int managementPort, Process process) {
    this.node = node;
    this.ns = ns;
    this.ip = ip;
    this.managementPort = managementPort;
    this.process = process;
  }

  /**
   * Starts {@code egress run} for {@code node} in {@code ns}; {@code env} carries the EGRESS_* settings
   * beyond identity (journal, Kubernetes, roles...).
   */
  public static MemberProcess start(NetLab lab, Path distLib, String node, String ns, String ip, List<String> roles,
      String seed, Map<String, String> env) {
    int mgmt = 8558;
    List<String> cmd = new ArrayList<>(List.of("env"));
    env.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(List.of(
        "EGRESS_NODE_NAME=" + node,
        "EGRESS_ROLES=" + String.join(",", roles),
        "EGRESS_REMOTE_HOST=" + ip,
        "EGRESS_REMOTE_PORT=25520",
        "EGRESS_SEED_NODES=" + seed,
        "EGRESS_MANAGEMENT_HOST=" + ip,
        "EGRESS_MANAGEMENT_PORT=" + mgmt,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Djdk.httpclient.allowRestrictedHeaders=content-length",
        "-cp", distLib + "/*", "io.egressgateway.app.Main", "run"));
    Process p = lab.spawn("member-" + node, ns, cmd);
    return new MemberProcess(node, ns, ip, mgmt, p);
  }

  public String node() {
    return node;
  }

  public String namespace() {
    return ns;
  }

  public String ip() {
    return ip;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** GET on the member's management endpoint, from inside its namespace; the HTTP status or -1. */
  public int managementStatus(String path) {
    Sh.Result r = Sh.quiet(ns, "curl", "-s", "-o", "/dev/null", "-m", "3", "-w", "%{http_code}",
        "http://" + ip + ":" + managementPort + "/" + path);
    try {
      return Integer.parseInt(r.out().trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  public String management(String path) {
    return Sh.quiet(ns, "curl", "-s", "-m", "3", "http://" + ip + ":" + managementPort + "/" + path).out();
  }

  /** Waits until the process has exited. */
  public void awaitExit(java.time.Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("still running after " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM, as the kubelet does; the member drains and leaves. */
  public void stop() {
    process.destroy();
  }
}
