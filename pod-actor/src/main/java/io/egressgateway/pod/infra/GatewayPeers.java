package io.egressgateway.pod.infra;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * How a pod's peer reaches the gateways of its configuration's pool. The cluster implementation sends
 * {@code GatewayNodeProtocol.AddPeer}/{@code RemovePeer} through node-pinned sharding; each stage completes when
 * that gateway has programmed (or removed) the peer. Additions and lists of peers carry a number of this
 * node's peer sequence ({@link #nextSeq}), so a gateway can tell which is newer.
 */
public interface GatewayPeers {
  CompletionStage<Void> addPeer(String gatewayNode, String configUid, String podPublicKey, String podIp);

  CompletionStage<Void> removePeer(String gatewayNode, String configUid, String podPublicKey);

  /** The next number of this node's peer sequence; a list of peers takes it before its tunnels are listed. */
  long nextSeq();

  /**
   * Tells gateway {@code gatewayNode} every live tunnel this node has for {@code configUid} (pod public key to
   * pod IP, possibly none), as of {@code seq}. Nothing waits for an answer: the next list repairs a lost one.
   */
  void sendPeers(String gatewayNode, String configUid, long seq, Map<String, String> podIpByKey);
}
