package io.egressgateway.azure.infra;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.core.metrics.Metrics;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;

/**
 * A simulator seeded with one gateway pool and the real SDK adapter pointed at it: a scale set pool
 * ({@link #SimPool(int)}) or a VM pool ({@link #vmPool(int)}: tagged VMs with tagged gateway NICs, plus one
 * untagged NIC in the same resource group that must stay untouched).
 */
public final class SimPool implements AutoCloseable {
  public static final String NODEPOOL = "gwpool";
  public static final String VMPOOL = "gwvms";
  public static final String RG = "rg-nodes";
  public static final String SUBNET = ArmSimulator.rgId("rg-net") + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/gateway";

  public final ArmSimulator sim;
  public final CloudConfig cloud;
  public final ArmClients clients;
  public final SdkArmPort port;
  /** The scale set, or null for a VM pool. */
  public final String vmssId;
  /** A VM pool's gateway NICs, and the untagged NIC next to them; empty for a scale set pool. */
  public final List<String> gatewayNics;
  public final String otherNic;

  public SimPool(int instances) {
    this(instances, false);
  }

  public static SimPool vmPool(int vms) {
    return new SimPool(vms, true);
  }

  private SimPool(int members, boolean vms) {
    sim = ArmSimulator.start();
    sim.seedNetwork("rg-net", "vnet", "gateway", "10.0.1.0/24");
    if (vms) {
      vmssId = null;
      gatewayNics = sim.seedVmPool(RG, VMPOOL, members, SUBNET);
      otherNic = sim.seedNic(RG, "unrelated-nic", SUBNET, Map.of("aks-managed-poolName", VMPOOL));
    } else {
      vmssId = sim.seedVmss(RG, "aks-gwpool-vmss", NODEPOOL, members, SUBNET);
      gatewayNics = List.of();
      otherNic = null;
    }
    cloud = CloudConfig.parse("""
        {"cloud":"AzurePublicCloud","tenantId":"%s","subscriptionId":"%s","location":"westeurope",
         "resourceGroup":"%s","vnetResourceGroup":"rg-net","vnetName":"vnet","subnetName":"gateway",
         "useManagedIdentityExtension":true}""".formatted(ArmSimulator.TENANT, ArmSimulator.SUBSCRIPTION, RG), null);
    TokenCredential fixed = ctx -> Mono.just(new AccessToken("fixed-test-token", OffsetDateTime.now().plusHours(1)));
    clients = ArmClients.create(cloud, fixed, AzureCloud.custom("sim", sim.baseUrl(), sim.baseUrl(), ""), sim.sslContext(),
        Metrics.standalone());
    port = new SdkArmPort(clients.network(), clients.compute(), cloud, 8082);
  }

  @Override
  public void close() {
    sim.close();
  }
}
