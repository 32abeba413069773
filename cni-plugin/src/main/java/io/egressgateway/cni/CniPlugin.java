package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * {@code kube-egress-cni}: the chained CNI plugin (spec 1.1). It holds almost no logic of its own: VERSION is
 * answered locally, ADD/CHECK/DEL/STATUS/GC are forwarded with their environment and configuration to the node
 * agent over its unix socket, and the agent's result or error is printed. DEL always exits 0 so that pod
 * teardown never wedges on us; its failures go to stderr and, when the configuration names one, a log file.
 *
 * <p>Plain pods do not need the agent: when it cannot be reached, an ADD of a pod that cannot need a gateway
 * succeeds with {@code prevResult} unchanged, decided from node-local facts only ({@link NodeHints}); a pod
 * that may need one fails closed with "try again later" as before.
 *
 * <p>Configuration fields it reads: {@code cniVersion}, {@code prevResult} (required for ADD: this plugin
 * only runs chained), {@code socketPath} (default {@value AgentProtocol#DEFAULT_SOCKET}),
 * {@code timeoutSeconds} (default 30), {@code logFile} (optional). Everything else is forwarded untouched.
 *
 * <p>Other modes (arguments): {@code install <dir>} copies jar and launcher into a CNI bin directory and makes
 * the class data sharing archive; {@code archive <file.jsa>} makes just the archive for this jar;
 * {@code train [dir]} is what the archiving JVM runs: one ADD against an in-JVM agent (see {@link CdsArchive}).
 */
public final class CniPlugin {
  public static final List<String> SUPPORTED_VERSIONS = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
  static final String DEFAULT_VERSION = "1.0.0";
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** Largest network configuration taken (the agent takes requests up to 1 MiB, the configuration plus a little). */
  static final int MAX_CONFIG = 512 * 1024;
  /** System property: the working directory the runtime started the launcher in. */
  static final String CALLER_DIR = "kube-egress-cni.cwd";

  /** What one invocation prints and returns. */
  public record Outcome(int exitCode, String stdout, String stderr) {}

  private CniPlugin() {}

  public static void main(String[] args) throws IOException {
    if (args.length == 2 && args[0].equals("install")) {
      install(Path.of(args[1]));
      return;
    }
    if (args.length == 2 && args[0].equals("archive")) {
      System.exit(archive(ownJar(), Path.of(args[1])) ? 0 : 1);
    }
    if ((args.length == 1 || args.length == 2) && args[0].equals("train")) {
      System.exit(CdsArchive.train(args.length == 2 ? Path.of(args[1]) : null, System.err));
    }
    String stdin = new String(readAll(System.in), StandardCharsets.UTF_8);
    Outcome o = run(System.getenv(), stdin, AGENT);
    print(o, new PrintStream(System.out, true, StandardCharsets.UTF_8), System.err);
    System.exit(o.exitCode());
  }

  /** Prints an outcome as the runtime reads it: the result or error on stdout, log lines on stderr. */
  static void print(Outcome o, PrintStream out, PrintStream err) {
    if (!o.stdout().isEmpty()) {
      out.println(o.stdout());
    }
    if (!o.stderr().isEmpty()) {
      err.println(o.stderr());
    }
    out.flush();
  }

  /** Where and how long to talk to the agent, from the configuration. */
  public record Target(Path socket, Duration timeout) {}

  /** The real agent client; one instance, so that train's ADD archives the very lambda class main uses. */
  static final Function<Target, AgentClient> AGENT = t -> new AgentClient(t.socket(), t.timeout());

  /** One invocation, without touching the process: testable with any environment and agent. */
  public static Outcome run(Map<String, String> env, String stdin, Function<Target, AgentClient> clients) {
    String command = env.getOrDefault("CNI_COMMAND", "");
    if (command.equals("VERSION")) {
      return new Outcome(0, versionJson(versionOf(stdin)), "");
    }
    if (stdin.length() > MAX_CONFIG) {
      return failure(command, null, DEFAULT_VERSION, new CniError(CniError.DECODING_FAILURE,
          "the network configuration is larger than " + MAX_CONFIG / 1024 + " KiB", stdin.length() + " characters"));
    }
    Map<String, Object> conf;
    try {
      conf = Json.parseObject(stdin);
    } catch (IllegalArgumentException e) {
      return failure(command, null, DEFAULT_VERSION,
          new CniError(CniError.DECODING_FAILURE, "cannot parse the network configuration", e.getMessage()));
    }
    String version = Json.str(conf, "cniVersion", DEFAULT_VERSION);
    if (!SUPPORTED_VERSIONS.contains(version)) {
      return failure(command, conf, version, new CniError(CniError.INCOMPATIBLE_VERSION,
          "unsupported CNI version " + version, "supported: " + String.join(", ", SUPPORTED_VERSIONS)));
    }
    switch (command) {
      case "ADD", "CHECK", "DEL", "STATUS", "GC" -> { }
      default -> {
        return failure(command, conf, version, new CniError(CniError.INVALID_ENV, "unknown CNI_COMMAND '" + command + "'",
            "expected ADD, DEL, CHECK, STATUS, GC or VERSION"));
      }
    }
    if (command.equals("ADD") || command.equals("CHECK")) {
      for (String required : List.of("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME")) {
        if (env.getOrDefault(required, "").isEmpty()) {
          return failure(command, conf, version, new CniError(CniError.INVALID_ENV, required + " is not set", ""));
        }
      }
      // the spec's rules for an interface name (as the reference plugins check it): 1-15 bytes, no '/', ':' or
      // whitespace, not "." or ".."
      String ifName = env.get("CNI_IFNAME");
      if (!ifName.matches("[^/:\\s]{1,15}") || ifName.equals(".") || ifName.equals("..")
          || !ifName.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        return failure(command, conf, version, new CniError(CniError.INVALID_ENV, "CNI_IFNAME is not a valid interface name",
            "1-15 printable characters without '/', ':' or whitespace"));
      }
    }
    if (command.equals("ADD") && Json.obj(conf, "prevResult") == null) {
      return failure(command, conf, version, new CniError(CniError.INVALID_CONFIG,
          "kube-egress-cni must be chained after the main plugin", "no prevResult in the configuration"));
    }
    Target target;
    try {
      target = targetOf(conf);
    } catch (IllegalArgumentException e) {
      return failure(command, conf, version, new CniError(CniError.INVALID_CONFIG, e.getMessage(), ""));
    }
    byte[] request = CniWire.Request.of(env, stdin).encode();
    byte[] answer;
    try {
      answer = clients.apply(target).exchange(request);
    } catch (TimeoutException e) {
      return failure(command, conf, version, deferDel(command, env, target, request, new CniError(CniError.TRY_AGAIN_LATER,
          "the node agent did not answer within " + target.timeout().toSeconds() + " s", "socket " + target.socket())));
    } catch (IOException e) {
      String unreachable = "socket " + target.socket() + ": " + e.getMessage();
      Outcome local = withoutAgent(command, conf, env, target, version, unreachable);
      if (local != null) {
        return local;
      }
      return failure(command, conf, version, deferDel(command, env, target, request, new CniError(CniError.TRY_AGAIN_LATER,
          "cannot reach the egress gateway node agent", unreachable)));
    }
    CniWire.Answer reply;
    Map<String, Object> result = null;
    try {
      reply = CniWire.Answer.decode(answer);
      if (!reply.isError() && command.equals("ADD") && !reply.result().isEmpty()) {
        // a result that is not a JSON object is not a CNI result: the previous one stands
        result = Json.asObject(Json.parse(reply.result()));
      }
    } catch (IllegalArgumentException e) {
      return failure(command, conf, version,
          new CniError(CniError.IO_FAILURE, "unreadable answer from the node agent", e.getMessage()));
    }
    if (reply.isError()) {
      return failure(command, conf, version, CniError.of(reply));
    }
    if (command.equals("ADD")) {
      return new Outcome(0, Json.write(result != null ? result : Json.obj(conf, "prevResult")), "");
    }
    return new Outcome(0, "", "");
  }

  /**
   * What can be answered without the agent (it is down or restarting), from node-local facts only: an ADD of a
   * pod that cannot need a gateway gets {@code prevResult} back; STATUS is fine once the agent has left its
   * hints on this node (plain pods can then be added). Null when the call must fail as unreachable.
   */
  private static Outcome withoutAgent(String command, Map<String, Object> conf, Map<String, String> env, Target target,
      String version, String unreachable) {
    if (command.equals("ADD")) {
      NodeHints.Decision d = NodeHints.decide(conf, env, target.socket());
      if (d.plain()) {
        String line = Instant.now() + " kube-egress-cni ADD without the node agent (" + unreachable + "): " + d.why();
        logToFile(conf, line);
        return new Outcome(0, Json.write(Json.obj(conf, "prevResult")), line);
      }
      return failure(command, conf, version, new CniError(CniError.TRY_AGAIN_LATER,
          "cannot reach the egress gateway node agent, and the pod may need a gateway", unreachable + "; " + d.why()));
    }
    if (command.equals("STATUS")) {
      if (NodeHints.present(target.socket())) {
        return new Outcome(0, "", "");
      }
      return failure(command, conf, version, new CniError(CniError.PLUGIN_NOT_AVAILABLE,
          "the egress gateway node agent is not running and has not yet said which namespaces use gateways", unreachable));
    }
    return null;
  }

  static Target targetOf(Map<String, Object> conf) {
    String socket = Json.str(conf, "socketPath", AgentProtocol.DEFAULT_SOCKET);
    if (socket.isEmpty() || !socket.startsWith("/")) {
      throw new IllegalArgumentException("socketPath must be an absolute path, got '" + socket + "'");
    }
    Duration timeout = DEFAULT_TIMEOUT;
    Object t = conf.get("timeoutSeconds");
    if (t instanceof Json.Num n) {
      try {
        timeout = Duration.ofMillis(Math.round(Double.parseDouble(n.text()) * 1000));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("timeoutSeconds is not a number: " + n.text());
      }
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeoutSeconds must be positive");
      }
    } else if (t != null) {
      throw new IllegalArgumentException("timeoutSeconds must be a number");
    }
    return new Target(Path.of(socket), timeout);
  }

  /**
   * A DEL the agent did not take (down, restarting, too slow) is kept for its next start, which removes the
   * pod's tunnel then: the runtime does not call DEL again once it succeeded, and a tunnel left behind
   * would keep the pod's peer on the gateways. Returns {@code err} with where the request went.
   */
  private static CniError deferDel(String command, Map<String, String> env, Target target, byte[] request, CniError err) {
    if (!command.equals("DEL")) {
      return err;
    }
    String kept;
    try {
      kept = "kept for the agent's next start in " + AgentProtocol.defer(target.socket(), env.getOrDefault("CNI_CONTAINERID", ""), request);
    } catch (IOException | RuntimeException e) {
      kept = "could not be kept for the agent's next start: " + e.getMessage();
    }
    return new CniError(err.code(), err.msg(), (err.details().isEmpty() ? "" : err.details() + "; ") + "DEL " + kept);
  }

  /** A failed call: an error result, except DEL, which logs and succeeds. */
  private static Outcome failure(String command, Map<String, Object> conf, String version, CniError err) {
    if (command.equals("DEL")) {
      String line = Instant.now() + " kube-egress-cni DEL ignored error " + err.code() + ": " + err.msg()
          + (err.details().isEmpty() ? "" : " (" + err.details() + ")");
      logToFile(conf, line);
      return new Outcome(0, "", line);
    }
    return new Outcome(1, err.toJson(version), "");
  }

  private static void logToFile(Map<String, Object> conf, String line) {
    String file = conf == null ? "" : Json.str(conf, "logFile", "");
    if (file.isEmpty()) {
      return;
    }
    try {
      Files.writeString(callerRelative(Path.of(file)), line + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    } catch (IOException | RuntimeException e) {
      System.err.println("kube-egress-cni: cannot write log file " + file + ": " + e.getMessage());
    }
  }

  /**
   * A relative path as the runtime meant it: the launchers run the JVM in the jar's directory (for the class
   * data sharing archive) and pass the runtime's working directory as {@value #CALLER_DIR}.
   */
  static Path callerRelative(Path p) {
    String caller = System.getProperty(CALLER_DIR, "");
    return p.isAbsolute() || caller.isEmpty() ? p : Path.of(caller).resolve(p);
  }

  private static String versionOf(String stdin) {
    try {
      return Json.str(Json.parseObject(stdin), "cniVersion", DEFAULT_VERSION);
    } catch (IllegalArgumentException e) {
      return DEFAULT_VERSION;
    }
  }

  static String versionJson(String cniVersion) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("cniVersion", SUPPORTED_VERSIONS.contains(cniVersion) ? cniVersion : DEFAULT_VERSION);
    m.put("supportedVersions", SUPPORTED_VERSIONS);
    return Json.write(m);
  }

  /**
   * Copies this jar and its launcher into {@code dir} (e.g. /opt/cni/bin), atomically, executable, then makes
   * the class data sharing archive {@code dir/kube-egress-cni.jsa} for the installed jar with this JVM's
   * runtime (see {@link CdsArchive}: run install with the Java the launcher will find). An archive that
   * cannot be made is reported on stderr and is not an install failure.
   */
  static void install(Path dir) throws IOException {
    Path jar = ownJar();
    Files.createDirectories(dir);
    Path tmpJar = dir.resolve(".kube-egress-cni.jar.tmp");
    Files.copy(jar, tmpJar, StandardCopyOption.REPLACE_EXISTING);
    // the old archive belongs to the old jar
    Files.deleteIfExists(dir.resolve(CdsArchive.FILE_NAME));
    Path installed = dir.resolve("kube-egress-cni.jar");
    Files.move(tmpJar, installed, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    Path tmpLauncher = dir.resolve(".kube-egress-cni.tmp");
    try (InputStream in = launcher()) {
      Files.copy(in, tmpLauncher, StandardCopyOption.REPLACE_EXISTING);
    }
    Files.setPosixFilePermissions(tmpLauncher, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.move(tmpLauncher, dir.resolve("kube-egress-cni"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    archive(installed, dir.resolve(CdsArchive.FILE_NAME));
  }

  /** Makes {@code target}, the archive for {@code jar}; false (and why, on stderr) if it cannot. */
  static boolean archive(Path jar, Path target) {
    try {
      CdsArchive.create(jar, target);
      return true;
    } catch (CdsArchive.Failure e) {
      System.err.println("kube-egress-cni: no class data sharing archive " + target + ": " + e.getMessage()
          + " (the plugin works without it; its JVM only starts slower)");
      return false;
    }
  }

  /** The jar this class runs from. */
  static Path ownJar() throws IOException {
    Path jar;
    try {
      jar = Path.of(CniPlugin.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    if (!Files.isRegularFile(jar)) {
      throw new IOException("install and archive run from the packaged jar, not from " + jar);
    }
    return jar;
  }

  /** The shell launcher shipped inside the jar. */
  public static InputStream launcher() throws IOException {
    InputStream in = CniPlugin.class.getResourceAsStream("kube-egress-cni");
    if (in == null) {
      throw new IOException("launcher resource missing from the plugin jar");
    }
    return in;
  }

  private static byte[] readAll(InputStream in) throws IOException {
    return in.readAllBytes();
  }
}
