package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The in-process API stores objects and kubectl can talk to it through the written kubeconfig. */
class KubeApiTest {

  @Test
  void kubectlReadsWhatTheClientWrote() throws Exception {
    Path dir = Files.createTempDirectory("kubeapi-test");
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      Path kubeconfig = api.writeKubeconfig(dir.resolve("kubeconfig"));
      api.client().configMaps().inNamespace("default")
          .resource(new ConfigMapBuilder().withNewMetadata().withName("hello").endMetadata().addToData("k", "v").build())
          .create();
      assertEquals("v", api.client().configMaps().inNamespace("default").withName("hello").get().getData().get("k"));
      boolean kubectl = Sh.run(List.of("sh", "-c", "command -v kubectl"), null, 5).ok();
      // kubectl comes with this kind of machine (there is no Debian package to install it from): under CI
      // its absence is a failure, elsewhere the kubectl half is reported as skipped
      if (!kubectl && "true".equals(System.getenv("CI"))) {
        throw new AssertionError("kubectl is not installed; this test talks to the in-process API through it");
      }
      Assumptions.assumeTrue(kubectl, "kubectl is not installed: only the client half ran");
      Sh.Result r = Sh.run(List.of("kubectl", "--kubeconfig", kubeconfig.toString(), "--cache-dir", dir.resolve("cache").toString(),
          "get", "configmaps", "-n", "default", "-o", "name"), null, 30);
      assertTrue(r.ok(), r.err());
      assertTrue(r.out().contains("configmap/hello"), r.out());
    } finally {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  @Test
  void applyKeepsFieldsThisVersionDoesNotKnowAndCreatesBuiltInKinds() throws Exception {
    try (KubeApi api = KubeApi.start("127.0.0.1", 0)) {
      api.installCrds(java.nio.file.Path.of("..", "charts", "kube-egress-gateway", "crds"));
      String yaml = """
          # a comment-only document is skipped
          ---
          apiVersion: v1
          kind: Namespace
          metadata:
            name: apps
          ---
          apiVersion: egressgateway.kubernetes.azure.com/v1alpha1
          kind: StaticGatewayConfiguration
          metadata:
            name: newer
            namespace: apps
          spec:
            gatewayNodepoolName: gwpool
            optionFromANewerVersion: {mode: strict}
          """;
      List<String> applied = Demo.apply(api.client(), new java.io.ByteArrayInputStream(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      assertEquals(List.of("Namespace apps", "StaticGatewayConfiguration apps/newer"), applied);
      assertEquals("apps", api.client().namespaces().withName("apps").get().getMetadata().getName());
      var sgc = api.client().genericKubernetesResources(Demo.SGC)
          .inNamespace("apps").withName("newer").get();
      @SuppressWarnings("unchecked")
      java.util.Map<String, Object> spec = (java.util.Map<String, Object>) sgc.getAdditionalProperties().get("spec");
      assertEquals(java.util.Map.of("mode", "strict"), spec.get("optionFromANewerVersion"), spec.toString());
    }
  }
}
