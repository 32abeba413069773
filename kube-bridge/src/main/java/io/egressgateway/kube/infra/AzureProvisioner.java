package io.egressgateway.kube.infra;

import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.SgcSpec;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The port to the Azure side (the azure-actor's pool entities): make sure an SGC's load-balancer rule,
 * prefix and per-node secondary IPs exist and report them, or release all of it. Both are idempotent;
 * {@code ensure} on an already provisioned config changes nothing in Azure and returns the same answer.
 */
public interface AzureProvisioner {

  /**
   * What the Azure side needs to know about one SGC. {@code legacy}: the uids of the Go original's
   * GatewayLBConfiguration and GatewayVMConfiguration for this SGC, whose names its Azure resources carry.
   */
  record Request(String key, String uid, SgcSpec spec, List<GatewayNodeInfo> gatewayNodes, SgcApi.LegacyUids legacy) {
    public Request {
      gatewayNodes = List.copyOf(gatewayNodes);
      legacy = legacy == null ? SgcApi.LegacyUids.NONE : legacy;
    }

    public Request(String key, String uid, SgcSpec spec, List<GatewayNodeInfo> gatewayNodes) {
      this(key, uid, spec, gatewayNodes, SgcApi.LegacyUids.NONE);
    }
  }

  CompletionStage<Allocation> ensure(Request request);

  /** Releases everything provisioned for {@code uid}; completes normally when nothing is left. */
  CompletionStage<Void> release(String key, String uid);
}
