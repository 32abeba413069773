package io.egressgateway.kube;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationSpec;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.egressgateway.kube.infra.InMemoryAzureProvisioner;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.kube.infra.SgcMapping;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Prints how long N StaticGatewayConfigurations take from creation to Ready on one controller member
 * (fabric8 mock API server, in-memory Azure side), the API requests that cost, and the writes made in a
 * steady state over two resync rounds (should be none). Not a test: run it by hand, see docs/benchmarks.md.
 * Usage: ControllerBenchmark [N]
 */
public final class ControllerBenchmark {
  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(), false);
    server.init();
    try (KubernetesClient client = server.createClient(); TestMembers members = new TestMembers()) {
      for (String plural : List.of("staticgatewayconfigurations")) {
        String yaml = Files.readString(CrdFilesTest.GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
        client.resource(client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class)).create();
      }
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("apps").endMetadata().build()).create();
      for (int i = 1; i <= 2; i++) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("gw-" + i)
            .addToLabels("kubeegressgateway.azure.com/mode", "true")
            .addToLabels("kubernetes.azure.com/agentpool", "gwpool").endMetadata().build()).create();
      }
      KubeBridgeSettings settings = KubeBridgeSettings.fromConfig(
          ConfigFactory.parseString("egress.kube-bridge.resync = 3s").withFallback(ConfigFactory.load())).withNamespace("egress-system");
      EgressMember controller = members.startUp("ctrl-1", List.of(Roles.CONTROLLER), null);
      GatewayConfig.init(controller.system(),
          new GatewayConfig.Ports(new Fabric8SgcApi(client, settings.keyNamespace(), settings.namespace()), new InMemoryAzureProvisioner(), settings));
      try (ControllerBridge bridge = ControllerBridge.start(controller.system(), client, settings)) {
        drain(server);
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
          StaticGatewayConfiguration sgc = new StaticGatewayConfiguration();
          sgc.getMetadata().setName("sgc-" + i);
          sgc.getMetadata().setNamespace("apps");
          StaticGatewayConfigurationSpec spec = new StaticGatewayConfigurationSpec();
          spec.setGatewayNodepoolName("gwpool");
          sgc.setSpec(spec);
          client.resource(sgc).create();
        }
        long created = System.nanoTime();
        while (client.resources(StaticGatewayConfiguration.class).inNamespace("apps").list().getItems().stream()
            .filter(s -> SgcMapping.status(s.getStatus()).isReady()).count() < n) {
          Thread.sleep(50);
        }
        long ready = System.nanoTime();
        List<RecordedRequest> provisioning = drain(server);
        Thread.sleep(2 * settings.resync().toMillis() + 500);
        long steadyWrites = drain(server).stream().filter(r -> !r.getMethod().equals("GET")).count();
        long writes = provisioning.stream().filter(r -> !r.getMethod().equals("GET")).count();
        System.out.printf("configs=%d create=%d ms, create->all Ready=%d ms (%.1f configs/s)%n", n,
            (created - start) / 1_000_000, (ready - start) / 1_000_000, n * 1e9 / (ready - start));
        System.out.printf("API requests while provisioning: %d (%d writes incl. %d creates by the benchmark), %.1f per config%n",
            provisioning.size(), writes, n, provisioning.size() / (double) n);
        java.util.Map<String, Long> byKind = new java.util.TreeMap<>();
        provisioning.stream().filter(r -> !r.getMethod().equals("GET"))
            .forEach(r -> byKind.merge(r.getMethod() + " " + r.getPath().replaceAll("/[^/?]*-\\d+.*|\\?.*", "").replaceAll("/sgw-[^/]*|/sgc-[^/]*", "/*"), 1L, Long::sum));
        byKind.forEach((k, v) -> System.out.printf("  %5d %s%n", v, k));
        System.out.println("  generations: " + client.resources(StaticGatewayConfiguration.class).inNamespace("apps").list()
            .getItems().stream().collect(java.util.stream.Collectors.groupingBy(s -> s.getMetadata().getGeneration(),
                java.util.stream.Collectors.counting())));
        System.out.printf("steady state over two resyncs: %d writes%n", steadyWrites);
      }
    } finally {
      server.destroy();
      System.exit(0);
    }
  }

  static List<RecordedRequest> drain(KubernetesMockServer server) throws InterruptedException {
    List<RecordedRequest> out = new java.util.ArrayList<>();
    RecordedRequest r;
    while ((r = server.takeRequest(100, TimeUnit.MILLISECONDS)) != null) {
      out.add(r);
    }
    return out;
  }
}
