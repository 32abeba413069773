package io.egressgateway.pod.infra;

import java.util.concurrent.CompletionStage;

/**
 * How a pod's peer reaches the gateways of its configuration's pool. The cluster implementation sends
 * {@code GatewayNodeProtocol.AddPeer}/{@code RemovePeer} through node-pinned sharding; each stage completes when
 * that gateway has programmed (or removed) the peer.
 */
public interface GatewayPeers {
  CompletionStage<Void> addPeer(String gatewayNode, String configUid, String podPublicKey, String podIp);

  CompletionStage<Void> removePeer(String gatewayNode, String configUid, String podPublicKey);
}
