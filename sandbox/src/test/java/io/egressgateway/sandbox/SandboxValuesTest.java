package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sandbox's values file renders the chart, and names the addresses the sandbox serves its services at. */
class SandboxValuesTest {

  @Test
  void theChartRendersWithTheSandboxValuesAndPointsAtTheSandboxServices() throws Exception {
    Path values = Files.createTempFile("sandbox-values", ".yaml");
    try (var in = Sandbox.class.getResourceAsStream("/" + Sandbox.VALUES)) {
      Files.write(values, in.readAllBytes());
      Release release = new Release(null, SandboxImage.root().resolve("charts/kube-egress-gateway"), node -> java.util.Optional.empty());
      String rendered = release.render(values, Map.of("image.repository", "localhost/kube-egress-gateway", "image.tag", "test"));
      assertTrue(release.chartVersion().matches("\\d+\\.\\d+\\.\\d+.*"), release.chartVersion());
      var serialization = new io.fabric8.kubernetes.client.utils.KubernetesSerialization();
      Deployment controller = null;
      int daemonSets = 0;
      for (String doc : rendered.split("(?m)^---[ \\t]*$")) {
        if (doc.contains("kind: Deployment")) {
          controller = serialization.unmarshal(doc, Deployment.class);
        } else if (doc.contains("kind: DaemonSet")) {
          daemonSets++;
          DaemonSet ds = serialization.unmarshal(doc, DaemonSet.class);
          assertEquals("localhost/kube-egress-gateway:test", ds.getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
        }
      }
      assertEquals(4, daemonSets, "gateway, worker, tunnel holder, namespace holder");
      assertEquals(1, rendered.split("(?m)^kind: Namespace$", -1).length - 1, "the key namespace, the only one the chart makes");
      assertTrue(rendered.contains("name: " + Release.KEYS_NAMESPACE + "\n"), "the uninstall check looks for the key namespace the chart makes");
      var env = controller.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
      java.util.function.Function<String, String> value = name -> env.stream().filter(e -> e.getName().equals(name))
          .map(e -> e.getValue()).findFirst().orElse(null);
      assertEquals(Release.KEYS_NAMESPACE, value.apply("EGRESS_KEY_NAMESPACE"));
      assertEquals(VnetServices.JOURNAL_IP, value.apply("EGRESS_DB_HOST"));
      assertEquals(Integer.toString(VnetServices.JOURNAL_PORT), value.apply("EGRESS_DB_PORT"));
      assertEquals("/etc/egress/azure-environment/environment.json", value.apply("AZURE_ENVIRONMENT_FILEPATH"));
      assertEquals(Sandbox.CONTROLLER_REPLICAS, controller.getSpec().getReplicas());
      assertEquals("true", value.apply("EGRESS_PREFIX_GRANTS"), "the sandbox enforces prefix grants (the grants scenario)");
      assertTrue(rendered.contains("egressprefixgrants"), "the controller may watch the grants");
      assertTrue(rendered.contains("\"resourceManagerEndpoint\": \"https://" + VnetServices.ARM_IP + "/\""), rendered);
      for (String role : Release.ROLES) {
        assertTrue(rendered.contains("secretName: " + Sandbox.remotingSecret(role) + "\n"), "the " + role + "'s remoting certificate");
      }
      assertTrue(!rendered.contains("egress-kube-egress-gateway-remote-tls-") && !rendered.contains("kind: Certificate"),
          "the chart generates no certificates of its own: the sandbox's are named");
      assertEquals(3, rendered.split("name: EGRESS_SECURITY_ENFORCE\n\\s+value: \"true\"", -1).length - 1,
          "roles enforced on every member (controller, gateway, worker)");
      assertTrue(!rendered.contains("EGRESS_NODE_PROOF"), "no node proofs: the mock API server serves no signing keys");
    } finally {
      Files.deleteIfExists(values);
    }
  }
}
