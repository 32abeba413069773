package io.egressgateway.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.ProcessLaunch;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point of the distribution ({@code ./egress} at the repository root, {@code bin/egress} in the image).
 *
 * <ul>
 *   <li>{@code run}: one member configured from the environment (what the Helm chart runs);
 *   <li>{@code local}: one member with every role on the embedded journal, management on 127.0.0.1:8558.
 * </ul>
 */
public final class Main {

  static final String USAGE = """
      usage: egress <command> [options]

      commands:
        local [--node NAME] [--management-port N] [--remote-port N]
                   start one member with all roles (controller, gateway, worker) on an embedded
                   PostgreSQL journal; management HTTP on 127.0.0.1:8558 (/alive, /ready,
                   /cluster/members, /cluster/shards/<type>, /metrics). Ctrl-C stops it cleanly.
        run        start one member configured from EGRESS_* environment variables (the Helm chart's
                   containers run this; see README "Configuration").
        help       show this text.
      """;

  private Main() {}

  public static void main(String[] args) {
    ProcessLaunch.useVfork();
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || List.of("help", "--help", "-h").contains(args[0])) {
      out.print(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    List<String> rest = new ArrayList<>(Arrays.asList(args).subList(1, args.length));
    try {
      return switch (args[0]) {
        case "run" -> runMember(MemberConfig.load(System.getenv(), ConfigFactory.empty()), out);
        case "local" -> runMember(localConfig(rest), out);
        default -> {
          err.println("egress: unknown command '" + args[0] + "'");
          err.print(USAGE);
          yield 2;
        }
      };
    } catch (IllegalArgumentException e) {
      err.println("egress: " + e.getMessage());
      return 2;
    }
  }

  /** {@code local}: every role, embedded journal, loopback everything. */
  static Config localConfig(List<String> options) {
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("egress.node-name", "local");
    values.put("egress.roles", List.of("controller", "gateway", "worker"));
    values.put("egress.discovery", "static");
    values.put("egress.journal.mode", "embedded");
    values.put("egress.app.kubernetes-api", false);
    values.put("akka.management.http.hostname", "127.0.0.1");
    values.put("akka.management.http.port", 8558);
    values.put("akka.remote.artery.canonical.hostname", "127.0.0.1");
    for (int i = 0; i < options.size(); i++) {
      String o = options.get(i);
      String v = i + 1 < options.size() ? options.get(i + 1) : null;
      switch (o) {
        case "--node" -> values.put("egress.node-name", require(o, v));
        case "--management-port" -> values.put("akka.management.http.port", port(o, require(o, v)));
        case "--remote-port" -> values.put("akka.remote.artery.canonical.port", port(o, require(o, v)));
        default -> throw new IllegalArgumentException("unknown option '" + o + "' for local");
      }
      i++;
    }
    return MemberConfig.load(Map.of(), ConfigFactory.parseMap(values, "egress local"));
  }

  private static int port(String option, String value) {
    try {
      int p = Integer.parseInt(value);
      if (p >= 0 && p <= 65535) {
        return p;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(option + " needs a port number, got '" + value + "'");
  }

  private static String require(String option, String value) {
    if (value == null) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return value;
  }

  private static int runMember(Config config, PrintStream out) {
    EgressMember member = EgressMember.start(config);
    Wiring.start(member, AzureWiring::provisioner);
    member.join();
    out.println("egress: member '" + member.settings().nodeName() + "' with roles " + member.settings().roles()
        + " is starting; management HTTP listens on " + member.managementUrl()
        + " (try " + member.managementUrl() + "ready and " + member.managementUrl() + "cluster/members)");
    out.flush();
    try {
      member.whenTerminated().toCompletableFuture().get();
      // coordinated shutdown has run; make sure the journal has stopped before the process exits
      // (close is idempotent and waits for a stop already under way in the shutdown hook)
      member.journal().close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      return 1;
    }
    return 0;
  }
}
