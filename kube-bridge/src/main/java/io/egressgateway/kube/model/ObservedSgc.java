package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import java.util.List;

/**
 * A full-state snapshot of one SGC and what it depends on, taken from the informer caches: the object
 * (or its absence), whether our finalizer is on it, whether its key Secret exists (the public key only;
 * private keys never travel in messages) and the gateway nodes. Sent level-triggered to the entity.
 *
 * @param present      false when the SGC is gone from the cache (deleted)
 * @param secretPublicKey the public key in Secret {@code sgw-<uid>}, "" when the Secret is absent or broken
 */
public record ObservedSgc(
    String key,
    boolean present,
    String uid,
    long generation,
    boolean deleting,
    boolean hasFinalizer,
    SgcSpec spec,
    SgcStatus status,
    String secretPublicKey,
    List<GatewayNodeInfo> gatewayNodes)
    implements CborSerializable {

  public ObservedSgc {
    uid = uid == null ? "" : uid;
    status = status == null ? SgcStatus.EMPTY : status;
    secretPublicKey = secretPublicKey == null ? "" : secretPublicKey;
    gatewayNodes = gatewayNodes == null ? List.of() : List.copyOf(gatewayNodes);
  }

  public static ObservedSgc absent(String key, List<GatewayNodeInfo> gatewayNodes) {
    return new ObservedSgc(key, false, "", 0, false, false, null, SgcStatus.EMPTY, "", gatewayNodes);
  }

  public String namespace() {
    return key.substring(0, key.indexOf('/'));
  }

  public String name() {
    return key.substring(key.indexOf('/') + 1);
  }

  /** Upstream's key Secret name. */
  public static String secretName(String uid) {
    return "sgw-" + uid;
  }
}
