package io.egressgateway.pod.infra;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.NetnsName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CNI passes a pod's namespace as a path; {@code ip -n} wants a name. A path under {@code /var/run/netns}
 * or {@code /run/netns} is its file name. A {@code /proc/<pid>/ns/net} path gets a name of our own,
 * {@code egp-<pid>}, made with {@code ip netns attach} and released on detach. Every name given out is parsed
 * ({@link NetnsName}: no {@code /}, no {@code ..}, no whitespace), whatever checked the path before.
 */
final class NetnsNames {
  private static final Pattern PROC = Pattern.compile("^/proc/(\\d+)/ns/net$");
  private static final String ATTACH_PREFIX = "egp-";

  private NetnsNames() {}

  /** The name for {@code path}, attaching one if needed; fails if the namespace does not exist. */
  static String resolve(CommandRunner cmd, String path) {
    Optional<String> named = find(path);
    if (named.isPresent()) {
      return named.get();
    }
    Matcher m = PROC.matcher(path);
    if (m.matches() && Files.exists(Path.of(path))) {
      String name = NetnsName.parse(ATTACH_PREFIX + m.group(1)).value();
      cmd.run(List.of("ip", "netns", "attach", name, m.group(1)));
      return name;
    }
    throw new IllegalStateException("pod network namespace " + path + " does not exist or is not a netns path");
  }

  /** The existing name for {@code path}, if it has one already. */
  static Optional<String> find(String path) {
    for (String dir : List.of("/var/run/netns/", "/run/netns/")) {
      if (path.startsWith(dir)) {
        // parsed before it names a file: "../../proc/1/ns/net" is no namespace name, and has none here
        String name;
        try {
          name = NetnsName.parse(path.substring(dir.length())).value();
        } catch (IllegalArgumentException e) {
          return Optional.empty();
        }
        return Files.exists(Path.of(dir, name)) ? Optional.of(name) : Optional.empty();
      }
    }
    Matcher m = PROC.matcher(path);
    if (m.matches() && Files.exists(Path.of("/var/run/netns", ATTACH_PREFIX + m.group(1)))) {
      return Optional.of(ATTACH_PREFIX + m.group(1));
    }
    return Optional.empty();
  }

  /** Drops a name we attached (the namespace itself lives on while its process does). */
  static void release(CommandRunner cmd, String path) {
    Matcher m = PROC.matcher(path);
    if (m.matches()) {
      cmd.attempt(List.of("ip", "netns", "delete", NetnsName.parse(ATTACH_PREFIX + m.group(1)).value()));
    }
  }
}
