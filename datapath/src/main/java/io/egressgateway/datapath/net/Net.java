package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Namespace, link, address and route helpers over {@code ip}. Every call is addressed to one namespace
 * ({@code ip -n}); the empty namespace is the agent's own. Only the callers decide what to touch: these
 * helpers never act on objects they were not named.
 */
public final class Net {
  private static final Pattern LINK = Pattern.compile("^\\d+: ([^:@\\s]+)[@:].*?(?:\\\\\\s+alias (\\S+))?\\s*$");

  private Net() {}

  /** {@code ip [-n netns] args...} */
  public static List<String> ip(String netns, String... args) {
    List<String> a = new ArrayList<>(args.length + 3);
    a.add("ip");
    if (netns != null && !netns.isEmpty()) {
      a.add("-n");
      a.add(netns);
    }
    a.addAll(List.of(args));
    return a;
  }

  /** A link as {@code ip -o link show} lists it. */
  public record Link(String name, String alias, boolean up) {}

  public static boolean netnsExists(String netns) {
    return java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/netns", netns));
  }

  /** Names of all named network namespaces. */
  public static List<String> listNetns(CommandRunner cmd) {
    List<String> out = new ArrayList<>();
    for (String line : cmd.run(List.of("ip", "netns", "list")).stdout().split("\n")) {
      String n = line.strip();
      if (!n.isEmpty()) {
        out.add(n.split("\\s+")[0]);
      }
    }
    return out;
  }

  /** Creates {@code netns} with loopback up; an existing one is kept. */
  public static void ensureNetns(CommandRunner cmd, String netns) {
    if (!netnsExists(netns)) {
      cmd.run(List.of("ip", "netns", "add", netns));
    }
    cmd.run(ip(netns, "link", "set", "lo", "up"));
  }

  /** Deletes {@code netns} (and with it every link inside); absent is fine. */
  public static void deleteNetns(CommandRunner cmd, String netns) {
    if (netnsExists(netns)) {
      cmd.run(List.of("ip", "netns", "del", netns));
    }
  }

  public static List<Link> links(CommandRunner cmd, String netns) {
    List<Link> out = new ArrayList<>();
    for (String line : cmd.run(ip(netns, "-o", "link", "show")).stdout().split("\n")) {
      Optional.ofNullable(parseLink(line)).ifPresent(out::add);
    }
    return out;
  }

  public static Optional<Link> link(CommandRunner cmd, String netns, String name) {
    CommandRunner.Result r = cmd.attempt(ip(netns, "-o", "link", "show", "dev", name));
    return r.ok() ? Optional.ofNullable(parseLink(r.stdout().strip())) : Optional.empty();
  }

  static Link parseLink(String line) {
    Matcher m = LINK.matcher(line);
    if (!m.find()) {
      return null;
    }
    int flagsAt = line.indexOf('<');
    String flags = flagsAt < 0 ? "" : line.substring(flagsAt, line.indexOf('>', flagsAt) + 1);
    return new Link(m.group(1), m.group(2) == null ? "" : m.group(2), flags.matches(".*[<,]UP[,>].*"));
  }

  /** Sets a sysctl inside {@code netns} (e.g. {@code net.ipv4.ip_forward=1}). */
  public static void sysctl(CommandRunner cmd, String netns, String key, String value) {
    cmd.run(CommandRunner.inNetns(netns, List.of("sysctl", "-q", "-w", key + "=" + value)));
  }
}
