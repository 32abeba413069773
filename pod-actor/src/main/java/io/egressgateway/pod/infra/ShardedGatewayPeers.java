package io.egressgateway.pod.infra;

import akka.actor.typed.ActorSystem;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * {@link GatewayPeers} over the cluster: {@code GatewayNodeProtocol.AddPeer}/{@code RemovePeer} to the gateway
 * node's entity through node-pinned sharding (a region proxy on worker-only members). Each ask is bounded
 * by {@code timeout}; the caller decides how many confirmations it needs.
 *
 * <p>Owns: nothing. Persists: nothing. Observes: the gateways' answers.
 */
public final class ShardedGatewayPeers implements GatewayPeers {
  private final ActorSystem<?> system;
  private final Duration timeout;

  public ShardedGatewayPeers(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
    GatewayNodeProtocol.initProxy(system);
  }

  @Override
  public CompletionStage<Void> addPeer(String gatewayNode, String configUid, String podPublicKey, String podIp) {
    return GatewayNodeProtocol.addPeer(system, gatewayNode, configUid, podPublicKey, podIp, timeout).thenApply(done -> null);
  }

  @Override
  public CompletionStage<Void> removePeer(String gatewayNode, String configUid, String podPublicKey) {
    return GatewayNodeProtocol.removePeer(system, gatewayNode, configUid, podPublicKey, timeout).thenApply(done -> null);
  }
}
