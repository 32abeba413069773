package io.egressgateway.datapath;

import static org.junit.jupiter.api.Assertions.fail;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Prerequisites of privileged datapath tests: root and the tools. Missing ones skip the test locally and
 * fail it under {@code CI=true}.
 */
public final class Privileged {
  private static final List<String> TOOLS = List.of("ip", "wg", "wireguard-go", "nft", "curl", "socat");

  private Privileged() {}

  public static void require() {
    require(new String[0]);
  }

  /** As {@link #require()}, and these tools too (e.g. {@code conntrack} for a test that flushes a table). */
  public static void require(String... moreTools) {
    String missing = missing(List.of(moreTools));
    if (missing.isEmpty()) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("privileged test prerequisite missing under CI=true: " + missing);
    }
    Assumptions.abort("privileged test skipped: " + missing);
  }

  static String missing() {
    return missing(List.of());
  }

  static String missing(List<String> moreTools) {
    StringBuilder b = new StringBuilder();
    if (!"root".equals(System.getProperty("user.name"))) {
      b.append("not root; ");
    }
    for (String t : java.util.stream.Stream.concat(TOOLS.stream(), moreTools.stream()).toList()) {
      boolean found = Files.isExecutable(Path.of("/usr/bin", t)) || Files.isExecutable(Path.of("/usr/sbin", t))
          || Files.isExecutable(Path.of("/bin", t)) || Files.isExecutable(Path.of("/sbin", t));
      if (!found) {
        b.append(t).append(" not installed; ");
      }
    }
    if (!Files.exists(Path.of("/dev/net/tun"))) {
      b.append("no /dev/net/tun; ");
    }
    return b.toString();
  }

  /**
   * The set-up of a test that works in a namespace of its own: the prerequisites ({@link #require()}), then
   * {@code ns} made with a veth pair {@code a} and {@code b} in it. The test deletes {@code ns} when it is done.
   */
  public static void namespaceWithVeth(CommandRunner cmd, String ns, String a, String b) {
    require();
    Net.ensureNetns(cmd, ns);
    cmd.run(Net.ip(ns, "link", "add", a, "type", "veth", "peer", "name", b));
  }

  /** A short random suffix for namespace and link names owned by one test. */
  public static String suffix() {
    return UUID.randomUUID().toString().replace("-", "").substring(0, 6);
  }
}
