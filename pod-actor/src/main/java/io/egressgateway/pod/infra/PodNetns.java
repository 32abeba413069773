package io.egressgateway.pod.infra;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a {@code CNI_NETNS} before the agent does anything in it. Only what a container runtime passes for a
 * pod is accepted, in canonical form:
 *
 * <ul>
 *   <li>{@code /var/run/netns/<name>} or {@code /run/netns/<name>} (a plain name, no path tricks), whose file
 *       exists; or {@code /proc/<pid>/ns/net} of a live process;
 *   <li>the path must already be normalised: {@code /var/run/netns/../../proc/1/ns/net} is refused, not
 *       resolved;
 *   <li>the namespace it names must not be the host's (that of pid 1) nor the agent's own: a request naming
 *       either would have the agent rewire the node itself.
 * </ul>
 *
 * Namespaces are compared by identity (the nsfs inode), so a second name for the host namespace is refused too.
 */
public final class PodNetns {
  private static final Pattern NAMED = Pattern.compile("^(/var/run/netns|/run/netns)/([A-Za-z0-9][A-Za-z0-9_.-]{0,254})$");
  private static final Pattern PROC = Pattern.compile("^/proc/([1-9][0-9]{0,9})/ns/net$");

  private final Path hostNs;
  private final Path ownNs;

  /** With the real host ({@code /proc/1/ns/net}) and agent ({@code /proc/self/ns/net}) namespaces. */
  public PodNetns() {
    this(Path.of("/proc/1/ns/net"), Path.of("/proc/self/ns/net"));
  }

  PodNetns(Path hostNs, Path ownNs) {
    this.hostNs = hostNs;
    this.ownNs = ownNs;
  }

  /** Why {@code path} is not acceptable as a pod's network namespace; empty when it is. */
  public Optional<String> problem(String path) {
    Optional<String> syntax = syntaxProblem(path);
    if (syntax.isPresent()) {
      return syntax;
    }
    Path p = Path.of(path);
    if (!Files.exists(p)) {
      return Optional.of("pod network namespace " + path + " does not exist");
    }
    Optional<Long> id = identity(p);
    if (id.isEmpty()) {
      return Optional.of("CNI_NETNS " + path + " is not a network namespace");
    }
    if (identity(hostNs).equals(id)) {
      return Optional.of("CNI_NETNS " + path + " is the host's network namespace");
    }
    if (identity(ownNs).equals(id)) {
      return Optional.of("CNI_NETNS " + path + " is the node agent's own network namespace");
    }
    return Optional.empty();
  }

  /** The checks that need no file system: the path's form only. */
  public static Optional<String> syntaxProblem(String path) {
    if (path == null || path.isEmpty()) {
      return Optional.of("CNI_NETNS is empty");
    }
    if (!path.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      return Optional.of("CNI_NETNS holds whitespace or control characters");
    }
    Matcher named = NAMED.matcher(path);
    Matcher proc = PROC.matcher(path);
    if (!named.matches() && !proc.matches()) {
      return Optional.of("CNI_NETNS " + path + " is not /var/run/netns/<name>, /run/netns/<name> or /proc/<pid>/ns/net");
    }
    if (named.matches() && (named.group(2).equals(".") || named.group(2).equals(".."))) {
      return Optional.of("CNI_NETNS " + path + " is not a namespace name");
    }
    if (proc.matches() && Long.parseLong(proc.group(1)) == 1) {
      return Optional.of("CNI_NETNS " + path + " is the host's network namespace");
    }
    return Optional.empty();
  }

  /** The namespace's identity: the inode of its nsfs file (a {@code /proc/<pid>/ns/net} link is followed). */
  static Optional<Long> identity(Path p) {
    try {
      Object ino = Files.getAttribute(p, "unix:ino");
      return ino instanceof Long l ? Optional.of(l) : Optional.empty();
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
      return Optional.empty();
    }
  }
}
