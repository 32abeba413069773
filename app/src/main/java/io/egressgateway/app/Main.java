package io.egressgateway.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.ProcessLaunch;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Entry point of the distribution ({@code ./egress} at the repository root, {@code bin/egress} in the image),
 * its command line parsed by picocli, which also writes the help and the errors for bad options.
 *
 * <ul>
 *   <li>{@code run}: one member configured from the environment (what the Helm chart runs);
 *   <li>{@code local}: one member with every role on the embedded journal, management on 127.0.0.1:8558.
 * </ul>
 */
@Command(name = "egress", synopsisSubcommandLabel = "<command>",
    description = "A member of the kube egress gateway cluster.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:the member stopped cleanly", "1:the member failed", "2:a bad command line or setting"},
    subcommands = {Main.Local.class, Main.Run.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Spec
  CommandSpec spec;

  public static void main(String[] args) {
    ProcessLaunch.useVfork();
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command line; the exit code: 0, 1 when the member failed, 2 for bad usage or settings. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    return new CommandLine(new Main())
        .setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true))
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          if (e instanceof IllegalArgumentException) {
            // a setting the member refused (CoreSettings and friends name the key)
            cmd.getErr().println("egress: " + e.getMessage());
            return CommandLine.ExitCode.USAGE;
          }
          throw e;
        })
        .execute(args);
  }

  /** Without a command: the help, and the exit code of a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return CommandLine.ExitCode.USAGE;
  }

  @Command(name = "local", sortOptions = false, sortSynopsis = false,
      description = {"Start one member with all roles (controller, gateway, worker) on an embedded PostgreSQL journal "
          + "and without a Kubernetes API; management HTTP on 127.0.0.1 (/alive, /ready, /cluster/members, "
          + "/cluster/shards/<type>, /metrics). Ctrl-C stops it cleanly. The EGRESS_* environment is ignored."})
  static final class Local implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = "--node", order = 1, paramLabel = "NAME", description = "the node this member runs as (default: ${DEFAULT-VALUE})")
    String node = "local";

    int managementPort = 8558;
    int remotePort = -1;

    @Option(names = "--management-port", order = 2, paramLabel = "N", description = "management HTTP port (default: 8558)")
    void managementPort(int port) {
      managementPort = port("--management-port", port);
    }

    @Option(names = "--remote-port", order = 3, paramLabel = "N", description = "Akka remoting port, 0 for any free one (default: 25520)")
    void remotePort(int port) {
      remotePort = port("--remote-port", port);
    }

    private int port(String option, int port) {
      if (port < 0 || port > 65535) {
        throw new ParameterException(spec.commandLine(), option + " needs a port number (0-65535), got " + port);
      }
      return port;
    }

    /** Every role, embedded journal, loopback everything. */
    Config config() {
      Map<String, Object> values = new LinkedHashMap<>();
      values.put("egress.node-name", node);
      values.put("egress.roles", List.of("controller", "gateway", "worker"));
      values.put("egress.discovery", "static");
      values.put("egress.journal.mode", "embedded");
      values.put("egress.app.kubernetes-api", false);
      values.put("akka.management.http.hostname", "127.0.0.1");
      values.put("akka.management.http.port", managementPort);
      values.put("akka.remote.artery.canonical.hostname", "127.0.0.1");
      if (remotePort >= 0) {
        values.put("akka.remote.artery.canonical.port", remotePort);
      }
      return MemberConfig.load(Map.of(), ConfigFactory.parseMap(values, "egress local"));
    }

    @Override
    public Integer call() {
      return runMember(config(), spec.commandLine().getOut());
    }
  }

  @Command(name = "run",
      description = {"Start one member configured from the EGRESS_* environment variables (the Helm chart's "
          + "containers run this; see README, \"Configuration\")."})
  static final class Run implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() {
      return runMember(MemberConfig.load(System.getenv(), ConfigFactory.empty()), spec.commandLine().getOut());
    }
  }

  /** {@code egress local} with these options, as the command line would configure it. */
  static Config localConfig(String... options) {
    Local local = new Local();
    new CommandLine(local).parseArgs(options);
    return local.config();
  }

  private static int runMember(Config config, PrintWriter out) {
    MemberConfig.insecureRemotingWarning(config).ifPresent(warning -> {
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Main.class);
      String bar = "*".repeat(100);
      log.error(bar);
      log.error(warning);
      log.error(bar);
      out.println(warning);
      out.flush();
    });
    EgressMember member = EgressMember.start(config);
    Wiring.start(member, AzureWiring::provisioner);
    member.join();
    out.println("egress: member '" + member.settings().nodeName() + "' with roles " + member.settings().roles()
        + " is starting; management HTTP listens on " + member.managementUrl()
        + " (try " + member.managementUrl() + "ready and " + member.managementUrl() + "cluster/members)");
    out.flush();
    try {
      member.whenStopped().toCompletableFuture().get();
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
