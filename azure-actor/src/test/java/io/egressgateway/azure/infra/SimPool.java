package io.egressgateway.azure.infra;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.core.metrics.Metrics;
import java.time.OffsetDateTime;
import reactor.core.publisher.Mono;

/** A simulator seeded with one gateway pool and the real SDK adapter pointed at it. */
public final class SimPool implements AutoCloseable {
  public static final String NODEPOOL = "gwpool";
  public static final String RG = "rg-nodes";

  public final ArmSimulator sim;
  public final CloudConfig cloud;
  public final ArmClients clients;
  public final SdkArmPort port;
  public final String vmssId;

  public SimPool(int instances) {
    sim = ArmSimulator.start();
    sim.seedNetwork("rg-net", "vnet", "gateway", "10.0.1.0/24");
    vmssId = sim.seedVmss(RG, "aks-gwpool-vmss", NODEPOOL, instances,
        ArmSimulator.rgId("rg-net") + "/providers/Microsoft.Network/virtualNetworks/vnet/subnets/gateway");
    cloud = CloudConfig.parse("""
        {"cloud":"AzurePublicCloud","tenantId":"%s","subscriptionId":"%s","location":"westeurope",
         "resourceGroup":"%s","vnetResourceGroup":"rg-net","vnetName":"vnet","subnetName":"gateway",
         "useManagedIdentityExtension":true}""".formatted(ArmSimulator.TENANT, ArmSimulator.SUBSCRIPTION, RG), null);
    TokenCredential fixed = ctx -> Mono.just(new AccessToken("fixed-test-token", OffsetDateTime.now().plusHours(1)));
    clients = ArmClients.create(cloud, fixed, sim.baseUrl(), sim.sslContext(), Metrics.standalone());
    port = new SdkArmPort(clients.network(), clients.compute(), cloud, 8082);
  }

  @Override
  public void close() {
    sim.close();
  }
}
