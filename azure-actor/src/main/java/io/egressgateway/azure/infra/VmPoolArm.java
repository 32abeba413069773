package io.egressgateway.azure.infra;

import static io.egressgateway.azure.infra.ArmSdk.backendPoolId;
import static io.egressgateway.azure.infra.ArmSdk.ifMatch;
import static io.egressgateway.azure.infra.ArmSdk.inPool;
import static io.egressgateway.azure.infra.ArmSdk.isPoolOf;
import static io.egressgateway.azure.infra.ArmSdk.list;
import static io.egressgateway.azure.infra.ArmSdk.required;
import static io.egressgateway.azure.infra.ArmSdk.resourceGroupOf;
import static io.egressgateway.azure.infra.ArmSdk.tag;

import com.azure.core.management.SubResource;
import com.azure.core.util.Context;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineInner;
import com.azure.resourcemanager.network.NetworkManager;
import com.azure.resourcemanager.network.fluent.models.BackendAddressPoolInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceIpConfigurationInner;
import com.azure.resourcemanager.network.fluent.models.PublicIpAddressInner;
import com.azure.resourcemanager.network.fluent.models.SubnetInner;
import com.azure.resourcemanager.network.models.IpAllocationMethod;
import com.azure.resourcemanager.network.models.ProvisioningState;
import com.azure.resourcemanager.network.models.PublicIpAddressSku;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuName;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuTier;
import io.egressgateway.azure.model.ArmAction;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.azure.model.AzureNames;
import io.egressgateway.azure.model.Observed;
import io.egressgateway.azure.model.PoolRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The members of a VM pool (an AKS "VirtualMachines" pool), for {@link SdkArmPort}: its gateway NICs, the
 * NICs of the resource group tagged {@code aks-managed-static-gateway-nic} and the pool name, and their
 * per-config public IPs. Reads with LIST NICs and LIST public IPs of the resource group; writes a NIC as a
 * read-modify-write of the last observed one with {@code If-Match}, touching only the egress ipConfigs the
 * planner names, and creates public IPs from a prefix (tagged with the owner and config uid). Owns nothing;
 * remembers the last observed NICs per pool for the next write.
 */
final class VmPoolArm {
  private final NetworkManager network;
  private final CloudConfig cloud;
  private final Map<String, Map<String, NetworkInterfaceInner>> lastNics = new ConcurrentHashMap<>();

  VmPoolArm(NetworkManager network, CloudConfig cloud) {
    this.network = network;
    this.cloud = cloud;
  }

  /**
   * The gateway NICs as members (named by their VMs' computer names), the public IPs in managed or asked-for
   * BYO prefixes, and the pool's prefix size tag from its VMs ({@code null} when none has it).
   */
  record Members(List<Observed.Instance> nics, Map<String, Observed.PublicIp> publicIps, String sizeTag) {}

  Members observe(PoolRef pool, List<VirtualMachineInner> vms, String uniqueId, Set<String> byoPrefixIds) {
    Map<String, String> computerByVm = new HashMap<>();
    String sizeTag = null;
    for (VirtualMachineInner vm : vms) {
      String computer = vm.osProfile() == null || vm.osProfile().computerName() == null ? vm.name() : vm.osProfile().computerName();
      computerByVm.put(vm.id().toLowerCase(Locale.ROOT), computer);
      if (sizeTag == null && inPool(vm.tags(), pool)) {
        sizeTag = tag(vm.tags(), AzureNames.PREFIX_SIZE_TAG);
      }
    }
    Map<String, NetworkInterfaceInner> nics = new TreeMap<>();
    for (NetworkInterfaceInner nic : network.serviceClient().getNetworkInterfaces().listByResourceGroup(cloud.resourceGroup())) {
      if (nic.tags() != null && nic.tags().keySet().stream().anyMatch(AzureNames.GATEWAY_NIC_TAG::equalsIgnoreCase) && inPool(nic.tags(), pool)) {
        nics.put(nic.name(), nic);
      }
    }
    lastNics.put(pool.entityId(), new ConcurrentHashMap<>(nics));
    List<Observed.Instance> members = new ArrayList<>();
    for (NetworkInterfaceInner nic : nics.values()) {
      String node = nic.virtualMachine() == null ? nic.name()
          : computerByVm.getOrDefault(nic.virtualMachine().id().toLowerCase(Locale.ROOT), nic.name());
      String primaryIp = "";
      boolean inLbPool = false;
      Map<String, String> egress = new TreeMap<>();
      Map<String, String> egressPips = new TreeMap<>();
      for (NetworkInterfaceIpConfigurationInner c : list(nic.ipConfigurations())) {
        String ip = c.privateIpAddress() == null ? "" : c.privateIpAddress();
        if (Boolean.TRUE.equals(c.primary())) {
          primaryIp = ip;
          inLbPool = list(c.loadBalancerBackendAddressPools()).stream().anyMatch(p -> isPoolOf(p.id(), uniqueId));
        } else if (AzureNames.isOurs(c.name())) {
          egress.put(c.name(), ip);
          egressPips.put(c.name(), c.publicIpAddress() == null || c.publicIpAddress().id() == null ? "" : c.publicIpAddress().id());
        }
      }
      boolean failed = ProvisioningState.FAILED.equals(nic.provisioningState());
      members.add(new Observed.Instance(nic.name(), node, !failed, primaryIp, egress, inLbPool, egressPips));
    }
    Set<String> byoLower = new java.util.HashSet<>();
    byoPrefixIds.forEach(id -> byoLower.add(id.toLowerCase(Locale.ROOT)));
    Map<String, Observed.PublicIp> pips = new TreeMap<>();
    for (PublicIpAddressInner p : network.serviceClient().getPublicIpAddresses().listByResourceGroup(cloud.resourceGroup())) {
      String prefixId = p.publicIpPrefix() == null || p.publicIpPrefix().id() == null ? "" : p.publicIpPrefix().id();
      if (!prefixId.isEmpty() && (AzureNames.isOurs(AzureNames.nameOf(prefixId)) || byoLower.contains(prefixId.toLowerCase(Locale.ROOT)))) {
        String attached = p.ipConfiguration() == null || p.ipConfiguration().id() == null ? "" : p.ipConfiguration().id();
        pips.put(p.name().toLowerCase(Locale.ROOT), new Observed.PublicIp(p.id(), p.name(), prefixId, attached));
      }
    }
    return new Members(members, pips, sizeTag);
  }

  void createPublicIp(ArmAction.CreatePublicIp c) {
    PublicIpAddressInner p = new PublicIpAddressInner()
        .withSku(new PublicIpAddressSku().withName(PublicIpAddressSkuName.STANDARD).withTier(PublicIpAddressSkuTier.REGIONAL))
        .withPublicIpAllocationMethod(IpAllocationMethod.STATIC)
        .withPublicIpAddressVersion(com.azure.resourcemanager.network.models.IpVersion.IPV4)
        .withPublicIpPrefix(new SubResource().withId(c.prefixId()));
    p.withLocation(cloud.location()).withTags(Map.of(AzureNames.OWNER_TAG, "kube-egress-gateway", "egressgateway-config-uid", c.uid()));
    network.serviceClient().getPublicIpAddresses().createOrUpdate(cloud.resourceGroup(), c.name(), p);
  }

  /** One VM-pool NIC as last observed, with the pool's egress ipConfigs and backend pool membership set. */
  void writeNic(PoolRef pool, String uniqueId, ArmAction.WriteNic w) {
    NetworkInterfaceInner nic = required(lastNics.getOrDefault(pool.entityId(), Map.of()).get(w.nic()), "NIC " + w.nic());
    String poolId = backendPoolId(cloud, uniqueId);
    List<NetworkInterfaceIpConfigurationInner> configs = new ArrayList<>(list(nic.ipConfigurations()));
    NetworkInterfaceIpConfigurationInner primary = configs.stream().filter(c -> Boolean.TRUE.equals(c.primary())).findFirst()
        .orElseThrow(() -> new ArmFailure(ArmFailure.Kind.REJECTED, "NoPrimaryIpConfig", "NIC " + nic.name() + " has no primary ipConfig", null));
    if (primary.subnet() == null || primary.subnet().id() == null) {
      throw new ArmFailure(ArmFailure.Kind.REJECTED, "NoSubnet", "NIC " + nic.name() + " has no subnet on its primary ipConfig", null);
    }
    Map<String, String> want = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    want.putAll(w.egressIpConfigs());
    Set<String> drop = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    drop.addAll(w.drop());
    configs.removeIf(c -> !Boolean.TRUE.equals(c.primary())
        && (drop.contains(c.name()) || want.containsKey(c.name()) && !publicIpOf(c).equalsIgnoreCase(want.get(c.name()))));
    want.forEach((name, pipId) -> {
      if (configs.stream().noneMatch(c -> c.name().equalsIgnoreCase(name))) {
        NetworkInterfaceIpConfigurationInner c = new NetworkInterfaceIpConfigurationInner().withName(name).withPrimary(false)
            .withPrivateIpAddressVersion(com.azure.resourcemanager.network.models.IpVersion.IPV4)
            .withPrivateIpAllocationMethod(IpAllocationMethod.DYNAMIC)
            .withSubnet(new SubnetInner().withId(primary.subnet().id()));
        if (!pipId.isEmpty()) {
          c.withPublicIpAddress(new PublicIpAddressInner().withId(pipId));
        }
        configs.add(c);
      }
    });
    List<BackendAddressPoolInner> pools = new ArrayList<>(list(primary.loadBalancerBackendAddressPools()));
    pools.removeIf(p -> isPoolOf(p.id(), uniqueId));
    if (w.primaryInPool()) {
      pools.add(new BackendAddressPoolInner().withId(poolId));
    }
    primary.withLoadBalancerBackendAddressPools(pools.isEmpty() ? null : pools);
    nic.withIpConfigurations(configs);
    Context ctx = nic.etag() == null ? Context.NONE : ifMatch(nic.etag());
    NetworkInterfaceInner written = network.serviceClient().getNetworkInterfaces().createOrUpdate(resourceGroupOf(nic.id()), nic.name(), nic, ctx);
    lastNics.computeIfAbsent(pool.entityId(), k -> new ConcurrentHashMap<>()).put(w.nic(), written);
  }

  private static String publicIpOf(NetworkInterfaceIpConfigurationInner c) {
    return c.publicIpAddress() == null || c.publicIpAddress().id() == null ? "" : c.publicIpAddress().id();
  }
}
