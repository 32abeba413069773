package io.egressgateway.app;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.egressgateway.app.wiring.SecretGatewayKeys;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.health.Watches;
import io.egressgateway.gateway.GatewayAgent;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.ControllerBridge;
import io.egressgateway.kube.infra.Fabric8SgcApi;
import io.egressgateway.kube.infra.KubeBridgeSettings;
import io.egressgateway.pod.entity.PodAgent;
import io.egressgateway.pod.infra.PodSettings;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the modules a member's roles call for, before the member joins the cluster, so every sharding
 * region and server exists once the member is Up:
 *
 * <ul>
 *   <li>gateway: the node's {@code GatewayNode} entity, datapath and LB health-probe server; drained first
 *       on shutdown (probe 503, then stop);
 *   <li>worker: the CNI server and {@code PodTunnel} entities, with a node-scoped Pod cache;
 *   <li>controller: informers and {@code GatewayConfig} entities, with the Azure side.
 * </ul>
 *
 * Without a Kubernetes API ({@code egress.app.kubernetes-api = off}, as in {@code egress local}) only the
 * cluster core runs.
 */
final class Wiring {
  private static final Logger log = LoggerFactory.getLogger(Wiring.class);

  private Wiring() {}

  /** How the controller reaches Azure; chosen by the app from its configuration. */
  interface AzureFactory extends Function<ActorSystem<?>, AzureProvisioner> {}

  static void start(EgressMember member, AzureFactory azure) {
    ActorSystem<Void> system = member.system();
    Config config = system.settings().config();
    String node = member.settings().nodeName();
    if (!config.getBoolean("egress.app.kubernetes-api")) {
      log.info("member '{}': no Kubernetes API configured (egress.app.kubernetes-api = off): cluster core only", node);
      return;
    }
    KubernetesClient client = new KubernetesClientBuilder().build();
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseActorSystemTerminate(), "kubernetes-client",
        () -> {
          client.close();
          return CompletableFuture.completedFuture(Done.getInstance());
        });
    KubeBridgeSettings kube = KubeBridgeSettings.fromConfig(config);

    if (member.settings().hasRole(Roles.GATEWAY)) {
      // workers' peer requests are checked against their node's pod CIDRs (docs/design.md section 15)
      io.egressgateway.kube.infra.NodePodCidrs nodes = io.egressgateway.kube.infra.NodePodCidrs.start(client, Watches.get(system));
      io.egressgateway.core.security.Security.get(system).podCidrs().use(nodes::of, nodes::hasSynced);
      // and workers whose certificates name no node prove their node with their pod's ServiceAccount token
      var nodeProofs = io.egressgateway.core.security.Security.get(system).nodeProofs();
      if (nodeProofs.required()) {
        io.egressgateway.app.wiring.ServiceAccountKeys.start(system, client, nodeProofs);
      }
      GatewayAgent agent = GatewayAgent.start(system, node, new SecretGatewayKeys(client, kube.keyNamespace()));
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "gateway-drain",
          () -> agent.drain().thenApply(v -> Done.getInstance()));
      new io.egressgateway.app.wiring.GatewayReporter(system, node,
          new io.egressgateway.kube.infra.GatewayStatusWriter(client, kube)).start(java.time.Duration.ofSeconds(15));
      log.info("member '{}': gateway agent started, health probe on port {}", node, agent.probePort());
    } else {
      GatewayNodeProtocol.initProxy(system);
    }

    if (member.settings().hasRole(Roles.WORKER)) {
      Watches watches = Watches.get(system);
      io.egressgateway.kube.infra.PodDirectory pods = config.getBoolean("egress.app.pod-field-selector")
          ? io.egressgateway.kube.infra.PodDirectory.start(client, node, watches)
          : io.egressgateway.kube.infra.PodDirectory.startUnfiltered(client, node, watches);
      closeOnShutdown(system, "worker-pod-informer", pods);
      PodSettings podSettings = PodSettings.from(config);
      PodAgent agent = PodAgent.start(system, podSettings, new io.egressgateway.app.wiring.NodePods(pods))
          .observedBy(new io.egressgateway.app.wiring.WorkerObserver(
              new io.egressgateway.kube.infra.PodEndpointWriter(client, kube.writerBatch()),
              io.egressgateway.core.metrics.Metrics.get(system)));
      // the tunnels of the pods still here are found in the pod cache: only once it holds the node's pods
      pods.whenSynced().thenRun(agent::takeOverTunnels);
      log.info("member '{}': pod agent started, CNI socket {}", node, podSettings.socketPath());
    }

    if (member.settings().hasRole(Roles.CONTROLLER)) {
      GatewayConfig.init(system, new GatewayConfig.Ports(
          new Fabric8SgcApi(client, kube.keyNamespace(), kube.namespace()), azure.apply(system), kube));
      ControllerBridge bridge = ControllerBridge.start(system, client, kube);
      closeOnShutdown(system, "controller-informers", bridge);
      String taintKey = config.getString("egress.kube-bridge.cni-taint.key");
      String workerPods = config.getString("egress.kube-bridge.cni-taint.worker-pod-selector");
      if (!taintKey.isBlank() && !workerPods.isBlank()) {
        // the workers may not patch Nodes: the controllers lift a node's cni-not-ready taint for them
        closeOnShutdown(system, "cni-taint-lifter",
            io.egressgateway.kube.infra.CniTaintLifter.start(client, kube.namespace(), workerPods, taintKey, Watches.get(system)));
      }
      startAudit(system, client, member.journal(), config);
      log.info("member '{}': controller started (release namespace {}, key Secrets in namespace {})", node, kube.namespace(),
          kube.keyNamespace());
    }
  }

  /** The egress audit (docs/audit.md), in the controllers' journal database, unless turned off. */
  private static void startAudit(ActorSystem<?> system, KubernetesClient client, io.egressgateway.core.journal.Journal journal,
      com.typesafe.config.Config config) {
    var settings = io.egressgateway.kube.audit.EgressAudit.Settings.fromConfig(config);
    if (!settings.enabled()) {
      log.info("egress audit: off (egress.kube-bridge.audit.enabled)");
      return;
    }
    var j = journal.settings();
    var store = new io.egressgateway.kube.audit.AuditStore(
        new io.egressgateway.kube.audit.AuditStore.Target(j.jdbcUrl(), j.user(), j.password()));
    var audit = new io.egressgateway.kube.audit.EgressAudit(client, store, settings, Watches.get(system),
        io.egressgateway.core.metrics.Metrics.get(system), java.time.Clock.systemUTC()).start();
    io.egressgateway.kube.audit.Audits.get(system).install(audit);
    closeOnShutdown(system, "egress-audit", audit);
  }

  private static void closeOnShutdown(ActorSystem<?> system, String name, AutoCloseable closeable) {
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), name, () -> {
      try {
        closeable.close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", name, e.toString());
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    });
  }
}
