package io.egressgateway.sandbox;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The command line of {@code ./egress sandbox}, parsed by picocli as the distribution's {@code egress}
 * command is: it writes the help and the errors for bad options. {@code --help} needs no root and starts
 * nothing; everything else runs {@link Sandbox#runAsCommand(Sandbox.Settings)} as root.
 */
@Command(name = "egress sandbox", sortOptions = false, sortSynopsis = false,
    description = {"The whole system on this machine, installed with the chart: VNet, worker and gateway nodes as "
        + "network namespaces, the chart's pods run from the image with podman on each node, an in-process Kubernetes "
        + "API (kubeconfig under /run/egress-sandbox). Ctrl-C tears it down. It stays up after a failed check (not "
        + "with --once); a start first removes what an earlier, killed run left behind. Runs as root."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:every check passed", "1:a check or the start-up failed", "2:a bad command line"})
final class SandboxCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Option(names = "--workers", paramLabel = "N", description = "worker nodes, 1-8 (default: ${DEFAULT-VALUE})")
  int workers = 2;

  @Option(names = "--gateways", paramLabel = "M", description = "gateway nodes, 1-4 (default: ${DEFAULT-VALUE})")
  int gateways = 2;

  @Option(names = "--once", description = "run the checks, tear down and exit (the exit code says whether they passed)")
  boolean once;

  @Option(names = "--report", paramLabel = "FILE", description = "write what was checked as JSON to FILE")
  Path report;

  @Option(names = "--apply", paramLabel = "FILE", description = "apply this manifest after the demo's (repeatable)")
  List<Path> apply = new ArrayList<>();

  @Option(names = "--e2e", description = "also run the end-to-end scenarios (BYO prefix, private mode, restarts, upgrade, the fault suite, uninstall)")
  boolean e2e;

  @Option(names = "--bench-pods", paramLabel = "N", description = "also measure N pods' time to egress, 1-1000 (default: no benchmark)")
  Integer benchPods;

  @Option(names = "--bench-batch", paramLabel = "B", description = "pods created at once by the benchmark, 1-100 (default: ${DEFAULT-VALUE})")
  int benchBatch = 20;

  @Option(names = "--failover-runs", paramLabel = "R", description = "gateway failovers measured, 0-50 (default: 5 with --bench-pods, else 1)")
  Integer failoverRuns;

  @Option(names = "--failover-kinds", paramLabel = "K[,K...]", split = ",", description = "what the measured gateway "
      + "loses: nic (its VM's NIC), member (its member container, SIGKILL), node (NIC down and every member container killed, for 35 s); "
      + "each kind --failover-runs times (default: ${DEFAULT-VALUE})")
  List<String> failoverKinds = new ArrayList<>(List.of("nic"));

  /**
   * The ILB stand-in's probe interval without {@code --probe-interval-ms}: 0, as the load balancer's probe
   * says (Azure's 5 s); the pods' failover does not wait for it (1.3-1.5 s measured with it).
   */
  static final int DEFAULT_PROBE_INTERVAL_MS = 0;

  @Option(names = "--probe-interval-ms", paramLabel = "MS", description = "the ILB stand-in probes its backends every MS, "
      + "100-60000; 0: every intervalInSeconds of the load balancer's probe, as Azure does (the controller sets 5 s) "
      + "(default: ${DEFAULT-VALUE})")
  int probeIntervalMs = DEFAULT_PROBE_INTERVAL_MS;

  @Option(names = "--image-tag", paramLabel = "TAG", description = "the tag of the image ./egress image built (default: the project version)")
  String imageTag;

  @Option(names = "--clean", description = "only remove what earlier sandbox runs left behind, then exit")
  boolean clean;

  @Option(names = "--faults", description = "after the demo, run only the fault suite (--e2e runs it too)")
  boolean faults;

  /** Runs the command line; the exit code (2 for bad usage). */
  static int run(String[] args, PrintStream out, PrintStream err) {
    return commandLine(new SandboxCommand(), out, err).execute(args);
  }

  static CommandLine commandLine(SandboxCommand command, PrintStream out, PrintStream err) {
    return new CommandLine(command).setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
  }

  /**
   * The settings {@code args} give; a bad option fails with {@link IllegalArgumentException} naming it (as
   * the command line prints it).
   */
  static Sandbox.Settings parse(List<String> args) {
    SandboxCommand command = new SandboxCommand();
    try {
      new CommandLine(command).parseArgs(args.toArray(String[]::new));
      return command.settings();
    } catch (ParameterException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  @Override
  public Integer call() {
    Sandbox.Settings settings = settings();
    if (!"root".equals(System.getProperty("user.name"))) {
      spec.commandLine().getErr().println("egress sandbox: must run as root (it creates network namespaces); try: sudo ./egress sandbox");
      return 1;
    }
    return Sandbox.runAsCommand(settings);
  }

  /** The validated settings; a value out of range fails as a bad command line. */
  Sandbox.Settings settings() {
    within("--workers", workers, 1, 8);
    within("--gateways", gateways, 1, 4);
    if (benchPods != null) {
      within("--bench-pods", benchPods, 1, 1000);
    }
    within("--bench-batch", benchBatch, 1, 100);
    if (failoverRuns != null) {
      within("--failover-runs", failoverRuns, 0, 50);
    }
    for (String kind : failoverKinds) {
      try {
        Failover.Kind.parse(kind);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--failover-kinds: " + e.getMessage());
      }
    }
    if (failoverKinds.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "--failover-kinds needs at least one kind");
    }
    if (probeIntervalMs != 0) {
      within("--probe-interval-ms", probeIntervalMs, 100, 60000);
    }
    if (imageTag != null && imageTag.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--image-tag needs a tag");
    }
    int pods = benchPods == null ? 0 : benchPods;
    int runs = failoverRuns != null ? failoverRuns : pods > 0 ? 5 : 1;
    return new Sandbox.Settings(workers, gateways, once, report, List.copyOf(apply),
        imageTag != null ? imageTag : SandboxImage.defaultTag(), Path.of("/run/egress-sandbox"), e2e, pods, benchBatch, runs,
        failoverKinds.stream().map(String::trim).distinct().toList(), clean, faults, probeIntervalMs);
  }

  private void within(String option, int value, int min, int max) {
    if (value < min || value > max) {
      throw new ParameterException(spec.commandLine(), option + " must be between " + min + " and " + max + ", got " + value);
    }
  }
}
