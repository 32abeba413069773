package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;

/** A Kubernetes node labelled as a gateway, with its AKS agent pool name ("" when unlabelled). */
public record GatewayNodeInfo(String name, String pool) implements CborSerializable {
  public GatewayNodeInfo {
    pool = pool == null ? "" : pool;
  }
}
