package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.net.Net;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * wireguard-go: one {@code wireguard-go -f <name>} process per device, started inside the device's host
 * namespace so its UDP socket stays there when the tun moves on. Configured through {@code wg} by creation
 * name (the UAPI socket {@code /var/run/wireguard/<name>.sock} is host-global), from any namespace.
 *
 * <p>With a tunnel holder (the chart's {@code tunnel-holder} DaemonSet, which an upgrade leaves running),
 * the processes are started by the holder, outside this member's container, so they and their devices
 * outlive it: a restarted member adopts them like any other running wireguard-go. The holder is asked over
 * its unix socket with one line, {@code <netns or -> <name>}, and answers {@code ok <pid>} or
 * {@code error <why>}; it and this member share the host's PID namespace and {@code /var/run/wireguard}.
 *
 * <p>Owns: the processes it starts or adopts (found by their command line after an agent restart, then
 * supervised like its own). Persists:
 * nothing. Observes: process exits; an exit not caused by {@link #delete} is reported to the
 * {@link #onDeviceLost} listeners so the owner re-creates the device with the same key.
 */
public final class GoWireGuard extends WgCliBackend {
  private static final Logger log = LoggerFactory.getLogger(GoWireGuard.class);
  private static final Path UAPI = Path.of("/var/run/wireguard");
  private static final long START_WAIT_MS = 3000;
  private static final java.time.Duration UAPI_TIMEOUT = java.time.Duration.ofSeconds(5);
  /** A limit of fs.inotify.max_user_instances below which the agent warns at start. */
  static final int INOTIFY_ADVISED = 8192;
  private static final Path INOTIFY_LIMIT = Path.of("/proc/sys/fs/inotify/max_user_instances");
  /** Where each wireguard-go's own output goes (errors only), to explain a failed start. */
  private static final Path OUTPUT_DIR = Path.of(System.getProperty("java.io.tmpdir"), "egress-wireguard-go");

  private final String binary;
  /** The tunnel holder's socket, or null: processes are started here. */
  private final Path holder;
  private final Map<String, ProcessHandle> processes = new ConcurrentHashMap<>();
  /** PIDs whose exit we caused: never reported as lost, whenever the exit is noticed. */
  private final Set<Long> expectedExits = ConcurrentHashMap.newKeySet();
  private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
  /** Every UAPI request goes over a connection kept per device (the watchdog reads each one ten times a second). */
  private final UapiConnections uapi = new UapiConnections();

  public GoWireGuard(CommandRunner cmd, String binary) {
    this(cmd, binary, null);
  }

  /** @param holder the socket of a tunnel holder that starts the processes, or null to start them here */
  public GoWireGuard(CommandRunner cmd, String binary, Path holder) {
    super(cmd);
    this.binary = binary;
    this.holder = holder;
  }

  public GoWireGuard(CommandRunner cmd) {
    this(cmd, "wireguard-go");
  }

  @Override
  public String kind() {
    return "wireguard-go";
  }

  @Override
  public WgDevice create(String hostNetns, String name) {
    // the name becomes file names (UAPI socket, output) and an argument: parsed before any of them
    WgDevice d = WgDevice.created(IfName.parse(name).value(), hostNetns);
    Optional<ProcessHandle> running = processOf(name);
    if (running.isPresent() && answers(name)) {
      supervise(name, running.get());
      return d;
    }
    running.ifPresent(h -> {
      expectedExits.add(h.pid());
      stop(h);
    });
    uapi.forget(uapiSocket(name));
    List<String> argv = CommandRunner.inNetns(hostNetns, List.of(binary, "-f", name));
    Path output = OUTPUT_DIR.resolve(name + ".log");
    Process p = null;
    ProcessHandle h;
    if (holder != null) {
      h = startThroughHolder(hostNetns, name, argv);
    } else {
      try {
        Files.createDirectories(OUTPUT_DIR);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().put("LOG_LEVEL", "error");
        p = pb.start();
      } catch (IOException e) {
        throw new CommandException(argv, -1, String.valueOf(e.getMessage()));
      }
      h = p.toHandle();
    }
    long deadline = System.currentTimeMillis() + START_WAIT_MS;
    // wireguard-go makes the tun before it listens on UAPI: wait until the socket answers (in-process, no
    // process per look; the file alone is not enough: it exists from bind() on, and a connection refused
    // before listen() makes a later `wg` unlink it for good), then bring the link up, which also confirms
    // the link is there (one call, not a look and a set)
    while (!(answers(name) && Net.linkUp(cmd, hostNetns, name))) {
      if (!h.isAlive() || System.currentTimeMillis() > deadline) {
        expectedExits.add(h.pid());
        h.destroyForcibly();
        throw new CommandException(argv, p == null || p.isAlive() ? -1 : p.exitValue(),
            "no UAPI socket or link '" + name + "' appeared" + (p == null ? " (started by the tunnel holder " + holder + ")" : explain(output)));
      }
      sleep(2);
    }
    supervise(name, h);
    return d;
  }

  @Override
  public boolean alive(WgDevice device) {
    return processOf(device.name()).isPresent() && answers(device.name());
  }

  @Override
  public void delete(WgDevice device) {
    Optional<ProcessHandle> running = processOf(device.name());
    running.ifPresent(h -> expectedExits.add(h.pid()));
    if (Net.link(cmd, device.netns(), device.ifname()).isPresent()) {
      Net.deleteLink(cmd, device.netns(), device.ifname());
    }
    running.ifPresent(this::stop);
    processes.remove(device.name());
    uapi.forget(uapiSocket(device.name()));
    try {
      Files.deleteIfExists(OUTPUT_DIR.resolve(device.name() + ".log"));
    } catch (IOException e) {
      log.debug("could not remove the output of wireguard-go {}: {}", device.name(), e.getMessage());
    }
  }

  /**
   * Asks the tunnel holder to start {@code wireguard-go -f name} in {@code hostNetns} (empty: its own, the
   * node's); the started process, seen in the shared PID namespace.
   */
  private ProcessHandle startThroughHolder(String hostNetns, String name, List<String> argv) {
    String ns = hostNetns == null || hostNetns.isEmpty() ? "-" : NetnsName.parse(hostNetns).value();
    String answer;
    try (var ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      ch.connect(java.net.UnixDomainSocketAddress.of(holder));
      ch.write(java.nio.ByteBuffer.wrap((ns + " " + name + "\n").getBytes(StandardCharsets.US_ASCII)));
      ch.shutdownOutput();
      ch.configureBlocking(false);
      java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(512);
      long deadline = System.currentTimeMillis() + START_WAIT_MS;
      while (in.hasRemaining() && ch.read(in) >= 0) {
        if (System.currentTimeMillis() > deadline) {
          throw new CommandException(argv, -1, "the tunnel holder " + holder + " did not answer within " + START_WAIT_MS + " ms");
        }
        sleep(1);
      }
      answer = new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII).trim();
    } catch (IOException e) {
      throw new CommandException(argv, -1, "cannot reach the tunnel holder " + holder + ": " + e.getMessage());
    }
    String[] f = answer.split("\\s+", 2);
    if (f.length == 2 && f[0].equals("ok") && f[1].matches("[0-9]{1,10}")) {
      return ProcessHandle.of(Long.parseLong(f[1])).orElseThrow(() -> new CommandException(argv, -1,
          "the tunnel holder started wireguard-go as pid " + f[1] + ", which is not visible here (the holder and this member"
              + " must share the host's PID namespace) or already ended"));
    }
    throw new CommandException(argv, -1, "the tunnel holder " + holder + " refused: " + (answer.isEmpty() ? "no answer" : answer));
  }

  /** This host's fs.inotify.max_user_instances, if readable. */
  static Optional<Integer> inotifyLimit() {
    try {
      return Optional.of(Integer.parseInt(readSysctl(INOTIFY_LIMIT)));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** wireguard-go's own words on a failed start, plus what to do about the common cause. */
  static String explain(Path output) {
    String said;
    try {
      said = Files.readAllLines(output).stream()
          .filter(l -> l.contains("ERROR") || l.toLowerCase(java.util.Locale.ROOT).contains("error"))
          .map(l -> l.replaceFirst("^ERROR: \\([^)]*\\) \\S+ \\S+ ", "").trim())
          .reduce((a, b) -> a + "; " + b).orElse("");
    } catch (IOException e) {
      said = "";
    }
    if (said.isEmpty()) {
      return "";
    }
    String hint = said.contains("too many open files")
        ? " (every wireguard-go device holds an inotify instance; fs.inotify.max_user_instances is "
            + inotifyLimit().map(String::valueOf).orElse("unknown") + ": raise it)"
        : "";
    return ": wireguard-go: " + said + hint;
  }

  @Override
  public void configure(WgDevice device, io.egressgateway.datapath.model.WgConfig config) {
    if (!uapiSet(device, () -> WgUapi.configBody(config))) {
      super.configure(device, config);
    }
  }

  @Override
  public void setPeer(WgDevice device, io.egressgateway.datapath.model.WgPeer peer) {
    if (!uapiSet(device, () -> WgUapi.peerBody(peer))) {
      super.setPeer(device, peer);
    }
  }

  @Override
  public void setPeers(WgDevice device, List<io.egressgateway.datapath.model.WgPeer> peers) {
    if (!peers.isEmpty() && !uapiSet(device, () -> {
      StringBuilder b = new StringBuilder();
      peers.forEach(p -> b.append(WgUapi.peerBody(p)));
      return b.toString();
    })) {
      super.setPeers(device, peers);
    }
  }

  @Override
  public void removePeer(WgDevice device, String publicKey) {
    if (!uapiSet(device, () -> WgUapi.removeBody(publicKey))) {
      super.removePeer(device, publicKey);
    }
  }

  /**
   * Applies a UAPI set; false (and the caller uses {@code wg}, which reports errors well) when the body
   * cannot be expressed (e.g. a host name as endpoint) or the socket does not take it. Every change here is
   * idempotent, so repeating a partly applied one through {@code wg} is safe.
   */
  private boolean uapiSet(WgDevice device, java.util.function.Supplier<String> body) {
    try {
      uapi.set(uapiSocket(device.name()), body.get(), UAPI_TIMEOUT);
      return true;
    } catch (IOException | RuntimeException e) {
      log.debug("UAPI set on {} did not work ({}); using wg", device.name(), e.getMessage());
      return false;
    }
  }

  /** Read over the UAPI socket (no {@code wg} process); falls back to {@code wg show} if that fails. */
  @Override
  public WgDump dump(WgDevice device) {
    try {
      return uapi.get(uapiSocket(device.name()), UAPI_TIMEOUT);
    } catch (IOException | RuntimeException e) {
      log.debug("UAPI read of {} failed ({}); asking wg", device.name(), e.getMessage());
      return super.dump(device);
    }
  }

  @Override
  public void onDeviceLost(Consumer<String> listener) {
    listeners.add(listener);
  }

  @Override
  protected List<String> wg(WgDevice d, List<String> args) {
    return wgArgv(args);
  }

  @Override
  protected String wgName(WgDevice d) {
    return d.name();
  }

  /** The PID of the process serving device {@code name}, if one runs (started here or earlier). */
  public Optional<Long> pidOf(String name) {
    return processOf(name).map(ProcessHandle::pid);
  }

  private boolean answers(String name) {
    try {
      return uapi.answers(uapiSocket(name), UAPI_TIMEOUT);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static Path uapiSocket(String name) {
    return UAPI.resolve(name + ".sock");
  }

  private void supervise(String name, ProcessHandle h) {
    ProcessHandle prev = processes.put(name, h);
    if (prev != null && prev.pid() == h.pid()) {
      return;
    }
    h.onExit().thenRun(() -> {
      boolean expected = expectedExits.remove(h.pid());
      uapi.forget(uapiSocket(name));
      if (processes.remove(name, h) && !expected) {
        log.warn("wireguard-go for device {} (pid {}) exited; reporting the device lost", name, h.pid());
        listeners.forEach(l -> l.accept(name));
      }
    });
  }

  private Optional<ProcessHandle> processOf(String name) {
    ProcessHandle known = processes.get(name);
    if (known != null && known.isAlive()) {
      return Optional.of(known);
    }
    Optional<ProcessHandle> found = ProcessHandle.allProcesses().filter(h -> isServing(h, name)).findFirst();
    found.ifPresent(h -> supervise(name, h));
    return found;
  }

  /**
   * Matches {@code wireguard-go -f <name>} by its /proc cmdline (argv[0] may be a full path). Without a holder,
   * only a process of this member's own cgroup (its container) counts: in the host's PID namespace
   * ({@code hostPID}, which the gateway has for its namespace holder) another container's wireguard-go may serve
   * a device of the same name (the sandbox's gateway nodes share one PID namespace and serve the same configs).
   */
  private boolean isServing(ProcessHandle h, String name) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline"));
      String[] argv = new String(raw, StandardCharsets.UTF_8).split("\0");
      return argv.length >= 3 && argv[0].endsWith("wireguard-go") && argv[argv.length - 1].equals(name) && h.isAlive()
          && (holder != null || sameCgroup(h.pid()));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static boolean sameCgroup(long pid) {
    try {
      return Files.readString(Path.of("/proc", Long.toString(pid), "cgroup"))
          .equals(Files.readString(Path.of("/proc/self/cgroup")));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private void stop(ProcessHandle h) {
    h.destroy();
    try {
      h.onExit().get(2, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      h.destroyForcibly();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting wireguard-go", e);
    }
  }

  /**
   * One read of a sysctl file. Not {@code Files.readString}: it reads a single byte first and then goes on
   * at an offset, where a procfs sysctl file answers end-of-file, so "128" came back as "1".
   */
  static String readSysctl(Path p) throws IOException {
    try (var r = Files.newBufferedReader(p)) {
      String line = r.readLine();
      return line == null ? "" : line.trim();
    }
  }
}
