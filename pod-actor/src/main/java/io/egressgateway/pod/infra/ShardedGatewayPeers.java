package io.egressgateway.pod.infra;

import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import io.egressgateway.core.Roles;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * {@link GatewayPeers} over the cluster: {@code GatewayNodeProtocol.AddPeer}/{@code RemovePeer} to the gateway
 * node's entity through node-pinned sharding (a region proxy on worker-only members), and
 * {@code PeersOfNode} told the same way. Each ask is bounded by {@code timeout}; the caller decides how many
 * confirmations it needs. Additions name this member's node and a number of its {@link PeerClock}.
 *
 * <p>Owns: the node's peer clock. Persists: nothing. Observes: the gateways' answers.
 */
public final class ShardedGatewayPeers implements GatewayPeers {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final String node;
  private final PeerClock clock = new PeerClock();

  public ShardedGatewayPeers(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
    this.node = Roles.nodeOf(Cluster.get(system).selfMember().getRoles()).orElse("");
    GatewayNodeProtocol.initProxy(system);
  }

  @Override
  public CompletionStage<Void> addPeer(String gatewayNode, String configUid, String podPublicKey, String podIp) {
    return GatewayNodeProtocol.addPeer(system, gatewayNode, node, clock.next(), configUid, podPublicKey, podIp, timeout)
        .thenApply(done -> null);
  }

  @Override
  public CompletionStage<Void> removePeer(String gatewayNode, String configUid, String podPublicKey) {
    return GatewayNodeProtocol.removePeer(system, gatewayNode, node, configUid, podPublicKey, timeout).thenApply(done -> null);
  }

  @Override
  public long nextSeq() {
    return clock.next();
  }

  @Override
  public void sendPeers(String gatewayNode, String configUid, long seq, Map<String, String> podIpByKey) {
    Map<String, String> peers = new HashMap<>();
    podIpByKey.forEach((key, ip) -> peers.put(key, GatewayNodeProtocol.hostCidr(ip)));
    GatewayNodeProtocol.tellPeersOfNode(system, gatewayNode, new GatewayNodeProtocol.PeersOfNode(node, configUid, seq, peers));
  }
}
