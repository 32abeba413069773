package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pod on a {@link NodeRuntime}, on a thread of its own: network, volumes, the init containers one after
 * the other (each to a successful exit, retried), then the containers. While the pod exists it restarts an
 * exited container (restart policy Always) with the kubelet's back-off (immediately, then 10 s doubling up
 * to 5 min), acts on probes (a container whose liveness probe failed {@code failureThreshold} times in a row
 * is stopped and started again; readiness sets the container's and the pod's Ready), and writes the pod's
 * status when it changes. When the pod is deleted: the preStop hooks, then SIGTERM and SIGKILL at the end
 * of the grace period, the containers' logs kept, the containers removed, then the network released.
 */
final class PodWorker {
  private static final Logger log = LoggerFactory.getLogger(PodWorker.class);
  private static final long TICK_MS = 500;

  /** One container of the pod: its current podman container and what the kubelet tracks about it. */
  private static final class Slot {
    final Container spec;
    final boolean init;
    /** Which instance of the container runs: its restart count when it started (names its kept log). */
    int instance;
    String id;
    CompletableFuture<Integer> exit;
    Instant startedAt;
    int restarts;
    int crashes;
    Integer lastExitCode;
    boolean ready;
    boolean completed;
    int liveFailures;
    int readyFailures;
    int readySuccesses;
    long nextLiveness;
    long nextReadiness;
    long restartAt;
    String waiting = "ContainerCreating";

    Slot(Container spec, boolean init) {
      this.spec = spec;
      this.init = init;
    }
  }

  private final NodeRuntime node;
  private final String uid;
  private final String key;
  private final Pod pod;
  private final Path dir;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final List<Slot> inits = new ArrayList<>();
  private final List<Slot> containers = new ArrayList<>();
  private volatile boolean stopping;
  private volatile boolean tearingDown;
  private Thread thread;
  private String netnsPath;
  private String podIp;
  private Map<String, PodVolumes.Source> volumes;
  private String imageUser;
  private String phase = "Pending";
  private String lastStatus = "";
  private String message;
  private Instant startTime;

  PodWorker(NodeRuntime node, Pod pod) {
    this.node = node;
    this.pod = pod;
    this.uid = pod.getMetadata().getUid();
    this.key = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    this.dir = node.podDir(uid);
    NodeRuntime.initContainers(pod).forEach(c -> inits.add(new Slot(c, true)));
    pod.getSpec().getContainers().forEach(c -> containers.add(new Slot(c, false)));
  }

  String uid() {
    return uid;
  }

  String key() {
    return key;
  }

  Pod pod() {
    return pod;
  }

  void start() {
    thread = new Thread(this::run, "kubelet-" + node.node() + "-" + pod.getMetadata().getName());
    thread.setDaemon(true);
    thread.start();
  }

  void stop() {
    if (stopping) {
      return;
    }
    stopping = true;
    if (thread != null && !tearingDown) {
      thread.interrupt();
    }
  }

  CompletableFuture<Void> terminated() {
    return terminated;
  }

  synchronized Optional<String> containerId(String name) {
    return containers.stream().filter(s -> s.spec.getName().equals(name) && s.id != null && s.exit != null && !s.exit.isDone())
        .map(s -> s.id).findFirst();
  }

  /** Restarts of container {@code name} so far. */
  synchronized int restarts(String name) {
    return containers.stream().filter(s -> s.spec.getName().equals(name)).mapToInt(s -> s.restarts).findFirst().orElse(0);
  }

  /** Whether every container is running and ready. */
  synchronized boolean ready() {
    return phase.equals("Running") && containers.stream().allMatch(s -> s.ready);
  }

  private void run() {
    try {
      startTime = Instant.now();
      if (!attachNetwork()) {
        return;
      }
      writeStatus();
      if (!prepare()) {
        return;
      }
      for (Slot s : inits) {
        if (!runToCompletion(s)) {
          return;
        }
      }
      for (Slot s : containers) {
        startContainer(s);
      }
      synchronized (this) {
        phase = "Running";
      }
      long nextSync = 0;
      while (!stopping) {
        tick();
        writeStatus();
        if (System.currentTimeMillis() >= nextSync) {
          nextSync = System.currentTimeMillis() + 5000;
          stopIfGone();
        }
        sleep(TICK_MS);
      }
    } catch (RuntimeException e) {
      log.error("pod {} on {}: {}", key, node.node(), e.toString(), e);
    } finally {
      teardown();
    }
  }

  /** The kubelet's periodic sync: a pod the API no longer has (a missed delete event) is stopped all the same. */
  private void stopIfGone() {
    try {
      Pod now = node.client().pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).get();
      if (now == null || !uid.equals(now.getMetadata().getUid())) {
        log.info("pod {} on {}: gone from the API, stopping it", key, node.node());
        stopping = true;
      }
    } catch (RuntimeException e) {
      log.debug("pod {}: cannot read it back: {}", key, e.getMessage());
    }
  }

  private boolean attachNetwork() {
    if (Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
      netnsPath = "/run/netns/" + node.host().netns();
      podIp = node.nodeIp();
      return true;
    }
    Optional<String[]> net = node.network().await(pod, () -> stopping);
    if (net.isEmpty()) {
      return false;
    }
    netnsPath = "/run/netns/" + net.get()[0];
    podIp = net.get()[1];
    return true;
  }

  /** Volumes and the image's user; retried while a Secret or ConfigMap is missing (CreateContainerConfigError). */
  private boolean prepare() {
    while (!stopping) {
      try {
        Files.createDirectories(dir);
        String sa = pod.getSpec().getServiceAccountName() == null ? "default" : pod.getSpec().getServiceAccountName();
        volumes = PodVolumes.materialize(pod, dir, node.host(), node.objects(),
            new PodVolumes.ServiceAccount(node.api().token(pod.getMetadata().getNamespace(), sa), node.api().caPem()),
            podIp, node.nodeIp());
        // every image must be on the node (the sandbox pulls nothing); the image user is the first container's
        String missing = null;
        for (Slot slot : inits.isEmpty() ? containers : java.util.stream.Stream.concat(inits.stream(), containers.stream()).toList()) {
          Map<String, String> info = node.podman().image(slot.spec.getImage());
          if (info.isEmpty()) {
            missing = slot.spec.getImage();
          } else if (!slot.init && imageUser == null) {
            imageUser = info.get("user");
          }
        }
        if (missing != null) {
          imageUser = null;
          fail("ErrImageNeverPull", "image " + missing + " is not present on the node (the sandbox pulls no image)");
        } else {
          return true;
        }
      } catch (PodEnv.MissingSource e) {
        fail("CreateContainerConfigError", e.getMessage());
      } catch (IOException e) {
        fail("CreateContainerConfigError", e.getMessage());
      }
      sleep(2000);
    }
    return false;
  }

  private void fail(String reason, String why) {
    synchronized (this) {
      message = reason + ": " + why;
      (inits.isEmpty() ? containers : inits).forEach(s -> s.waiting = reason);
    }
    log.warn("pod {} on {}: {}", key, node.node(), message);
    writeStatus();
  }

  /** An init container, started again (with back-off) until it exits 0; false when the pod is stopping. */
  private boolean runToCompletion(Slot s) {
    while (!stopping) {
      if (!startContainer(s)) {
        backoff(s);
        continue;
      }
      int code;
      try {
        code = s.exit.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } catch (Exception e) {
        code = -1;
      }
      synchronized (this) {
        s.lastExitCode = code;
      }
      keepLogs(s);
      node.podman().remove(s.id);
      if (code == 0) {
        synchronized (this) {
          s.completed = true;
          s.id = null;
        }
        writeStatus();
        return true;
      }
      log.warn("pod {}: init container {} exited {}", key, s.spec.getName(), code);
      synchronized (this) {
        s.restarts++;
        s.id = null;
        s.waiting = "CrashLoopBackOff";
      }
      writeStatus();
      backoff(s);
    }
    return false;
  }

  private void backoff(Slot s) {
    s.crashes++;
    sleep(restartDelay(s.crashes));
  }

  /** The kubelet's back-off before the {@code n}-th restart in a row: none, then 10 s doubling to 5 min. */
  static long restartDelay(int n) {
    return n <= 1 ? 0 : Math.min(300_000L, 10_000L << Math.min(n - 2, 5));
  }

  /** Creates and starts the container's next instance; false (and logged, in the status) when podman refused. */
  private boolean startContainer(Slot s) {
    Container c = s.spec;
    try {
      Map<String, String> env = PodEnv.of(pod, c, podIp, node.nodeIp(), node.api().serviceEnv(), node.objects());
      Path envFile = dir.resolve("env-" + (s.init ? "init-" : "") + c.getName());
      Files.writeString(envFile, ContainerArgs.envFile(env));
      Files.setPosixFilePermissions(envFile, PodVolumes.perms(0600));
      String hostname = Boolean.TRUE.equals(pod.getSpec().getHostNetwork()) ? node.node() : pod.getMetadata().getName();
      String name = "k8s_" + c.getName() + "_" + pod.getMetadata().getName() + "_" + pod.getMetadata().getNamespace() + "_"
          + uid.substring(0, Math.min(8, uid.length())) + "_" + s.restarts;
      Map<String, String> labels = new LinkedHashMap<>();
      labels.put(Podman.LABEL, node.runLabel());
      labels.put(Podman.LABEL + ".pod", key);
      labels.put(Podman.LABEL + ".container", c.getName());
      labels.put(Podman.LABEL + ".node", node.node());
      List<String> args = ContainerArgs.of(pod, c, name, netnsPath, hostname, volumes, envFile, imageUser, labels);
      String id = node.podman().runDetached(args);
      synchronized (this) {
        s.id = id;
        s.instance = s.restarts;
        s.exit = node.podman().whenExited(id);
        s.startedAt = Instant.now();
        s.ready = false;
        s.liveFailures = 0;
        s.readyFailures = 0;
        s.readySuccesses = 0;
        s.waiting = null;
        long now = System.currentTimeMillis();
        s.nextLiveness = now + 1000L * initialDelay(c.getLivenessProbe());
        s.nextReadiness = now + 1000L * initialDelay(c.getReadinessProbe());
        message = null;
      }
      log.info("pod {} on {}: container {} started ({})", key, node.node(), c.getName(), id.substring(0, 12));
      return true;
    } catch (ContainerArgs.ConfigError | PodEnv.MissingSource e) {
      fail("CreateContainerConfigError", c.getName() + ": " + e.getMessage());
    } catch (IOException | RuntimeException e) {
      fail("RunContainerError", c.getName() + ": " + e.getMessage());
    }
    synchronized (this) {
      s.id = null;
      s.exit = null;
    }
    return false;
  }

  /** One round over the containers: restarts due, probes due. */
  private void tick() {
    long now = System.currentTimeMillis();
    for (Slot s : containers) {
      if (stopping) {
        return;
      }
      if (s.exit == null || s.exit.isDone()) {
        onExited(s, now);
        continue;
      }
      Probe live = s.spec.getLivenessProbe();
      if (live != null && now >= s.nextLiveness) {
        s.nextLiveness = now + 1000L * period(live);
        if (probe(s, live)) {
          s.liveFailures = 0;
        } else if (++s.liveFailures >= failureThreshold(live)) {
          log.warn("pod {}: container {} failed its liveness probe {} times: restarting it", key, s.spec.getName(), s.liveFailures);
          kill(s, true);
          synchronized (this) {
            s.restarts++;
            s.lastExitCode = 137;
          }
          keepLogsAndRemove(s);
          startContainer(s);
          continue;
        }
      }
      Probe ready = s.spec.getReadinessProbe();
      if (ready == null) {
        s.ready = true;
      } else if (now >= s.nextReadiness) {
        s.nextReadiness = now + 1000L * period(ready);
        boolean ok = probe(s, ready);
        synchronized (this) {
          if (ok) {
            s.readyFailures = 0;
            if (++s.readySuccesses >= successThreshold(ready)) {
              s.ready = true;
            }
          } else {
            s.readySuccesses = 0;
            if (++s.readyFailures >= failureThreshold(ready)) {
              s.ready = false;
            }
          }
        }
      }
    }
  }

  /** A container that exited: its logs kept, then started again once its back-off has passed. */
  private void onExited(Slot s, long now) {
    if (s.id != null) {
      int code = s.exit == null ? -1 : s.exit.getNow(-1);
      boolean ranLong = s.startedAt != null && Duration.between(s.startedAt, Instant.now()).toMinutes() >= 10;
      log.warn("pod {}: container {} exited with {}", key, s.spec.getName(), code);
      keepLogsAndRemove(s);
      synchronized (this) {
        s.lastExitCode = code;
        s.ready = false;
        s.crashes = ranLong ? 1 : s.crashes + 1;
        s.restartAt = now + restartDelay(s.crashes);
        s.restarts++;
        s.waiting = s.crashes > 1 ? "CrashLoopBackOff" : "ContainerCreating";
      }
      return;
    }
    if (now >= s.restartAt && !startContainer(s)) {
      synchronized (this) {
        s.crashes++;
        s.restartAt = now + restartDelay(s.crashes);
      }
    }
  }

  private boolean probe(Slot s, Probe p) {
    int timeout = p.getTimeoutSeconds() == null ? 1 : p.getTimeoutSeconds();
    try {
      if (p.getHttpGet() != null) {
        var h = p.getHttpGet();
        String host = h.getHost() == null || h.getHost().isEmpty() ? podIp : h.getHost();
        String scheme = h.getScheme() == null ? "http" : h.getScheme().toLowerCase();
        String path = h.getPath() == null ? "/" : h.getPath();
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-m",
            Integer.toString(timeout)));
        if (h.getHttpHeaders() != null) {
          h.getHttpHeaders().forEach(x -> cmd.addAll(List.of("-H", x.getName() + ": " + x.getValue())));
        }
        cmd.add(scheme + "://" + host + ":" + port(s.spec, h.getPort()) + path);
        String code = node.onNode(cmd, timeout + 5).stdout().trim();
        return code.matches("\\d+") && Integer.parseInt(code) >= 200 && Integer.parseInt(code) < 400;
      }
      if (p.getTcpSocket() != null) {
        String host = p.getTcpSocket().getHost() == null || p.getTcpSocket().getHost().isEmpty() ? podIp : p.getTcpSocket().getHost();
        return node.onNode(List.of("timeout", Integer.toString(timeout), "bash", "-c",
            "exec 3<>/dev/tcp/" + host + "/" + port(s.spec, p.getTcpSocket().getPort())), timeout + 5).ok();
      }
      if (p.getExec() != null) {
        return node.podman().exec(s.id, p.getExec().getCommand(), timeout + 5L).ok();
      }
    } catch (RuntimeException e) {
      log.debug("pod {}: probe of {} failed: {}", key, s.spec.getName(), e.toString());
      return false;
    }
    return false;
  }

  /** A probe's port: a number, or the name of one of the container's ports. */
  static int port(Container c, IntOrString port) {
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    String name = port.getStrVal();
    if (name.matches("\\d+")) {
      return Integer.parseInt(name);
    }
    return c.getPorts() == null ? -1 : c.getPorts().stream().filter(p -> name.equals(p.getName()))
        .mapToInt(p -> p.getContainerPort()).findFirst().orElse(-1);
  }

  private static int initialDelay(Probe p) {
    return p == null || p.getInitialDelaySeconds() == null ? 0 : p.getInitialDelaySeconds();
  }

  private static int period(Probe p) {
    return p.getPeriodSeconds() == null ? 10 : Math.max(1, p.getPeriodSeconds());
  }

  private static int failureThreshold(Probe p) {
    return p.getFailureThreshold() == null ? 3 : Math.max(1, p.getFailureThreshold());
  }

  private static int successThreshold(Probe p) {
    return p.getSuccessThreshold() == null ? 1 : Math.max(1, p.getSuccessThreshold());
  }

  /** The preStop hook (exec or HTTP GET), then SIGTERM with what is left of the grace period. */
  private void kill(Slot s, boolean hook) {
    if (s.id == null || s.exit == null || s.exit.isDone()) {
      return;
    }
    long deadline = System.nanoTime() + NodeRuntime.grace(pod).toNanos();
    var preStop = s.spec.getLifecycle() == null ? null : s.spec.getLifecycle().getPreStop();
    if (hook && preStop != null) {
      long seconds = Math.max(1, NodeRuntime.grace(pod).toSeconds());
      if (preStop.getExec() != null) {
        CommandRunner.Result r = node.podman().exec(s.id, preStop.getExec().getCommand(), seconds);
        log.info("pod {}: preStop of {} exited {}{}", key, s.spec.getName(), r.exitCode(),
            (r.stdout() + r.stderr()).isBlank() ? "" : ": " + (r.stdout() + r.stderr()).trim());
      } else if (preStop.getHttpGet() != null) {
        var h = preStop.getHttpGet();
        node.onNode(List.of("curl", "-s", "-o", "/dev/null", "-m", Long.toString(seconds),
            "http://" + (h.getHost() == null ? podIp : h.getHost()) + ":" + port(s.spec, h.getPort()) + (h.getPath() == null ? "/" : h.getPath())),
            seconds + 5);
      }
    }
    long left = Math.max(0, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
    // as the kubelet: SIGTERM to the main process, then SIGKILL to every process once the grace period is over
    node.podman().terminate(s.id);
    try {
      s.exit.get(left, TimeUnit.SECONDS);
      return;
    } catch (java.util.concurrent.TimeoutException e) {
      log.info("pod {}: container {} still running after its {} s of grace: killing it", key, s.spec.getName(), left);
    } catch (Exception e) {
      log.warn("pod {}: container {}: {}", key, s.spec.getName(), e.toString());
    }
    node.podman().stop(s.id, 0);
    try {
      s.exit.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("pod {}: container {} still running after stop: {}", key, s.spec.getName(), e.toString());
    }
  }

  private void keepLogsAndRemove(Slot s) {
    if (s.id == null) {
      return;
    }
    keepLogs(s);
    node.podman().remove(s.id);
    synchronized (this) {
      s.id = null;
    }
  }

  private void keepLogs(Slot s) {
    Path file = node.logsDir().resolve(pod.getMetadata().getNamespace() + "_" + pod.getMetadata().getName() + "_"
        + s.spec.getName() + (s.instance == 0 ? "" : "." + s.instance) + ".log");
    node.podman().saveLogs(s.id, file);
  }

  /** Deletion: hooks and SIGTERM for every running container at once, then logs, removal, network, files. */
  private void teardown() {
    tearingDown = true;
    Thread.interrupted();
    try {
      List<Thread> killers = new ArrayList<>();
      for (Slot s : containers) {
        Thread t = new Thread(() -> kill(s, true), "kubelet-stop-" + s.spec.getName());
        t.start();
        killers.add(t);
      }
      for (Thread t : killers) {
        try {
          t.join(NodeRuntime.grace(pod).toMillis() + 60_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      for (Slot s : inits) {
        if (s.id != null) {
          node.podman().stop(s.id, 0);
        }
        keepLogsAndRemove(s);
      }
      containers.forEach(this::keepLogsAndRemove);
      if (!Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
        node.network().release(pod);
      }
      deleteDir();
      log.info("pod {} on {}: stopped", key, node.node());
    } finally {
      node.forget(this);
      terminated.complete(null);
    }
  }

  private void deleteDir() {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // gone already
    }
  }

  /** Writes the pod's status when it differs from what was written last. */
  private void writeStatus() {
    if (stopping) {
      return;
    }
    PodStatus status;
    synchronized (this) {
      status = status();
    }
    String text = status.toString();
    if (text.equals(lastStatus)) {
      return;
    }
    try {
      node.client().pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .editStatus(p -> {
            p.setStatus(status);
            return p;
          });
      lastStatus = text;
    } catch (RuntimeException e) {
      log.debug("pod {}: cannot write status: {}", key, e.getMessage());
    }
  }

  private PodStatus status() {
    String now = Instant.now().toString();
    boolean initialized = inits.stream().allMatch(s -> s.completed);
    boolean allReady = phase.equals("Running") && containers.stream().allMatch(s -> s.ready);
    List<PodCondition> conditions = List.of(
        condition("PodScheduled", true),
        condition("Initialized", initialized),
        condition("ContainersReady", allReady),
        condition("Ready", allReady));
    PodStatusBuilder b = new PodStatusBuilder().withPhase(phase).withHostIP(node.nodeIp()).withPodIP(podIp)
        .withStartTime(startTime == null ? now : startTime.toString()).withConditions(conditions).withMessage(message)
        .withQosClass("Burstable");
    if (podIp != null) {
      b.addNewPodIP().withIp(podIp).endPodIP().addNewHostIP().withIp(node.nodeIp()).endHostIP();
    }
    b.withInitContainerStatuses(inits.stream().map(this::containerStatus).toList());
    b.withContainerStatuses(containers.stream().map(this::containerStatus).toList());
    return b.build();
  }

  private static PodCondition condition(String type, boolean ok) {
    return new PodConditionBuilder().withType(type).withStatus(ok ? "True" : "False").build();
  }

  private ContainerStatus containerStatus(Slot s) {
    ContainerStatusBuilder b = new ContainerStatusBuilder().withName(s.spec.getName()).withImage(s.spec.getImage())
        .withRestartCount(s.restarts).withReady(!s.init && s.ready);
    boolean running = s.id != null && s.exit != null && !s.exit.isDone();
    if (running) {
      b.withContainerID("podman://" + s.id).withStarted(true).withNewState().withNewRunning()
          .withStartedAt(s.startedAt.toString()).endRunning().endState();
    } else if (s.completed) {
      b.withStarted(false).withNewState().withNewTerminated().withExitCode(0).withReason("Completed").endTerminated().endState();
    } else {
      b.withStarted(false).withNewState().withNewWaiting().withReason(s.waiting == null ? "ContainerCreating" : s.waiting)
          .endWaiting().endState();
    }
    if (s.lastExitCode != null && !s.completed) {
      b.withNewLastState().withNewTerminated().withExitCode(s.lastExitCode).withReason(s.lastExitCode == 0 ? "Completed" : "Error")
          .endTerminated().endLastState();
    }
    return b.build();
  }

  private void sleep(long ms) {
    if (stopping || ms <= 0) {
      return;
    }
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      // stop() interrupts: the loop sees 'stopping'
    }
  }
}
