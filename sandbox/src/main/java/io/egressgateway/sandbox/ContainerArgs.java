package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The {@code podman run} arguments for one container of a pod, from its spec the way a CRI runtime reads
 * it: the pod's network namespace ({@code --network ns:}), the user and groups ({@code runAsUser},
 * {@code runAsGroup}, {@code fsGroup}, {@code supplementalGroups}), capabilities (containerd's default set,
 * then {@code drop} and {@code add}), {@code privileged}, {@code readOnlyRootFilesystem} (without podman's
 * extra tmpfs mounts), {@code allowPrivilegeEscalation: false} as no-new-privileges, AppArmor
 * {@code Unconfined} (field or annotation) as {@code apparmor=unconfined}, the memory and CPU
 * limits, the volume mounts with their propagation, command and args over the image's entrypoint and
 * command, and the environment from a file (so no value shows on a command line).
 */
final class ContainerArgs {
  /** The capabilities containerd gives a container that neither adds nor drops any. */
  static final List<String> DEFAULT_CAPABILITIES = List.of("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW",
      "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE");

  /** Why a container cannot be created (a CreateContainerConfigError). */
  static final class ConfigError extends RuntimeException {
    ConfigError(String message) {
      super(message);
    }
  }

  private ContainerArgs() {}

  /**
   * @param name the container's name for podman
   * @param netnsPath the network namespace the pod's containers share
   * @param volumes each volume's source by name ({@link PodVolumes#materialize})
   * @param envFile the file with the container's environment
   * @param imageUser the image's default user ({@code uid[:gid]} or a name), for {@code runAsNonRoot}
   * @param labels podman labels
   */
  static List<String> of(Pod pod, Container c, String name, String netnsPath, String hostname,
      Map<String, PodVolumes.Source> volumes, Path envFile, String imageUser, Map<String, String> labels) {
    List<String> a = new ArrayList<>();
    a.addAll(List.of("--name", name, "--pull", "never", "--network", "ns:" + netnsPath, "--hostname", hostname,
        "--env-file", envFile.toString(), "--systemd", "false"));
    labels.forEach((k, v) -> a.addAll(List.of("--label", k + "=" + v)));
    if (Boolean.TRUE.equals(pod.getSpec().getHostPID())) {
      // the node's PID namespace; every simulated node shares this machine's
      a.addAll(List.of("--pid", "host"));
    }
    PodSecurityContext psc = pod.getSpec().getSecurityContext();
    SecurityContext sc = c.getSecurityContext();
    Long uid = sc != null && sc.getRunAsUser() != null ? sc.getRunAsUser() : psc != null ? psc.getRunAsUser() : null;
    Long gid = sc != null && sc.getRunAsGroup() != null ? sc.getRunAsGroup() : psc != null ? psc.getRunAsGroup() : null;
    Boolean nonRoot = sc != null && sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot() : psc != null ? psc.getRunAsNonRoot() : null;
    if (Boolean.TRUE.equals(nonRoot)) {
      String effective = uid != null ? Long.toString(uid) : imageUser == null ? "" : imageUser.split(":")[0];
      if (effective.isEmpty() || effective.equals("0") || effective.equals("root")) {
        throw new ConfigError("container has runAsNonRoot and image will run as root");
      }
      if (!effective.matches("\\d+")) {
        throw new ConfigError("container has runAsNonRoot and image has non-numeric user (" + effective + "), cannot verify user is non-root");
      }
    }
    if (uid != null) {
      a.addAll(List.of("--user", gid != null ? uid + ":" + gid : Long.toString(uid)));
    } else if (gid != null) {
      throw new ConfigError("runAsGroup without runAsUser is not supported by the sandbox");
    }
    Set<Long> groups = new LinkedHashSet<>();
    if (psc != null && psc.getFsGroup() != null) {
      groups.add(psc.getFsGroup());
    }
    if (psc != null && psc.getSupplementalGroups() != null) {
      groups.addAll(psc.getSupplementalGroups());
    }
    groups.forEach(g -> a.addAll(List.of("--group-add", Long.toString(g))));
    if (sc != null && Boolean.TRUE.equals(sc.getPrivileged())) {
      a.add("--privileged");
    } else {
      a.addAll(List.of("--cap-drop", "ALL"));
      capabilities(sc == null ? null : sc.getCapabilities()).forEach(cap -> a.addAll(List.of("--cap-add", cap)));
    }
    if (sc != null && Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
      a.addAll(List.of("--security-opt", "no-new-privileges"));
    }
    if (sc != null && Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
      a.addAll(List.of("--read-only", "--read-only-tmpfs=false"));
    }
    String seccomp = sc != null && sc.getSeccompProfile() != null ? sc.getSeccompProfile().getType()
        : psc != null && psc.getSeccompProfile() != null ? psc.getSeccompProfile().getType() : null;
    if ("Unconfined".equals(seccomp)) {
      a.addAll(List.of("--security-opt", "seccomp=unconfined"));
    }
    if (appArmorUnconfined(pod, c, sc)) {
      // the unprivileged worker and tunnel holder mount (ip netns exec): the default profile forbids it
      a.addAll(List.of("--security-opt", "apparmor=unconfined"));
    }
    if (c.getResources() != null && c.getResources().getLimits() != null) {
      Quantity mem = c.getResources().getLimits().get("memory");
      if (mem != null) {
        a.addAll(List.of("--memory", Quantity.getAmountInBytes(mem).toBigInteger().toString()));
      }
      Quantity cpu = c.getResources().getLimits().get("cpu");
      if (cpu != null) {
        a.addAll(List.of("--cpus", Quantity.getAmountInBytes(cpu).toPlainString()));
      }
    }
    if (c.getVolumeMounts() != null) {
      for (VolumeMount m : c.getVolumeMounts()) {
        a.addAll(mount(m, volumes));
      }
    }
    if (PodVolumes.mountsServiceAccount(pod) && volumes.containsKey(PodVolumes.SERVICE_ACCOUNT_VOLUME)
        && (c.getVolumeMounts() == null || c.getVolumeMounts().stream().noneMatch(m -> m.getMountPath().equals(PodVolumes.SERVICE_ACCOUNT_DIR)))) {
      a.addAll(List.of("-v", volumes.get(PodVolumes.SERVICE_ACCOUNT_VOLUME).path() + ":" + PodVolumes.SERVICE_ACCOUNT_DIR + ":ro"));
    }
    if (c.getWorkingDir() != null && !c.getWorkingDir().isEmpty()) {
      a.addAll(List.of("--workdir", c.getWorkingDir()));
    }
    List<String> command = c.getCommand() == null ? List.of() : c.getCommand();
    List<String> args = c.getArgs() == null ? List.of() : c.getArgs();
    if (!command.isEmpty()) {
      a.addAll(List.of("--entrypoint", json(command)));
    }
    a.add(c.getImage());
    // with a command of its own, the image's default arguments do not apply (as in Kubernetes)
    a.addAll(args);
    return a;
  }

  /** AppArmor unconfined by the container's field (Kubernetes 1.30) or the pod's annotation before it. */
  static boolean appArmorUnconfined(Pod pod, Container c, SecurityContext sc) {
    if (sc != null && sc.getAppArmorProfile() != null) {
      return "Unconfined".equals(sc.getAppArmorProfile().getType());
    }
    PodSecurityContext psc = pod.getSpec().getSecurityContext();
    if (psc != null && psc.getAppArmorProfile() != null) {
      return "Unconfined".equals(psc.getAppArmorProfile().getType());
    }
    Map<String, String> annotations = pod.getMetadata() == null ? null : pod.getMetadata().getAnnotations();
    return annotations != null && "unconfined".equals(annotations.get("container.apparmor.security.beta.kubernetes.io/" + c.getName()));
  }

  /** containerd's defaults, minus {@code drop} ({@code ALL} drops all), plus {@code add}. */
  static List<String> capabilities(Capabilities caps) {
    Set<String> set = new LinkedHashSet<>(DEFAULT_CAPABILITIES);
    if (caps != null && caps.getDrop() != null) {
      for (String d : caps.getDrop()) {
        if (normalize(d).equals("ALL")) {
          set.clear();
        } else {
          set.remove(normalize(d));
        }
      }
    }
    if (caps != null && caps.getAdd() != null) {
      caps.getAdd().forEach(cap -> set.add(normalize(cap)));
    }
    return List.copyOf(set);
  }

  private static String normalize(String cap) {
    String c = cap.toUpperCase(Locale.ROOT);
    return c.startsWith("CAP_") ? c.substring(4) : c;
  }

  private static List<String> mount(VolumeMount m, Map<String, PodVolumes.Source> volumes) {
    PodVolumes.Source src = volumes.get(m.getName());
    if (src == null) {
      throw new ConfigError("volume mount " + m.getName() + " names no volume of the pod");
    }
    if (src.device()) {
      return List.of("--device", src.path() + ":" + m.getMountPath());
    }
    Path from = src.path();
    if (m.getSubPath() != null && !m.getSubPath().isEmpty()) {
      from = from.resolve(m.getSubPath());
    }
    List<String> opts = new ArrayList<>();
    if (Boolean.TRUE.equals(m.getReadOnly())) {
      opts.add("ro");
    }
    switch (m.getMountPropagation() == null ? "None" : m.getMountPropagation()) {
      case "HostToContainer" -> opts.add("rslave");
      case "Bidirectional" -> opts.add("rshared");
      default -> opts.add("rprivate");
    }
    return List.of("-v", from + ":" + m.getMountPath() + ":" + String.join(",", opts));
  }

  private static String json(List<String> items) {
    return items.stream().map(s -> "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
        .collect(Collectors.joining(",", "[", "]"));
  }

  /** The environment file podman reads ({@code --env-file}): one {@code NAME=value} a line, values on one line. */
  static String envFile(Map<String, String> env) {
    StringBuilder b = new StringBuilder();
    env.forEach((k, v) -> {
      if (v.contains("\n")) {
        throw new ConfigError("environment variable " + k + " has a line break, which the sandbox cannot pass to podman");
      }
      b.append(k).append('=').append(v).append('\n');
    });
    return b.toString();
  }
}
