package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A pod's volumes on its node, as the kubelet provides them: {@code secret}, {@code configMap},
 * {@code downwardAPI} and {@code projected} volumes written into the pod's directory (files with the
 * volume's mode, group {@code fsGroup} when the pod has one), {@code emptyDir} as a directory of the pod,
 * {@code hostPath} as the node's own path ({@link NodeHost}), created for {@code DirectoryOrCreate} and
 * {@code FileOrCreate}, and the service-account token volume every pod gets unless it opts out. Secret and
 * ConfigMap contents are read once, when the pod starts.
 */
final class PodVolumes {
  /** Where the kubelet mounts the service account's token, CA certificate and namespace. */
  static final String SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
  static final String SERVICE_ACCOUNT_VOLUME = "kube-api-access-sandbox";

  /** One volume as containers mount it: a host path, or a character device. */
  record Source(Path path, boolean device) {}

  /** The service-account files every pod gets: its token (not checked by the sandbox's API) and the API's CA. */
  record ServiceAccount(String token, String caPem) {
    /** Never shows the token. */
    @Override
    public String toString() {
      return "ServiceAccount[token=(redacted)]";
    }
  }

  private PodVolumes() {}

  /**
   * Materializes every volume of {@code pod} under {@code podDir} (and the node's paths under {@code host});
   * returns each volume's source by name. Fails with {@link PodEnv.MissingSource} for a missing Secret or
   * ConfigMap that is not optional.
   */
  static Map<String, Source> materialize(Pod pod, Path podDir, NodeHost host, PodEnv.Objects api, ServiceAccount sa,
      String podIp, String hostIp) {
    Map<String, Source> out = new HashMap<>();
    Long fsGroup = pod.getSpec().getSecurityContext() == null ? null : pod.getSpec().getSecurityContext().getFsGroup();
    String ns = pod.getMetadata().getNamespace();
    try {
      Path volumes = podDir.resolve("volumes");
      Files.createDirectories(volumes);
      for (Volume v : volumesOf(pod)) {
        Path dir = volumes.resolve(v.getName());
        if (v.getHostPath() != null) {
          out.put(v.getName(), hostPath(v.getHostPath().getPath(), v.getHostPath().getType(), host));
        } else if (v.getEmptyDir() != null) {
          Files.createDirectories(dir);
          Files.setPosixFilePermissions(dir, perms(0777));
          out.put(v.getName(), new Source(dir, false));
        } else if (v.getSecret() != null) {
          var s = v.getSecret();
          var data = api.secretData(ns, s.getSecretName());
          if (data.isEmpty() && !Boolean.TRUE.equals(s.getOptional())) {
            throw new PodEnv.MissingSource("secret \"" + s.getSecretName() + "\" not found");
          }
          writeKeys(dir, decoded(data.orElse(Map.of())), s.getItems(), mode(s.getDefaultMode(), 0644), fsGroup);
          out.put(v.getName(), new Source(dir, false));
        } else if (v.getConfigMap() != null) {
          var c = v.getConfigMap();
          var data = api.configMapData(ns, c.getName());
          if (data.isEmpty() && !Boolean.TRUE.equals(c.getOptional())) {
            throw new PodEnv.MissingSource("configmap \"" + c.getName() + "\" not found");
          }
          writeKeys(dir, utf8(data.orElse(Map.of())), c.getItems(), mode(c.getDefaultMode(), 0644), fsGroup);
          out.put(v.getName(), new Source(dir, false));
        } else if (v.getDownwardAPI() != null) {
          Files.createDirectories(dir);
          for (var item : v.getDownwardAPI().getItems()) {
            write(dir.resolve(item.getPath()), PodEnv.field(pod, item.getFieldRef().getFieldPath(), podIp, hostIp)
                .getBytes(StandardCharsets.UTF_8), mode(item.getMode(), mode(v.getDownwardAPI().getDefaultMode(), 0644)), fsGroup);
          }
          out.put(v.getName(), new Source(dir, false));
        } else if (v.getProjected() != null) {
          Files.createDirectories(dir);
          int mode = mode(v.getProjected().getDefaultMode(), 0644);
          for (VolumeProjection p : v.getProjected().getSources()) {
            project(pod, p, dir, mode, fsGroup, api, sa, podIp, hostIp);
          }
          out.put(v.getName(), new Source(dir, false));
        } else {
          throw new PodEnv.MissingSource("volume " + v.getName() + ": this kind of volume is not supported by the sandbox");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The pod's volumes plus the service-account volume the kubelet adds (unless automounting is off). */
  static List<Volume> volumesOf(Pod pod) {
    List<Volume> vs = new java.util.ArrayList<>(pod.getSpec().getVolumes() == null ? List.of() : pod.getSpec().getVolumes());
    if (mountsServiceAccount(pod)) {
      vs.add(new io.fabric8.kubernetes.api.model.VolumeBuilder().withName(SERVICE_ACCOUNT_VOLUME).withNewProjected()
          .addNewSource().withNewServiceAccountToken().withPath("token").withExpirationSeconds(3607L).endServiceAccountToken().endSource()
          .addNewSource().withNewConfigMap().withName("kube-root-ca.crt").addNewItem().withKey("ca.crt").withPath("ca.crt").endItem()
          .endConfigMap().endSource()
          .addNewSource().withNewDownwardAPI().addNewItem().withPath("namespace").withNewFieldRef().withFieldPath("metadata.namespace")
          .endFieldRef().endItem().endDownwardAPI().endSource()
          .endProjected().build());
    }
    return vs;
  }

  static boolean mountsServiceAccount(Pod pod) {
    return !Boolean.FALSE.equals(pod.getSpec().getAutomountServiceAccountToken());
  }

  private static void project(Pod pod, VolumeProjection p, Path dir, int mode, Long fsGroup, PodEnv.Objects api,
      ServiceAccount sa, String podIp, String hostIp) throws IOException {
    String ns = pod.getMetadata().getNamespace();
    if (p.getServiceAccountToken() != null) {
      write(dir.resolve(p.getServiceAccountToken().getPath()), sa.token().getBytes(StandardCharsets.UTF_8), mode, fsGroup);
    } else if (p.getConfigMap() != null) {
      var c = p.getConfigMap();
      // kube-root-ca.crt: the API's CA, which every namespace holds
      Optional<Map<String, String>> data = "kube-root-ca.crt".equals(c.getName())
          ? Optional.of(Map.of("ca.crt", sa.caPem())) : api.configMapData(ns, c.getName());
      if (data.isEmpty() && !Boolean.TRUE.equals(c.getOptional())) {
        throw new PodEnv.MissingSource("configmap \"" + c.getName() + "\" not found");
      }
      writeKeys(dir, utf8(data.orElse(Map.of())), c.getItems(), mode, fsGroup);
    } else if (p.getSecret() != null) {
      var s = p.getSecret();
      var data = api.secretData(ns, s.getName());
      if (data.isEmpty() && !Boolean.TRUE.equals(s.getOptional())) {
        throw new PodEnv.MissingSource("secret \"" + s.getName() + "\" not found");
      }
      writeKeys(dir, decoded(data.orElse(Map.of())), s.getItems(), mode, fsGroup);
    } else if (p.getDownwardAPI() != null) {
      for (var item : p.getDownwardAPI().getItems()) {
        write(dir.resolve(item.getPath()), PodEnv.field(pod, item.getFieldRef().getFieldPath(), podIp, hostIp)
            .getBytes(StandardCharsets.UTF_8), mode(item.getMode(), mode), fsGroup);
      }
    }
  }

  /** A hostPath volume on the node; a character device (such as /dev/net/tun) is this machine's own. */
  private static Source hostPath(String path, String type, NodeHost host) throws IOException {
    if ("CharDevice".equals(type) || "BlockDevice".equals(type)) {
      if (!Files.exists(Path.of(path))) {
        throw new PodEnv.MissingSource("hostPath " + path + " is not a device here");
      }
      return new Source(Path.of(path), true);
    }
    Path p = host.hostPath(path);
    if ("DirectoryOrCreate".equals(type)) {
      Files.createDirectories(p);
    } else if ("FileOrCreate".equals(type)) {
      Files.createDirectories(p.getParent());
      if (!Files.exists(p)) {
        Files.createFile(p);
        Files.setPosixFilePermissions(p, perms(0644));
      }
    } else if (type != null && !type.isEmpty() && !Files.exists(p)) {
      throw new PodEnv.MissingSource("hostPath " + path + " (" + type + ") does not exist on the node");
    } else if (!Files.exists(p)) {
      // an unset type mounts whatever is there; a missing path becomes a directory, as docker makes it
      Files.createDirectories(p);
    }
    return new Source(p, false);
  }

  private static void writeKeys(Path dir, Map<String, byte[]> data, List<KeyToPath> items, int mode, Long fsGroup)
      throws IOException {
    Files.createDirectories(dir);
    if (items == null || items.isEmpty()) {
      for (var e : data.entrySet()) {
        write(dir.resolve(e.getKey()), e.getValue(), mode, fsGroup);
      }
      return;
    }
    for (KeyToPath item : items) {
      byte[] value = data.get(item.getKey());
      if (value == null) {
        throw new PodEnv.MissingSource("key " + item.getKey() + " not found");
      }
      write(dir.resolve(item.getPath()), value, mode(item.getMode(), mode), fsGroup);
    }
  }

  private static void write(Path file, byte[] content, int mode, Long fsGroup) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, content);
    Files.setPosixFilePermissions(file, perms(mode));
    if (fsGroup != null) {
      Sh.must("chgrp", Long.toString(fsGroup), file.toString());
      Sh.must("chgrp", Long.toString(fsGroup), file.getParent().toString());
    }
  }

  private static Map<String, byte[]> decoded(Map<String, String> base64) {
    Map<String, byte[]> out = new HashMap<>();
    base64.forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    return out;
  }

  private static Map<String, byte[]> utf8(Map<String, String> text) {
    Map<String, byte[]> out = new HashMap<>();
    text.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    return out;
  }

  private static int mode(Integer mode, int fallback) {
    return mode == null ? fallback : mode;
  }

  static Set<PosixFilePermission> perms(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.OWNER_READ};
    for (int i = 0; i < order.length; i++) {
      if ((mode & (1 << i)) != 0) {
        s.add(order[i]);
      }
    }
    return s;
  }
}
