package io.egressgateway.kube.infra;

import io.egressgateway.kube.crd.GatewayStatus;
import io.egressgateway.kube.crd.GatewayStatusSpec;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the upstream-compatible {@code GatewayStatus} of each gateway node (name = node, in the release
 * namespace, non-controller owner reference to the Node). Owns: GatewayStatus objects. Persists nothing.
 * Each {@link #report} carries the node's complete current state and replaces the object's spec, so a
 * removed peer disappears with the next write (upstream's leak, #1299, cannot happen), and the peer list
 * is capped at {@code max-peers-per-gateway-status} to stay far below etcd's object size limit.
 * Writes are batched and asynchronous like {@link PodEndpointWriter}.
 */
public final class GatewayStatusWriter extends BatchingWriter<GatewayStatusSpec> {
  private static final Logger log = LoggerFactory.getLogger(GatewayStatusWriter.class);

  private final KubernetesClient client;
  private final String namespace;
  private final int maxPeers;

  public GatewayStatusWriter(KubernetesClient client, KubeBridgeSettings settings) {
    super("gateway-status-writer", settings.writerBatch());
    this.client = client;
    this.namespace = settings.namespace();
    this.maxPeers = settings.maxPeersPerGatewayStatus();
  }

  /** The node's complete state: the configurations ready on it and every peer programmed there. */
  public void report(String node, List<GatewayStatusSpec.GatewayConfiguration> configs,
      List<GatewayStatusSpec.PeerConfiguration> peers) {
    List<GatewayStatusSpec.GatewayConfiguration> c = new ArrayList<>(configs);
    c.sort(Comparator.comparing(GatewayStatusSpec.GatewayConfiguration::getStaticGatewayConfiguration));
    List<GatewayStatusSpec.PeerConfiguration> p = new ArrayList<>(peers);
    p.sort(Comparator.comparing(GatewayStatusSpec.PeerConfiguration::getPodEndpoint)
        .thenComparing(GatewayStatusSpec.PeerConfiguration::getInterfaceName));
    if (p.size() > maxPeers) {
      log.warn("[{}] {} peers exceed the GatewayStatus bound {}; listing the first {}", node, p.size(), maxPeers, maxPeers);
      p = new ArrayList<>(p.subList(0, maxPeers));
    }
    GatewayStatusSpec spec = new GatewayStatusSpec();
    spec.setReadyGatewayConfigurations(c);
    spec.setReadyPeerConfigurations(p);
    offer(node, spec);
  }

  @Override
  protected void write(String node, GatewayStatusSpec spec) {
    var resource = client.resources(GatewayStatus.class).inNamespace(namespace).withName(node);
    GatewayStatus current = resource.get();
    if (current != null && spec.equals(current.getSpec())) {
      return;
    }
    GatewayStatus wanted = new GatewayStatus();
    wanted.getMetadata().setNamespace(namespace);
    wanted.getMetadata().setName(node);
    Node n = client.nodes().withName(node).get();
    if (n != null) {
      wanted.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder()
          .withApiVersion("v1").withKind("Node").withName(node).withUid(n.getMetadata().getUid()).build()));
    }
    wanted.setSpec(spec);
    createOrReplace(client, wanted, current, resource::get);
  }
}
