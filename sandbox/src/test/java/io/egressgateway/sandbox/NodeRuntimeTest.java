package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A node runtime runs a pod from the product image with podman in a node namespace made for the test:
 * host network, env from the downward API and a Secret, a Secret volume, a hostPath of the node, the
 * service-account files, a non-root user with its capabilities dropped; the init container first; the
 * readiness probe sets Ready; a container that exits is started again; deletion runs the preStop hook.
 */
@Tag("privileged")
class NodeRuntimeTest {
  private static final KubernetesSerialization YAML = new KubernetesSerialization();

  @Test
  void runsAPodFromTheImageAsTheKubeletWould() throws Exception {
    Privileged.require("ip", "podman", "runc", "nsenter", "unshare", "curl");
    Optional<SandboxImage> image = SandboxImage.find(SandboxImage.root(), SandboxImage.defaultTag());
    if (image.isEmpty()) {
      String msg = "the product image is not built (sudo ./egress image)";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new AssertionError(msg);
      }
      Assumptions.abort(msg);
    }
    NetLab lab = new NetLab("n" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    Path state = Files.createTempDirectory("node-runtime-test");
    Podman podman = Podman.forRepository();
    NodeHost host = null;
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      String nodeNs = lab.addNamespace("node");
      Sh.must("ip", "-n", nodeNs, "addr", "add", "10.9.0.1/32", "dev", "lo");
      host = NodeHost.create("node-1", nodeNs, state.resolve("nodes"));
      NodeRuntime.ApiAccess access = new NodeRuntime.ApiAccess() {
        @Override
        public Map<String, String> serviceEnv() {
          return Map.of("KUBERNETES_SERVICE_HOST", "10.9.0.1", "KUBERNETES_SERVICE_PORT", "443");
        }

        @Override
        public String token(String namespace, String serviceAccount) {
          return "token-of-" + namespace + "-" + serviceAccount;
        }

        @Override
        public String caPem() {
          return "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        }
      };
      NodeRuntime.Network noNetwork = new NodeRuntime.Network() {
        @Override
        public Optional<String[]> await(Pod pod, java.util.function.BooleanSupplier cancelled) {
          return Optional.empty();
        }

        @Override
        public void release(Pod pod) {}
      };
      NodeRuntime node = new NodeRuntime(host, "10.9.0.1", api.client(), podman, noNetwork, access,
          state.resolve("pods"), state.resolve("logs"), lab.workDir().toString());
      api.client().secrets().inNamespace("t").resource(new SecretBuilder().withNewMetadata().withName("s").endMetadata()
          .addToStringData("word", "bird").build()).create();
      Pod pod = YAML.unmarshal(podYaml(image.get().image()), Pod.class);
      pod = api.client().pods().inNamespace("t").resource(pod).create();
      node.onPod(pod);

      Pod ready = Sh.poll(() -> api.client().pods().inNamespace("t").withName("tiny").get(),
          p -> p.getStatus() != null && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
              .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True")), Duration.ofSeconds(90), 500);
      assertTrue(ready.getStatus().getConditions().stream().anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True")),
          "the readiness probe made the pod Ready: " + ready.getStatus());
      assertEquals("10.9.0.1", ready.getStatus().getPodIP(), "a hostNetwork pod has the node's address");
      assertEquals("Running", ready.getStatus().getPhase());
      String id = node.containerId(pod.getMetadata().getUid(), "main").orElseThrow();
      assertTrue(ready.getStatus().getContainerStatuses().get(0).getContainerID().endsWith(id));

      String seen = podman.exec(id, List.of("sh", "-c", "cat /data/seen; cat /tmp/said; id -u; cat /proc/self/status | grep CapEff; "
          + "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; cat /var/run/secrets/kubernetes.io/serviceaccount/token; echo; "
          + "cat /secret/word; echo; touch /x 2>/dev/null && echo writable || echo read-only"), 30).stdout();
      assertTrue(seen.contains("init ran"), seen);
      assertTrue(seen.contains("pod tiny in t on node-1 at 10.9.0.1 says bird, API 10.9.0.1:443"), seen);
      assertTrue(seen.contains("\n65532\n"), "runAsUser: " + seen);
      assertTrue(seen.contains("CapEff:\t0000000000000000"), "capabilities dropped: " + seen);
      assertTrue(seen.contains("\nt\ntoken-of-t-default\nbird\nread-only"), seen);
      assertTrue(Files.readString(host.hostPath("/var/lib/tiny/seen")).contains("init ran"), "the hostPath is the node's directory");

      // the main container exits when told to: it is started again, with the restart counted
      podman.stop(id, 0);
      Pod restarted = Sh.poll(() -> api.client().pods().inNamespace("t").withName("tiny").get(),
          p -> p.getStatus().getContainerStatuses().get(0).getRestartCount() >= 1
              && Boolean.TRUE.equals(p.getStatus().getContainerStatuses().get(0).getReady()), Duration.ofSeconds(60), 500);
      assertEquals(1, restarted.getStatus().getContainerStatuses().get(0).getRestartCount(), restarted.getStatus().toString());
      String id2 = node.containerId(pod.getMetadata().getUid(), "main").orElseThrow();
      assertFalse(id2.equals(id), "a new container");

      api.client().pods().inNamespace("t").withName("tiny").delete();
      node.onDeleted(pod);
      node.terminated(pod.getMetadata().getUid()).get(60, TimeUnit.SECONDS);
      assertTrue(Files.readString(host.hostPath("/var/lib/tiny/seen")).contains("preStop ran"), "the preStop hook ran");
      assertTrue(podman.remaining().isEmpty(), "every container removed: " + podman.remaining());
      assertTrue(Files.exists(state.resolve("logs/t_tiny_main.log")), "logs kept");
    } finally {
      podman.removeAll();
      if (host != null) {
        host.remove();
      }
      lab.close();
      try (var s = Files.walk(state)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    assertTrue(lab.existingNamespaces().isEmpty());
  }

  private static String podYaml(String image) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: tiny, namespace: t}
        spec:
          nodeName: node-1
          hostNetwork: true
          terminationGracePeriodSeconds: 5
          securityContext: {runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true}
          initContainers:
            - name: init
              image: %1$s
              command: [/bin/sh, -c, "echo init ran > /data/seen && chmod 0777 /data && chmod 0666 /data/seen"]
              securityContext: {runAsUser: 0, runAsNonRoot: false, capabilities: {drop: [ALL], add: [DAC_OVERRIDE]}}
              volumeMounts: [{name: data, mountPath: /data}]
          containers:
            - name: main
              image: %1$s
              command: [/bin/sh, -c]
              args:
                - echo "pod $POD in $NS on $NODE at $IP says $WORD, API $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT" > /tmp/said; cat /tmp/said >> /data/seen 2>/dev/null; cat /tmp/said; touch /tmp/ready; exec sleep infinity
              env:
                - name: POD
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
                - name: NS
                  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
                - name: NODE
                  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
                - name: IP
                  valueFrom: {fieldRef: {fieldPath: status.podIP}}
                - name: WORD
                  valueFrom: {secretKeyRef: {name: s, key: word}}
              readinessProbe:
                exec: {command: [test, -f, /tmp/ready]}
                periodSeconds: 1
              lifecycle:
                preStop:
                  exec: {command: [/bin/sh, -c, "echo preStop ran >> /data/seen"]}
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: {drop: [ALL]}
              volumeMounts:
                - {name: data, mountPath: /data}
                - {name: tmp, mountPath: /tmp}
                - {name: secret, mountPath: /secret, readOnly: true}
          volumes:
            - {name: data, hostPath: {path: /var/lib/tiny, type: DirectoryOrCreate}}
            - {name: tmp, emptyDir: {}}
            - {name: secret, secret: {secretName: s, defaultMode: 0444}}
        """.formatted(image);
  }
}
