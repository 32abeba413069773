package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CPU time by component over a window (the benchmark's), from process accounting: cpuacct cgroups (each
 * container's, and the sandbox's own groups for the CNI plugins, {@link CpuGroup}) and the per-process
 * counters of {@code /proc/PID/stat}. A container's group holds its main JVM, the wireguard-go processes
 * and PostgreSQL servers started in it, and the commands it runs ({@code ip}, {@code nft}, {@code sysctl},
 * ...); those are told apart by their processes' counters, sampled every second so that a process that
 * ends inside the window still counts with its last sample.
 */
final class CpuAccounting implements AutoCloseable {
  /** A container of the run: its id, the pod's role ({@code controller}, ...) and the container's name. */
  record Container(String id, String pod, String name) {
    boolean member() {
      return Release.ROLES.contains(name);
    }

    /** The component a non-member container's CPU is reported under: its name in camel case (tunnelHolder). */
    String component() {
      StringBuilder b = new StringBuilder();
      boolean up = false;
      for (char ch : name.toCharArray()) {
        if (ch == '-' || ch == '_') {
          up = b.length() > 0;
        } else {
          b.append(up ? Character.toUpperCase(ch) : ch);
          up = false;
        }
      }
      return b.toString();
    }
  }

  /** One line of {@code /proc/PID/stat}: what is counted from it. Times in clock ticks. */
  record Stat(long pid, String comm, long ppid, long utime, long stime, long cutime, long cstime, long starttime) {
    long ticks() {
      return utime + stime;
    }
  }

  /** A process seen in the window: where it runs and its CPU ticks at the window's start and last seen. */
  record Seen(long pid, String comm, long ppid, String cgroup, long atStart, long last) {
    long delta() {
      return Math.max(0, last - atStart);
    }
  }

  static final Set<String> SAMPLED = Set.of("java", "wireguard-go", "postgres");
  private static final Pattern LIBPOD = Pattern.compile("libpod-([0-9a-f]{64})$");

  private final Path procRoot;
  private final Path cgroupRoot;
  private final long nanosPerTick;
  private final Map<String, Container> containers;
  private final Map<String, CpuGroup> groups;
  private final long selfPid;
  private final long journalPid;
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final Map<String, Long> cgroupsAtStart = new HashMap<>();
  private final Map<String, Long> groupsAtStart = new HashMap<>();
  private Stat selfAtStart;
  private long startNanos;
  private volatile boolean started;
  private java.util.concurrent.ScheduledExecutorService sampler;

  /**
   * {@code containers}: the run's containers; {@code groups}: the sandbox's own groups by component name;
   * {@code journalPid}: the controllers' PostgreSQL server (postmaster) on the host, 0 when none.
   */
  CpuAccounting(Path procRoot, Path cgroupRoot, long nanosPerTick, List<Container> containers, Map<String, CpuGroup> groups,
      long selfPid, long journalPid) {
    this.procRoot = procRoot;
    this.cgroupRoot = cgroupRoot;
    this.nanosPerTick = nanosPerTick;
    this.containers = new LinkedHashMap<>();
    containers.forEach(c -> this.containers.put(c.id(), c));
    this.groups = Map.copyOf(groups);
    this.selfPid = selfPid;
    this.journalPid = journalPid;
  }

  /** Clock ticks of /proc/PID/stat in ns ({@code getconf CLK_TCK}, 100 when that cannot be told). */
  static long nanosPerTick() {
    try {
      return 1_000_000_000L / Long.parseLong(Sh.must("getconf", "CLK_TCK").trim());
    } catch (RuntimeException e) {
      return 10_000_000L;
    }
  }

  // ---- parsing

  /** Parses one {@code /proc/PID/stat} line (the command name may hold spaces and parentheses). */
  static Stat parseStat(String line) {
    int open = line.indexOf('(');
    int close = line.lastIndexOf(')');
    if (open < 0 || close < open) {
      throw new IllegalArgumentException("not a /proc/PID/stat line: " + line);
    }
    long pid = Long.parseLong(line.substring(0, open).trim());
    String comm = line.substring(open + 1, close);
    String[] f = line.substring(close + 1).trim().split(" +");
    // f[0] is field 3 (state): field n is f[n - 3]
    if (f.length < 20) {
      throw new IllegalArgumentException("short /proc/PID/stat line: " + line);
    }
    return new Stat(pid, comm, Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]),
        Long.parseLong(f[14]), Long.parseLong(f[19]));
  }

  /** The cpuacct path of a {@code /proc/PID/cgroup} text (v1: {@code N:cpuacct:/p} or {@code N:cpu,cpuacct:/p}). */
  static Optional<String> cpuacctPath(String procCgroup) {
    for (String line : procCgroup.split("\n")) {
      String[] f = line.split(":", 3);
      if (f.length == 3 && List.of(f[1].split(",")).contains("cpuacct")) {
        return Optional.of(f[2].trim());
      }
    }
    return Optional.empty();
  }

  /** The podman container id of a cgroup path ({@code .../libpod-ID}), if it is one. */
  static Optional<String> containerOf(String cgroupPath) {
    Matcher m = LIBPOD.matcher(cgroupPath);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** A cgroup's {@code cpuacct.usage} in ns; -1 when it cannot be read (the group is gone). */
  static long usageNanos(Path cgroupDir) {
    try {
      return Long.parseLong(Files.readString(cgroupDir.resolve("cpuacct.usage")).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  // ---- sampling

  /** The cgroup directory of container {@code id} (cgroupfs manager: {@code libpod_parent/libpod-ID}). */
  Optional<Path> containerGroup(String id) {
    Path direct = cgroupRoot.resolve("libpod_parent").resolve("libpod-" + id);
    if (Files.isDirectory(direct)) {
      return Optional.of(direct);
    }
    try (var s = Files.find(cgroupRoot, 3, (p, a) -> a.isDirectory() && p.getFileName().toString().equals("libpod-" + id))) {
      return s.findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private Optional<Stat> stat(long pid) {
    try {
      return Optional.of(parseStat(Files.readString(procRoot.resolve(Long.toString(pid)).resolve("stat"))));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** Reads every process's counters once; records the ones this accounting follows. */
  void sample() {
    try (var pids = Files.list(procRoot)) {
      for (Path p : pids.filter(p -> p.getFileName().toString().matches("[0-9]+")).toList()) {
        String line;
        try {
          line = Files.readString(p.resolve("stat"));
        } catch (IOException | RuntimeException gone) {
          continue;
        }
        Stat s;
        try {
          s = parseStat(line);
        } catch (RuntimeException odd) {
          continue;
        }
        if (!SAMPLED.contains(s.comm()) || s.pid() == selfPid) {
          continue;
        }
        String key = s.pid() + "@" + s.starttime();
        Seen before = seen.get(key);
        if (before != null) {
          seen.put(key, new Seen(before.pid(), before.comm(), before.ppid(), before.cgroup(), before.atStart(), s.ticks()));
          continue;
        }
        String cgroup;
        try {
          cgroup = cpuacctPath(Files.readString(p.resolve("cgroup"))).orElse("");
        } catch (IOException | RuntimeException gone) {
          continue;
        }
        // present at the start: counted from there; started inside the window: from its beginning
        seen.put(key, new Seen(s.pid(), s.comm(), s.ppid(), cgroup, started ? 0 : s.ticks(), s.ticks()));
      }
    } catch (IOException e) {
      // a /proc that cannot be listed: the next sample tries again
    }
  }

  /** Opens the window: the counters now, then a sample every second. */
  void start() {
    for (Container c : containers.values()) {
      containerGroup(c.id()).ifPresent(d -> cgroupsAtStart.put(c.id(), usageNanos(d)));
    }
    groups.forEach((name, g) -> groupsAtStart.put(name, g.usageNanos()));
    selfAtStart = stat(selfPid).orElse(null);
    sample();
    started = true;
    startNanos = System.nanoTime();
    sampler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "cpu-accounting");
      t.setDaemon(true);
      return t;
    });
    sampler.scheduleWithFixedDelay(this::sample, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Closes the window: the counters now; the CPU used in it by component (ns). */
  Window stop() {
    sampler.shutdownNow();
    try {
      sampler.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sample();
    long seconds = System.nanoTime() - startNanos;
    Map<String, Long> containerDelta = new LinkedHashMap<>();
    for (Container c : containers.values()) {
      Long before = cgroupsAtStart.get(c.id());
      long after = containerGroup(c.id()).map(CpuAccounting::usageNanos).orElse(-1L);
      if (before != null && before >= 0 && after >= 0) {
        containerDelta.put(c.id(), after - before);
      }
    }
    Map<String, Long> groupDelta = new LinkedHashMap<>();
    groups.forEach((name, g) -> groupDelta.put(name, Math.max(0, g.usageNanos() - groupsAtStart.getOrDefault(name, 0L))));
    Stat selfNow = stat(selfPid).orElse(null);
    long selfOwn = selfAtStart == null || selfNow == null ? 0 : (selfNow.ticks() - selfAtStart.ticks()) * nanosPerTick;
    long selfChildren = selfAtStart == null || selfNow == null ? 0
        : (selfNow.cutime() + selfNow.cstime() - selfAtStart.cutime() - selfAtStart.cstime()) * nanosPerTick;
    return breakdown(List.copyOf(containers.values()), containerDelta, groupDelta, List.copyOf(seen.values()), nanosPerTick,
        selfOwn, selfChildren, journalPid, seconds);
  }

  @Override
  public void close() {
    if (sampler != null) {
      sampler.shutdownNow();
    }
  }

  // ---- the breakdown

  /** The window's CPU by component (ns), and how long it was. */
  record Window(Map<String, Long> byComponent, Set<String> oursComponents, long nanos, List<String> notes) {
    long ours() {
      return oursComponents.stream().mapToLong(k -> byComponent.getOrDefault(k, 0L)).sum();
    }

    long total() {
      return byComponent.values().stream().mapToLong(Long::longValue).sum();
    }

    /** What {@code component} uses idle over as long as this window, at {@code idle}'s rate (ns). */
    long idleShare(Window idle, String component) {
      return idle.nanos() <= 0 ? 0 : Math.round(idle.byComponent().getOrDefault(component, 0L) * (double) nanos / idle.nanos());
    }

    /**
     * The report's {@code cpuPerPod}: ms per pod; {@code floor} the floor's ns per pod (-1: none); with
     * {@code idle} (a window without pods; null: none) also each component's idle rate (ms a second) and the
     * window's CPU less that rate over its length.
     */
    ObjectNode perPod(int pods, long floorNanosPerPod, Window idle) {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("pods", pods).put("windowSeconds", Math.round(nanos / 1e7) / 100.0);
      o.put("ours", ms(ours(), pods)).put("total", ms(total(), pods));
      if (floorNanosPerPod >= 0) {
        o.put("floor", ms(floorNanosPerPod, 1));
      }
      ObjectNode by = o.putObject("byComponent");
      byComponent.forEach((k, v) -> by.put(k, ms(v, pods)));
      if (idle != null) {
        long oursIdle = oursComponents.stream().mapToLong(k -> idleShare(idle, k)).sum();
        o.put("oursNetOfIdle", ms(ours() - oursIdle, pods));
        o.put("idleSeconds", Math.round(idle.nanos() / 1e7) / 100.0);
        ObjectNode rate = o.putObject("idleMsPerSecond");
        idle.byComponent().forEach((k, v) -> rate.put(k, Math.round(v / 1e4 / Math.max(1e-9, idle.nanos() / 1e9)) / 100.0));
        ObjectNode net = o.putObject("byComponentNetOfIdle");
        byComponent.forEach((k, v) -> net.put(k, ms(v - idleShare(idle, k), pods)));
      }
      o.putArray("oursIs").addAll(oursComponents.stream().sorted().map(com.fasterxml.jackson.databind.node.TextNode::valueOf).toList());
      var n = o.putArray("notes");
      notes.forEach(n::add);
      return o;
    }
  }

  /** ns over {@code pods} in ms, to 0.1 ms. */
  static double ms(long nanos, int pods) {
    return Math.round(nanos / 1e5 / Math.max(1, pods)) / 10.0;
  }

  /** Components whose CPU is "our code": the members' JVMs and the egress CNI plugin. */
  static final Set<String> OURS = Set.of("controller", "gateway", "worker", "pluginJvm");

  /**
   * The breakdown: each member container's JVM by role; the wireguard-go processes in the run's containers;
   * the PostgreSQL servers in them ({@code nodeJournals}) and the controllers' one on the host
   * ({@code controllerJournal}, {@code journalPid} and its children); the rest of the member containers'
   * groups ({@code agentCommands}) and of each other container by its name ({@code tunnelHolder},
   * {@code netnsHolder}, {@code cniChain}); the sandbox's own groups
   * as named; the sandbox JVM ({@code sandbox}) and its other children ({@code sandboxChildren}: its
   * children's time less the sandbox's own groups, which hold children of it).
   */
  static Window breakdown(List<Container> containers, Map<String, Long> containerDelta, Map<String, Long> groupDelta,
      List<Seen> processes, long nanosPerTick, long selfOwn, long selfChildren, long journalPid, long nanos) {
    Map<String, Long> by = new LinkedHashMap<>();
    for (String k : List.of("controller", "gateway", "worker", "pluginJvm", "cniPlugins", "wireguardGo", "agentCommands",
        "nodeJournals", "controllerJournal")) {
      by.put(k, 0L);
    }
    containers.stream().filter(c -> !c.member()).map(Container::component).sorted().forEach(k -> by.putIfAbsent(k, 0L));
    by.put("sandbox", 0L);
    by.put("sandboxChildren", 0L);
    List<String> notes = new ArrayList<>();
    Map<String, Container> byId = new HashMap<>();
    containers.forEach(c -> byId.put(c.id(), c));
    Map<String, Long> counted = new HashMap<>(); // per container: what its processes account for
    for (Seen s : processes) {
      long ns = s.delta() * nanosPerTick;
      Optional<Container> c = containerOf(s.cgroup()).map(byId::get);
      if (c.isPresent()) {
        String component = switch (s.comm()) {
          case "java" -> c.get().member() ? c.get().name() : c.get().component();
          case "wireguard-go" -> "wireguardGo";
          case "postgres" -> "nodeJournals";
          default -> c.get().component();
        };
        by.merge(component, ns, Long::sum);
        counted.merge(c.get().id(), ns, Long::sum);
      } else if (s.comm().equals("postgres") && journalPid > 0 && (s.pid() == journalPid || s.ppid() == journalPid)) {
        by.merge("controllerJournal", ns, Long::sum);
      }
    }
    for (Container c : containers) {
      Long delta = containerDelta.get(c.id());
      if (delta == null) {
        notes.add("no cgroup counters for container " + c.name() + " of " + c.pod() + " (" + c.id().substring(0, 12) + ")");
        continue;
      }
      long rest = delta - counted.getOrDefault(c.id(), 0L);
      // per-process ticks are 10 ms coarse: a rest a little below zero is rounding
      by.merge(c.member() ? "agentCommands" : c.component(), Math.max(0, rest), Long::sum);
    }
    long groupsTotal = 0;
    for (var e : groupDelta.entrySet()) {
      by.merge(e.getKey(), e.getValue(), Long::sum);
      if (!e.getKey().equals("floor")) {
        groupsTotal += e.getValue();
      }
    }
    by.put("sandbox", selfOwn);
    by.put("sandboxChildren", Math.max(0, selfChildren - groupsTotal));
    return new Window(by, OURS, nanos, notes);
  }
}
