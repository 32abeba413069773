package io.egressgateway.kube;

import akka.actor.typed.ActorSystem;
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
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;
import java.util.function.Consumer;

/**
 * One controller member against fabric8's mock API server (CRUD mode), as the controller end-to-end tests run it: the
 * member on an embedded journal with the sharded {@link GatewayConfig} entities, the informers ({@link ControllerBridge})
 * and the in-memory Azure side, plus the set-up those tests share (CRDs, namespaces, gateway nodes, SGCs). It can be
 * stopped and started again on the same journal and Azure side (a controller restart). Closing it stops the member
 * and waits out the mock's stall after closed watches ({@link MockApiQuiet}).
 */
final class MockController implements AutoCloseable {
  static final String RELEASE_NS = "egress-system";
  /** The key Secrets' namespace (the default for {@link #RELEASE_NS}). */
  static final String KEYS_NS = "egress-system-keys";
  static final String GATEWAY_LABEL = ControllerBridge.LABEL_GATEWAY_UPSTREAM;

  private final KubernetesClient client;
  private final String node;
  private KubeBridgeSettings settings;
  private final InMemoryAzureProvisioner azure = new InMemoryAzureProvisioner();
  private final TestMembers members = new TestMembers();
  private EgressMember member;
  private ControllerBridge bridge;

  private MockController(KubernetesClient client, String node, KubeBridgeSettings settings) {
    this.client = client;
    this.node = node;
    this.settings = settings;
  }

  /** Starts a controller on node {@code node}; {@code kubeBridge} adds to {@code egress.kube-bridge} (resync 2 s). */
  static MockController start(KubernetesClient client, String node, String kubeBridge) {
    KubeBridgeSettings settings = KubeBridgeSettings.fromConfig(
            ConfigFactory.parseString("egress.kube-bridge { resync = 2s\n" + kubeBridge + "\n}").withFallback(ConfigFactory.load()))
        .withNamespace(RELEASE_NS);
    MockController controller = new MockController(client, node, settings);
    controller.start();
    return controller;
  }

  /** Starts the member, the entities and the informers (again, after {@link #stop}). */
  void start() {
    member = members.startUp(node, List.of(Roles.CONTROLLER), null);
    GatewayConfig.init(member.system(), new GatewayConfig.Ports(
        new Fabric8SgcApi(client, settings.keyNamespace(), settings.namespace()), azure, settings));
    bridge = ControllerBridge.start(member.system(), client, settings);
  }

  /**
   * Stops the informers and the member; the journal, the Azure side and the API server's objects stay. Returns once
   * the mock answers promptly again: closing the watches can stall it (see {@link MockApiQuiet}), and a controller
   * started again meanwhile would find its lists timing out.
   */
  void stop() {
    bridge.close();
    bridge = null;
    members.stop(member);
    MockApiQuiet.await(client);
  }

  /**
   * A restart with changed settings on the same journal and Azure side (an upgrade that changes them); after a
   * {@link #stop}, a start with them.
   */
  void restart(java.util.function.UnaryOperator<KubeBridgeSettings> change) {
    if (bridge != null) {
      stop();
    }
    settings = change.apply(settings);
    start();
  }

  ActorSystem<?> system() {
    return member.system();
  }

  KubeBridgeSettings settings() {
    return settings;
  }

  InMemoryAzureProvisioner azure() {
    return azure;
  }

  @Override
  public void close() {
    if (bridge != null) {
      bridge.close();
    }
    members.close();
    MockApiQuiet.await(client);
  }

  // ---- the API server's side

  /** Installs this module's generated CRDs, by plural ({@code staticgatewayconfigurations}, ...). */
  static void crds(KubernetesClient client, String... plurals) {
    for (String plural : plurals) {
      try {
        String yaml = Files.readString(CrdFilesTest.GENERATED.resolve(plural + ".egressgateway.kubernetes.azure.com-v1.yml"));
        client.resource(client.getKubernetesSerialization().unmarshal(yaml, CustomResourceDefinition.class)).create();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  static void namespaces(KubernetesClient client, String... names) {
    for (String ns : names) {
      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).create();
    }
  }

  /** A gateway node of agent pool {@code pool}, marked by {@code label=value}. */
  static void gatewayNode(KubernetesClient client, String name, String label, String value, String pool) {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
        .addToLabels(label, value).addToLabels(ControllerBridge.LABEL_AGENT_POOL, pool).endMetadata().build()).create();
  }

  /** A gateway node of agent pool {@code pool} with the upstream label. */
  static void gatewayNode(KubernetesClient client, String name, String pool) {
    gatewayNode(client, name, GATEWAY_LABEL, "true", pool);
  }

  /** Creates an SGC with the typed spec {@code spec} fills in. */
  static void createSgc(KubernetesClient client, String namespace, String name, Consumer<StaticGatewayConfigurationSpec> spec) {
    StaticGatewayConfiguration sgc = new StaticGatewayConfiguration();
    sgc.getMetadata().setName(name);
    sgc.getMetadata().setNamespace(namespace);
    StaticGatewayConfigurationSpec s = new StaticGatewayConfigurationSpec();
    spec.accept(s);
    sgc.setSpec(s);
    client.resource(sgc).create();
  }
}
