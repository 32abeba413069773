package io.egressgateway.gateway.model;

import io.egressgateway.core.CborSerializable;
import java.util.Objects;

/**
 * The worker node whose live tunnel a gateway's pod peer is, and where the gateway learnt it in that node's
 * peer sequence (an {@code AddPeer} or a digest of the node's peers). A later digest of the same node that
 * no longer lists the peer removes it; an earlier one cannot.
 */
public record PeerOwner(String node, long seq) implements CborSerializable {
  public PeerOwner {
    Objects.requireNonNull(node, "node");
  }
}
