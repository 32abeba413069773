package io.egressgateway.azure.infra;

import static io.egressgateway.azure.infra.ArmSdk.backendPoolId;
import static io.egressgateway.azure.infra.ArmSdk.isPoolOf;
import static io.egressgateway.azure.infra.ArmSdk.list;
import static io.egressgateway.azure.infra.ArmSdk.required;
import static io.egressgateway.azure.infra.ArmSdk.resourceGroupOf;

import com.azure.core.management.SubResource;
import com.azure.core.util.Context;
import com.azure.resourcemanager.compute.ComputeManager;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineScaleSetInner;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineScaleSetVMInner;
import com.azure.resourcemanager.compute.models.ApiEntityReference;
import com.azure.resourcemanager.compute.models.IpVersion;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetIpConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetNetworkConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetPublicIpAddressConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetVMInstanceRequiredIDs;
import com.azure.resourcemanager.network.NetworkManager;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceIpConfigurationInner;
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
 * The members of a scale set pool, for {@link SdkArmPort}: reads the model and instances (LIST instances and
 * LIST the scale set's NICs in one call each) and writes the model's egress ipConfigs and backend pool
 * membership (read-modify-write of the last observed model, with its ETag) and the instance rollout. Owns
 * nothing; remembers the last observed model per pool for the next write.
 */
final class ScaleSetArm {
  private final NetworkManager network;
  private final ComputeManager compute;
  private final CloudConfig cloud;
  private final Map<String, VirtualMachineScaleSetInner> lastScaleSet = new ConcurrentHashMap<>();

  ScaleSetArm(NetworkManager network, ComputeManager compute, CloudConfig cloud) {
    this.network = network;
    this.compute = compute;
    this.cloud = cloud;
  }

  /** The model as the planner sees it and every instance with its addresses. */
  record Members(Observed.ScaleSet scaleSet, List<Observed.Instance> instances) {}

  Members observe(PoolRef pool, VirtualMachineScaleSetInner vmss) {
    lastScaleSet.put(pool.entityId(), vmss);
    List<Observed.Instance> instances = instances(resourceGroupOf(vmss.id()), vmss.name(), vmss.uniqueId());
    return new Members(scaleSetView(vmss, vmss.uniqueId()), instances);
  }

  private List<Observed.Instance> instances(String rg, String vmss, String uniqueId) {
    Map<String, NetworkInterfaceInner> nicByVm = new HashMap<>();
    for (NetworkInterfaceInner nic : network.serviceClient().getNetworkInterfaces().listVirtualMachineScaleSetNetworkInterfaces(rg, vmss)) {
      if (nic.virtualMachine() != null && (nic.primary() == null || nic.primary())) {
        nicByVm.put(nic.virtualMachine().id().toLowerCase(Locale.ROOT), nic);
      }
    }
    List<Observed.Instance> out = new ArrayList<>();
    for (VirtualMachineScaleSetVMInner vm : compute.serviceClient().getVirtualMachineScaleSetVMs().list(rg, vmss)) {
      NetworkInterfaceInner nic = nicByVm.get(vm.id().toLowerCase(Locale.ROOT));
      String primaryIp = "";
      boolean inPool = false;
      Map<String, String> egress = new TreeMap<>();
      if (nic != null && nic.ipConfigurations() != null) {
        for (NetworkInterfaceIpConfigurationInner c : nic.ipConfigurations()) {
          String ip = c.privateIpAddress() == null ? "" : c.privateIpAddress();
          if (Boolean.TRUE.equals(c.primary())) {
            primaryIp = ip;
            inPool = c.loadBalancerBackendAddressPools() != null && c.loadBalancerBackendAddressPools().stream()
                .anyMatch(p -> isPoolOf(p.id(), uniqueId));
          } else if (AzureNames.isOurs(c.name())) {
            egress.put(c.name(), ip);
          }
        }
      }
      String computer = vm.osProfile() == null || vm.osProfile().computerName() == null ? vm.name() : vm.osProfile().computerName();
      out.add(new Observed.Instance(vm.instanceId(), computer, !Boolean.FALSE.equals(vm.latestModelApplied()), primaryIp, egress, inPool));
    }
    return out;
  }


  private Observed.ScaleSet scaleSetView(VirtualMachineScaleSetInner vmss, String uniqueId) {
    Map<String, String> egress = new TreeMap<>();
    boolean inPool = false;
    VirtualMachineScaleSetNetworkConfiguration nic = primaryNicConfig(vmss);
    for (VirtualMachineScaleSetIpConfiguration c : list(nic.ipConfigurations())) {
      if (Boolean.TRUE.equals(c.primary())) {
        inPool = list(c.loadBalancerBackendAddressPools()).stream().anyMatch(p -> isPoolOf(p.id(), uniqueId));
      } else if (AzureNames.isOurs(c.name())) {
        var pip = c.publicIpAddressConfiguration();
        egress.put(c.name(), pip == null || pip.publicIpPrefix() == null ? "" : pip.publicIpPrefix().id());
      }
    }
    int capacity = vmss.sku() == null || vmss.sku().capacity() == null ? 0 : vmss.sku().capacity().intValue();
    return new Observed.ScaleSet(uniqueId, capacity, egress, inPool);
  }


  void writeModel(PoolRef pool, ArmAction.WriteModel m) {
    VirtualMachineScaleSetInner vmss = required(lastScaleSet.get(pool.entityId()), "scale set");
    String poolId = backendPoolId(cloud, vmss.uniqueId());
    VirtualMachineScaleSetNetworkConfiguration nic = primaryNicConfig(vmss);
    List<VirtualMachineScaleSetIpConfiguration> configs = new ArrayList<>(list(nic.ipConfigurations()));
    VirtualMachineScaleSetIpConfiguration primary = configs.stream().filter(c -> Boolean.TRUE.equals(c.primary())).findFirst()
        .orElseThrow(() -> new ArmFailure(ArmFailure.Kind.REJECTED, "NoPrimaryIpConfig", "scale set " + vmss.name() + " has no primary ipConfig", null));
    // only the names the planner gives are replaced or dropped; other ipConfigs (even egressgateway-*) stay
    Set<String> replaced = new java.util.TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    replaced.addAll(m.drop());
    replaced.addAll(m.egressIpConfigs().keySet());
    configs.removeIf(c -> !Boolean.TRUE.equals(c.primary()) && replaced.contains(c.name()));
    m.egressIpConfigs().forEach((name, prefixId) -> {
      VirtualMachineScaleSetIpConfiguration c = new VirtualMachineScaleSetIpConfiguration().withName(name).withPrimary(false)
          .withPrivateIpAddressVersion(IpVersion.IPV4).withSubnet(new ApiEntityReference().withId(primary.subnet().id()));
      if (!prefixId.isEmpty()) {
        c.withPublicIpAddressConfiguration(new VirtualMachineScaleSetPublicIpAddressConfiguration().withName(name)
            .withPublicIpPrefix(new SubResource().withId(prefixId)));
      }
      configs.add(c);
    });
    List<SubResource> pools = new ArrayList<>(list(primary.loadBalancerBackendAddressPools()));
    pools.removeIf(p -> isPoolOf(p.id(), vmss.uniqueId()));
    if (m.primaryInPool()) {
      pools.add(new SubResource().withId(poolId));
    }
    // an empty list and an absent one mean the same to ARM; absent keeps the model as it was before us
    primary.withLoadBalancerBackendAddressPools(pools.isEmpty() ? null : pools);
    nic.withIpConfigurations(configs);
    VirtualMachineScaleSetInner written = compute.serviceClient().getVirtualMachineScaleSets()
        .createOrUpdate(resourceGroupOf(vmss.id()), vmss.name(), vmss, vmss.etag(), null, Context.NONE);
    lastScaleSet.put(pool.entityId(), written);
  }

  void rollout(PoolRef pool, ArmAction.Rollout r) {
    VirtualMachineScaleSetInner vmss = required(lastScaleSet.get(pool.entityId()), "scale set");
    compute.serviceClient().getVirtualMachineScaleSets().updateInstances(resourceGroupOf(vmss.id()), vmss.name(),
        new VirtualMachineScaleSetVMInstanceRequiredIDs().withInstanceIds(r.instanceIds()));
  }


  private static VirtualMachineScaleSetNetworkConfiguration primaryNicConfig(VirtualMachineScaleSetInner vmss) {
    var profile = vmss.virtualMachineProfile();
    List<VirtualMachineScaleSetNetworkConfiguration> nics = profile == null || profile.networkProfile() == null
        ? List.of() : list(profile.networkProfile().networkInterfaceConfigurations());
    return nics.stream().filter(n -> Boolean.TRUE.equals(n.primary())).findFirst()
        .or(() -> nics.stream().findFirst())
        .orElseThrow(() -> new ArmFailure(ArmFailure.Kind.REJECTED, "NoNetworkProfile", "scale set " + vmss.name() + " has no NIC configuration", null));
  }
}
