package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A container's environment and podman arguments, from a pod spec the way the chart writes them. */
class PodEnvTest {
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  static final Pod POD = YAML.unmarshal("""
      apiVersion: v1
      kind: Pod
      metadata:
        name: egress-kube-egress-gateway-worker-x7k2p
        namespace: kube-egress-gateway-system
        uid: 0d3b4a6e-1111-2222-3333-444455556666
        labels: {app.kubernetes.io/component: worker}
      spec:
        nodeName: worker-1
        hostNetwork: true
        serviceAccountName: egress-kube-egress-gateway-worker
        containers:
          - name: worker
            image: localhost/kube-egress-gateway:1
            command: [/opt/egress/bin/egress]
            args: [run]
            env:
              - {name: EGRESS_ROLES, value: worker}
              - name: EGRESS_NODE_NAME
                valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
              - name: EGRESS_NAMESPACE
                valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
              - name: EGRESS_REMOTE_HOST
                valueFrom: {fieldRef: {fieldPath: status.podIP}}
              - name: COMPONENT
                valueFrom: {fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/component']"}}
              - {name: GREETING, value: "$(EGRESS_ROLES) on $(EGRESS_NODE_NAME), $$(literal) $(UNKNOWN)"}
              - name: EGRESS_DB_PASSWORD
                valueFrom: {secretKeyRef: {name: egress-journal, key: password}}
              - name: MEMORY
                valueFrom: {resourceFieldRef: {resource: limits.memory}}
            resources: {limits: {memory: 768Mi}}
            securityContext:
              runAsUser: 0
              runAsNonRoot: false
              allowPrivilegeEscalation: false
              capabilities: {add: [NET_ADMIN, NET_RAW, SYS_ADMIN]}
            volumeMounts:
              - {name: netns, mountPath: /var/run/netns, mountPropagation: HostToContainer}
              - {name: tun, mountPath: /dev/net/tun}
              - {name: scripts, mountPath: /opt/egress/scripts, readOnly: true}
        volumes:
          - {name: netns, hostPath: {path: /var/run/netns, type: DirectoryOrCreate}}
          - {name: tun, hostPath: {path: /dev/net/tun, type: CharDevice}}
          - {name: scripts, configMap: {name: cni-scripts, defaultMode: 0555}}
      """, Pod.class);

  static final PodEnv.Objects API = new PodEnv.Objects() {
    @Override
    public Optional<Map<String, String>> secretData(String namespace, String name) {
      return name.equals("egress-journal") ? Optional.of(Map.of("password",
          Base64.getEncoder().encodeToString("s3cret".getBytes(StandardCharsets.UTF_8)))) : Optional.empty();
    }

    @Override
    public Optional<Map<String, String>> configMapData(String namespace, String name) {
      return name.equals("cni-scripts") ? Optional.of(Map.of("install-cni.sh", "#!/bin/sh\n")) : Optional.empty();
    }
  };

  @Test
  void downwardApiSecretsAndResourcesResolveAsTheKubeletDoes() {
    Map<String, String> env = PodEnv.of(POD, POD.getSpec().getContainers().get(0), "10.224.0.4", "10.224.0.4",
        new java.util.LinkedHashMap<>(Map.of("KUBERNETES_SERVICE_HOST", "10.224.0.20")), API);
    assertEquals("worker-1", env.get("EGRESS_NODE_NAME"));
    assertEquals("kube-egress-gateway-system", env.get("EGRESS_NAMESPACE"));
    assertEquals("10.224.0.4", env.get("EGRESS_REMOTE_HOST"));
    assertEquals("worker", env.get("COMPONENT"));
    assertEquals("worker on worker-1, $(literal) $(UNKNOWN)", env.get("GREETING"));
    assertEquals("s3cret", env.get("EGRESS_DB_PASSWORD"));
    assertEquals(Long.toString(768L * 1024 * 1024), env.get("MEMORY"));
    assertEquals("10.224.0.20", env.get("KUBERNETES_SERVICE_HOST"));
    assertEquals(List.of("KUBERNETES_SERVICE_HOST", "EGRESS_ROLES"), env.keySet().stream().limit(2).toList(),
        "service variables first, then the container's in order");
  }

  @Test
  void aMissingSecretFailsTheContainer() {
    PodEnv.Objects empty = new PodEnv.Objects() {
      @Override
      public Optional<Map<String, String>> secretData(String namespace, String name) {
        return Optional.empty();
      }

      @Override
      public Optional<Map<String, String>> configMapData(String namespace, String name) {
        return Optional.empty();
      }
    };
    var e = assertThrows(PodEnv.MissingSource.class,
        () -> PodEnv.of(POD, POD.getSpec().getContainers().get(0), "10.224.0.4", "10.224.0.4", Map.of(), empty));
    assertTrue(e.getMessage().contains("egress-journal"), e.getMessage());
  }

  @Test
  void podmanArgumentsCarryTheSecurityContextVolumesAndCommand() throws Exception {
    Path dir = Files.createTempDirectory("podenv-test");
    try {
      NodeHost host = new NodeHost("worker-1", "egs-worker-1", dir.resolve("nodes/worker-1"));
      Map<String, PodVolumes.Source> volumes = Map.of(
          "netns", new PodVolumes.Source(host.hostPath("/var/run/netns"), false),
          "tun", new PodVolumes.Source(Path.of("/dev/net/tun"), true),
          "scripts", new PodVolumes.Source(dir.resolve("pod/volumes/scripts"), false),
          PodVolumes.SERVICE_ACCOUNT_VOLUME, new PodVolumes.Source(dir.resolve("pod/volumes/sa"), false));
      List<String> a = ContainerArgs.of(POD, POD.getSpec().getContainers().get(0), "k8s_worker", "/run/netns/egs-worker-1",
          "worker-1", volumes, dir.resolve("env"), "65532:65532", Map.of("io.egressgateway.sandbox", "run"));
      String line = String.join(" ", a);
      assertTrue(line.contains("--network ns:/run/netns/egs-worker-1"), line);
      assertTrue(line.contains("--user 0 "), line);
      assertTrue(line.contains("--cap-drop ALL"), line);
      for (String cap : List.of("NET_ADMIN", "NET_RAW", "SYS_ADMIN", "CHOWN", "MKNOD")) {
        assertTrue(line.contains("--cap-add " + cap), cap + ": " + line);
      }
      assertTrue(line.contains("--security-opt no-new-privileges"), line);
      assertTrue(line.contains("--memory " + 768L * 1024 * 1024), line);
      assertTrue(line.contains("-v " + dir.resolve("nodes/worker-1/run/netns") + ":/var/run/netns:rslave"), line);
      assertTrue(line.contains("--device /dev/net/tun:/dev/net/tun"), line);
      assertTrue(line.contains(":/opt/egress/scripts:ro,rprivate"), line);
      assertTrue(line.contains(":" + PodVolumes.SERVICE_ACCOUNT_DIR + ":ro"), line);
      assertTrue(line.endsWith("--entrypoint [\"/opt/egress/bin/egress\"] localhost/kube-egress-gateway:1 run"), line);
      assertTrue(!line.contains("--read-only"), line);
    } finally {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void appArmorUnconfinedFromTheFieldOrTheAnnotationReachesPodman() {
    Pod pod = YAML.unmarshal("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: w
          namespace: ns
          uid: u
          annotations: {container.apparmor.security.beta.kubernetes.io/old: unconfined}
        spec:
          securityContext: {seccompProfile: {type: RuntimeDefault}}
          containers:
            - name: worker
              image: img
              securityContext:
                appArmorProfile: {type: Unconfined}
                capabilities: {drop: [ALL], add: [NET_ADMIN, NET_RAW, SYS_ADMIN]}
            - name: old
              image: img
              securityContext: {capabilities: {drop: [ALL], add: [NET_ADMIN, SYS_ADMIN]}}
            - name: confined
              image: img
              securityContext: {capabilities: {drop: [ALL]}}
        """, Pod.class);
    for (int i = 0; i < 3; i++) {
      var c = pod.getSpec().getContainers().get(i);
      String line = String.join(" ", ContainerArgs.of(pod, c, "n", "/run/netns/p", "h", Map.of(), Path.of("/env"), "0", Map.of()));
      assertEquals(!c.getName().equals("confined"), line.contains("--security-opt apparmor=unconfined"), c.getName() + ": " + line);
      assertTrue(!line.contains("--privileged") && !line.contains("seccomp=unconfined"), line);
    }
    String worker = String.join(" ", ContainerArgs.of(pod, pod.getSpec().getContainers().get(0), "n", "/run/netns/p", "h",
        Map.of(), Path.of("/env"), "0", Map.of()));
    assertEquals(List.of("NET_ADMIN", "NET_RAW", "SYS_ADMIN"), ContainerArgs.capabilities(pod.getSpec().getContainers().get(0)
        .getSecurityContext().getCapabilities()), worker);
  }

  @Test
  void runAsNonRootRefusesRootAndReadOnlyRootHasNoExtraTmpfs() {
    Pod pod = YAML.unmarshal("""
        apiVersion: v1
        kind: Pod
        metadata: {name: c, namespace: ns, uid: u}
        spec:
          securityContext: {runAsNonRoot: true, fsGroup: 65532}
          containers:
            - name: controller
              image: img
              securityContext:
                readOnlyRootFilesystem: true
                capabilities: {drop: [ALL]}
        """, Pod.class);
    var c = pod.getSpec().getContainers().get(0);
    assertThrows(ContainerArgs.ConfigError.class, () -> ContainerArgs.of(pod, c, "n", "/run/netns/p", "c", Map.of(),
        Path.of("/env"), "root", Map.of()));
    String line = String.join(" ", ContainerArgs.of(pod, c, "n", "/run/netns/p", "c", Map.of(), Path.of("/env"), "65532:65532", Map.of()));
    assertTrue(line.contains("--group-add 65532"), line);
    assertTrue(line.contains("--read-only --read-only-tmpfs=false"), line);
    assertTrue(!line.contains("--cap-add"), "drop ALL leaves no capability: " + line);
    assertTrue(!line.contains("--user"), "the image's user: " + line);
  }

  @Test
  void kubeletBackOff() {
    assertEquals(List.of(0L, 10_000L, 20_000L, 40_000L, 80_000L, 160_000L, 300_000L, 300_000L),
        java.util.stream.IntStream.rangeClosed(1, 8).mapToObj(PodWorker::restartDelay).toList());
  }
}
