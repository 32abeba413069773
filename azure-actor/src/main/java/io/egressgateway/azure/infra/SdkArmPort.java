package io.egressgateway.azure.infra;

import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.policy.AddHeadersFromContextPolicy;
import com.azure.core.management.SubResource;
import com.azure.core.management.exception.ManagementException;
import com.azure.core.util.Context;
import com.azure.resourcemanager.compute.ComputeManager;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineInner;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineScaleSetInner;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineScaleSetVMInner;
import com.azure.resourcemanager.compute.models.ApiEntityReference;
import com.azure.resourcemanager.compute.models.IpVersion;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetIpConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetNetworkConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetPublicIpAddressConfiguration;
import com.azure.resourcemanager.compute.models.VirtualMachineScaleSetVMInstanceRequiredIDs;
import com.azure.resourcemanager.network.NetworkManager;
import com.azure.resourcemanager.network.fluent.models.BackendAddressPoolInner;
import com.azure.resourcemanager.network.fluent.models.FrontendIpConfigurationInner;
import com.azure.resourcemanager.network.fluent.models.LoadBalancerInner;
import com.azure.resourcemanager.network.fluent.models.LoadBalancingRuleInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceInner;
import com.azure.resourcemanager.network.fluent.models.NetworkInterfaceIpConfigurationInner;
import com.azure.resourcemanager.network.fluent.models.ProbeInner;
import com.azure.resourcemanager.network.fluent.models.PublicIpAddressInner;
import com.azure.resourcemanager.network.fluent.models.PublicIpPrefixInner;
import com.azure.resourcemanager.network.fluent.models.SubnetInner;
import com.azure.resourcemanager.network.models.IpAllocationMethod;
import com.azure.resourcemanager.network.models.LoadBalancerSku;
import com.azure.resourcemanager.network.models.LoadBalancerSkuName;
import com.azure.resourcemanager.network.models.LoadBalancerSkuTier;
import com.azure.resourcemanager.network.models.ProbeProtocol;
import com.azure.resourcemanager.network.models.ProvisioningState;
import com.azure.resourcemanager.network.models.PublicIpAddressSku;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuName;
import com.azure.resourcemanager.network.models.PublicIpAddressSkuTier;
import com.azure.resourcemanager.network.models.PublicIpPrefixSku;
import com.azure.resourcemanager.network.models.PublicIpPrefixSkuName;
import com.azure.resourcemanager.network.models.PublicIpPrefixSkuTier;
import com.azure.resourcemanager.network.models.TransportProtocol;
import io.egressgateway.azure.model.ArmAction;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.azure.model.ArmPort;
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
import java.util.function.Supplier;

/**
 * {@link ArmPort} on the Azure SDK (inner "fluent" clients: one SDK call is one ARM request, plus LRO polls).
 *
 * <p>Owns nothing itself; writes the shared ILB, the gateway scale set model and instances or a VM pool's
 * gateway NICs and their public IPs, and managed prefixes. A node pool is looked up as upstream does: a scale
 * set tagged {@code aks-managed-poolName} in the cloud-config resource group, else VMs with that tag (an AKS
 * "VirtualMachines" pool, whose gateway NICs are the ones tagged {@code aks-managed-static-gateway-nic} and
 * the pool name); the lookup is remembered. Observes per pool: a scale set pool with GET of the scale set,
 * GET ILB, LIST instances, LIST the scale set's NICs in one call; a VM pool with LIST VMs, GET ILB, LIST NICs,
 * LIST public IPs; both then LIST prefixes of the resource group and GET each BYO prefix. Writes are
 * read-modify-write of the last observed ILB, scale set or NIC with {@code If-Match} on its ETag, so a
 * concurrent writer turns into a 412 ({@link ArmFailure.Kind#CONFLICT}) rather than a lost update. 429 and 5xx
 * are retried by the SDK pipeline (Retry-After honoured) before surfacing as THROTTLED/TRANSIENT.
 */
public final class SdkArmPort implements ArmPort {
  private final NetworkManager network;
  private final ComputeManager compute;
  private final CloudConfig cloud;
  private final int probePort;
  /** Where each pool was found: {resource group, scale set}, or an empty array for a VM pool. */
  private final Map<String, String[]> scaleSetByPool = new ConcurrentHashMap<>();
  private final Map<String, String> uniqueIds = new ConcurrentHashMap<>();
  private final Map<String, LoadBalancerInner> lastLb = new ConcurrentHashMap<>();
  private final Map<String, VirtualMachineScaleSetInner> lastScaleSet = new ConcurrentHashMap<>();
  private final Map<String, Map<String, NetworkInterfaceInner>> lastNics = new ConcurrentHashMap<>();

  public SdkArmPort(NetworkManager network, ComputeManager compute, CloudConfig cloud, int probePort) {
    this.network = network;
    this.compute = compute;
    this.cloud = cloud;
    this.probePort = probePort;
  }

  @Override
  public Observed observe(PoolRef pool, Set<String> byoPrefixIds) {
    return call(() -> {
      Found found = findPool(pool);
      return found.vmss() != null ? observeScaleSet(pool, found.vmss(), byoPrefixIds) : observeVms(pool, found.vms(), byoPrefixIds);
    });
  }

  private Observed observeScaleSet(PoolRef pool, VirtualMachineScaleSetInner vmss, Set<String> byoPrefixIds) {
    String rg = resourceGroupOf(vmss.id());
    String uniqueId = vmss.uniqueId();
    uniqueIds.put(pool.entityId(), uniqueId);
    lastScaleSet.put(pool.entityId(), vmss);
    LoadBalancerInner lb = readLb(pool);
    List<Observed.Instance> instances = instances(rg, vmss.name(), uniqueId);
    return new Observed(lb == null ? null : lbView(lb, uniqueId), scaleSetView(vmss, uniqueId), instances, prefixes(),
        byoPrefixes(byoPrefixIds), Map.of(), tag(vmss.tags(), AzureNames.PREFIX_SIZE_TAG));
  }

  /** A VM pool: its gateway NICs are the members; node names are their VMs' computer names. */
  private Observed observeVms(PoolRef pool, List<VirtualMachineInner> vms, Set<String> byoPrefixIds) {
    String uniqueId = AzureNames.vmPoolUniqueId(pool.nodepoolName());
    uniqueIds.put(pool.entityId(), uniqueId);
    Map<String, String> computerByVm = new HashMap<>();
    String sizeTag = null;
    for (VirtualMachineInner vm : vms) {
      String computer = vm.osProfile() == null || vm.osProfile().computerName() == null ? vm.name() : vm.osProfile().computerName();
      computerByVm.put(vm.id().toLowerCase(Locale.ROOT), computer);
      if (sizeTag == null && inPool(vm.tags(), pool)) {
        sizeTag = tag(vm.tags(), AzureNames.PREFIX_SIZE_TAG);
      }
    }
    LoadBalancerInner lb = readLb(pool);
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
    return new Observed(lb == null ? null : lbView(lb, uniqueId), null, members, prefixes(), byoPrefixes(byoPrefixIds), pips, sizeTag);
  }

  private LoadBalancerInner readLb(PoolRef pool) {
    LoadBalancerInner lb = getOrNull(() -> network.serviceClient().getLoadBalancers()
        .getByResourceGroup(cloud.loadBalancerResourceGroup(), cloud.loadBalancerName()));
    if (lb == null) {
      lastLb.remove(pool.entityId());
    } else {
      lastLb.put(pool.entityId(), lb);
    }
    return lb;
  }

  private Map<String, Observed.Prefix> prefixes() {
    Map<String, Observed.Prefix> prefixes = new TreeMap<>();
    for (PublicIpPrefixInner p : network.serviceClient().getPublicIpPrefixes().listByResourceGroup(cloud.resourceGroup())) {
      if (AzureNames.isOurs(p.name())) {
        prefixes.put(p.name(), prefix(p));
      }
    }
    return prefixes;
  }

  private Map<String, Observed.Prefix> byoPrefixes(Set<String> byoPrefixIds) {
    Map<String, Observed.Prefix> byo = new HashMap<>();
    for (String id : byoPrefixIds) {
      String[] parts = id.split("/");
      if (parts.length < 9) {
        continue;
      }
      PublicIpPrefixInner p = getOrNull(() -> network.serviceClient().getPublicIpPrefixes().getByResourceGroup(parts[4], parts[8]));
      if (p != null) {
        byo.put(id.toLowerCase(Locale.ROOT), prefix(p));
      }
    }
    return byo;
  }

  @Override
  public void execute(PoolRef pool, ArmAction action) {
    call(() -> {
      if (action instanceof ArmAction.CreatePrefix c) {
        createPrefix(c);
      } else if (action instanceof ArmAction.DeletePrefix d) {
        network.serviceClient().getPublicIpPrefixes().delete(cloud.resourceGroup(), d.name());
      } else if (action instanceof ArmAction.WriteLb w) {
        writeLb(pool, w);
      } else if (action instanceof ArmAction.DeleteLb) {
        network.serviceClient().getLoadBalancers().delete(cloud.loadBalancerResourceGroup(), cloud.loadBalancerName());
        lastLb.remove(pool.entityId());
      } else if (action instanceof ArmAction.WriteModel m) {
        writeModel(pool, m);
      } else if (action instanceof ArmAction.Rollout r) {
        rollout(pool, r);
      } else if (action instanceof ArmAction.CreatePublicIp c) {
        createPublicIp(c);
      } else if (action instanceof ArmAction.DeletePublicIp d) {
        network.serviceClient().getPublicIpAddresses().delete(cloud.resourceGroup(), d.name());
      } else if (action instanceof ArmAction.WriteNic n) {
        writeNic(pool, n);
      }
      return null;
    });
  }

  // ------------------------------------------------------------------ reads

  /** A pool as found: its scale set, or (VM pool) every VM of the resource group. */
  private record Found(VirtualMachineScaleSetInner vmss, List<VirtualMachineInner> vms) {}

  private Found findPool(PoolRef pool) {
    String[] known = scaleSetByPool.get(pool.entityId());
    if (known == null && !pool.byNodepool()) {
      known = new String[] {pool.vmssResourceGroup(), pool.vmssName()};
    }
    if (known != null && known.length == 0) {
      List<VirtualMachineInner> vms = listVms();
      if (vms.stream().anyMatch(vm -> inPool(vm.tags(), pool))) {
        return new Found(null, vms);
      }
      scaleSetByPool.remove(pool.entityId());
    } else if (known != null) {
      String[] k = known;
      VirtualMachineScaleSetInner vmss = getOrNull(() -> compute.serviceClient().getVirtualMachineScaleSets().getByResourceGroup(k[0], k[1]));
      if (vmss != null) {
        return new Found(vmss, null);
      }
      scaleSetByPool.remove(pool.entityId());
      if (!pool.byNodepool()) {
        throw new ArmFailure(ArmFailure.Kind.REJECTED, "ResourceNotFound", "scale set " + k[0] + "/" + k[1] + " does not exist", null);
      }
    }
    for (VirtualMachineScaleSetInner v : compute.serviceClient().getVirtualMachineScaleSets().listByResourceGroup(cloud.resourceGroup())) {
      if (inPool(v.tags(), pool)) {
        scaleSetByPool.put(pool.entityId(), new String[] {resourceGroupOf(v.id()), v.name()});
        return new Found(v, null);
      }
    }
    List<VirtualMachineInner> vms = listVms();
    if (vms.stream().anyMatch(vm -> inPool(vm.tags(), pool))) {
      scaleSetByPool.put(pool.entityId(), new String[0]);
      return new Found(null, vms);
    }
    throw new ArmFailure(ArmFailure.Kind.REJECTED, "PoolNotFound",
        "no scale set or VM tagged " + AzureNames.POOL_TAG + "=" + pool.nodepoolName() + " in " + cloud.resourceGroup(), null);
  }

  private List<VirtualMachineInner> listVms() {
    List<VirtualMachineInner> out = new ArrayList<>();
    compute.serviceClient().getVirtualMachines().listByResourceGroup(cloud.resourceGroup()).forEach(out::add);
    return out;
  }

  /** Tagged {@code aks-managed-poolName} with the pool's name (tag key and value case-insensitive). */
  private static boolean inPool(Map<String, String> tags, PoolRef pool) {
    return pool.byNodepool() && pool.nodepoolName().equalsIgnoreCase(tag(tags, AzureNames.POOL_TAG));
  }

  private static String tag(Map<String, String> tags, String key) {
    return tags == null ? null : tags.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(key))
        .map(Map.Entry::getValue).findFirst().orElse(null);
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

  private Observed.Lb lbView(LoadBalancerInner lb, String uniqueId) {
    String frontendIp = "";
    boolean hasFrontend = false;
    for (FrontendIpConfigurationInner f : list(lb.frontendIpConfigurations())) {
      if (f.name().equalsIgnoreCase(uniqueId)) {
        hasFrontend = true;
        frontendIp = f.privateIpAddress() == null ? "" : f.privateIpAddress();
      }
    }
    boolean hasPool = list(lb.backendAddressPools()).stream().anyMatch(p -> p.name().equalsIgnoreCase(uniqueId));
    Map<String, Integer> rules = new TreeMap<>();
    for (LoadBalancingRuleInner r : list(lb.loadBalancingRules())) {
      if (r.backendAddressPool() != null && isPoolOf(r.backendAddressPool().id(), uniqueId)) {
        rules.put(r.name(), r.frontendPort());
      }
    }
    Map<String, String> probes = new TreeMap<>();
    for (ProbeInner p : list(lb.probes())) {
      if (p.requestPath() != null && p.requestPath().startsWith(AzureNames.PROBE_PATH)) {
        probes.put(p.name(), p.requestPath());
      }
    }
    return new Observed.Lb(frontendIp, hasFrontend, hasPool, rules, probes, list(lb.frontendIpConfigurations()).size(),
        list(lb.loadBalancingRules()).size());
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

  private static Observed.Prefix prefix(PublicIpPrefixInner p) {
    return new Observed.Prefix(p.id(), p.name(), p.ipPrefix() == null ? "" : p.ipPrefix(), p.prefixLength() == null ? 0 : p.prefixLength());
  }

  // ----------------------------------------------------------------- writes

  private void createPrefix(ArmAction.CreatePrefix c) {
    PublicIpPrefixInner p = new PublicIpPrefixInner().withPrefixLength(c.length())
        .withPublicIpAddressVersion(com.azure.resourcemanager.network.models.IpVersion.IPV4)
        .withSku(new PublicIpPrefixSku().withName(PublicIpPrefixSkuName.STANDARD).withTier(PublicIpPrefixSkuTier.REGIONAL));
    p.withLocation(cloud.location()).withTags(Map.of(AzureNames.OWNER_TAG, "kube-egress-gateway", "egressgateway-config-uid", c.uid()));
    network.serviceClient().getPublicIpPrefixes().createOrUpdate(cloud.resourceGroup(), c.name(), p);
  }

  private void writeLb(PoolRef pool, ArmAction.WriteLb w) {
    String uid = required(uniqueIds.get(pool.entityId()), "pool");
    LoadBalancerInner seen = lastLb.get(pool.entityId());
    LoadBalancerInner lb = seen != null ? seen : new LoadBalancerInner();
    if (seen == null) {
      lb.withLocation(cloud.location());
      lb.withTags(Map.of(AzureNames.OWNER_TAG, "kube-egress-gateway"));
      lb.withSku(new LoadBalancerSku().withName(LoadBalancerSkuName.STANDARD).withTier(LoadBalancerSkuTier.REGIONAL));
    }
    String lbId = "/subscriptions/" + cloud.subscriptionId() + "/resourceGroups/" + cloud.loadBalancerResourceGroup()
        + "/providers/Microsoft.Network/loadBalancers/" + cloud.loadBalancerName();
    List<FrontendIpConfigurationInner> fronts = new ArrayList<>(list(lb.frontendIpConfigurations()));
    List<BackendAddressPoolInner> pools = new ArrayList<>(list(lb.backendAddressPools()));
    List<LoadBalancingRuleInner> rules = new ArrayList<>(list(lb.loadBalancingRules()));
    List<ProbeInner> probes = new ArrayList<>(list(lb.probes()));
    rules.removeIf(r -> w.removeRules().contains(r.name()) || w.rules().containsKey(r.name()) && !ruleMatches(r, w.rules().get(r.name())));
    probes.removeIf(p -> w.removeRules().contains(p.name()) || w.rules().containsKey(p.name()) && !probeMatches(p, probePath(w, p.name())));
    if (w.poolSection()) {
      if (fronts.stream().noneMatch(f -> f.name().equalsIgnoreCase(uid))) {
        fronts.add(new FrontendIpConfigurationInner().withName(uid).withPrivateIpAllocationMethod(IpAllocationMethod.DYNAMIC)
            .withPrivateIpAddressVersion(com.azure.resourcemanager.network.models.IpVersion.IPV4)
            .withSubnet(new SubnetInner().withId(cloud.subnetId())));
      }
      if (pools.stream().noneMatch(p -> p.name().equalsIgnoreCase(uid))) {
        pools.add(new BackendAddressPoolInner().withName(uid));
      }
    } else {
      fronts.removeIf(f -> f.name().equalsIgnoreCase(uid));
      pools.removeIf(p -> p.name().equalsIgnoreCase(uid));
    }
    for (var e : w.rules().entrySet()) {
      String name = e.getKey();
      if (probes.stream().noneMatch(p -> p.name().equals(name))) {
        probes.add(new ProbeInner().withName(name).withProtocol(ProbeProtocol.HTTP).withPort(probePort)
            .withRequestPath(probePath(w, name)).withIntervalInSeconds(5).withProbeThreshold(1));
      }
      if (rules.stream().noneMatch(r -> r.name().equals(name))) {
        rules.add(new LoadBalancingRuleInner().withName(name).withProtocol(TransportProtocol.UDP)
            .withFrontendPort(e.getValue()).withBackendPort(e.getValue()).withEnableFloatingIp(true)
            .withFrontendIpConfiguration(new SubResource().withId(lbId + "/frontendIPConfigurations/" + uid))
            .withBackendAddressPool(new SubResource().withId(lbId + "/backendAddressPools/" + uid))
            .withProbe(new SubResource().withId(lbId + "/probes/" + name)));
      }
    }
    lb.withFrontendIpConfigurations(fronts).withBackendAddressPools(pools).withLoadBalancingRules(rules).withProbes(probes);
    Context ctx = seen == null || seen.etag() == null ? Context.NONE : ifMatch(seen.etag());
    LoadBalancerInner written = network.serviceClient().getLoadBalancers()
        .createOrUpdate(cloud.loadBalancerResourceGroup(), cloud.loadBalancerName(), lb, ctx);
    lastLb.put(pool.entityId(), written);
  }

  private boolean ruleMatches(LoadBalancingRuleInner r, int port) {
    return r.protocol() == TransportProtocol.UDP && Boolean.TRUE.equals(r.enableFloatingIp())
        && r.frontendPort() != null && r.frontendPort() == port && r.backendPort() != null && r.backendPort() == port && r.probe() != null;
  }

  /** The probe path is always the config's own uid, whatever the probe is named (upstream does the same). */
  private static String probePath(ArmAction.WriteLb w, String ruleName) {
    return AzureNames.PROBE_PATH + w.probeUids().getOrDefault(ruleName, ruleName);
  }

  private boolean probeMatches(ProbeInner p, String path) {
    return p.protocol() == ProbeProtocol.HTTP && p.port() != null && p.port() == probePort && path.equals(p.requestPath());
  }

  private void writeModel(PoolRef pool, ArmAction.WriteModel m) {
    VirtualMachineScaleSetInner vmss = required(lastScaleSet.get(pool.entityId()), "scale set");
    String lbId = "/subscriptions/" + cloud.subscriptionId() + "/resourceGroups/" + cloud.loadBalancerResourceGroup()
        + "/providers/Microsoft.Network/loadBalancers/" + cloud.loadBalancerName();
    String poolId = lbId + "/backendAddressPools/" + vmss.uniqueId();
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

  private void rollout(PoolRef pool, ArmAction.Rollout r) {
    VirtualMachineScaleSetInner vmss = required(lastScaleSet.get(pool.entityId()), "scale set");
    compute.serviceClient().getVirtualMachineScaleSets().updateInstances(resourceGroupOf(vmss.id()), vmss.name(),
        new VirtualMachineScaleSetVMInstanceRequiredIDs().withInstanceIds(r.instanceIds()));
  }

  private void createPublicIp(ArmAction.CreatePublicIp c) {
    PublicIpAddressInner p = new PublicIpAddressInner()
        .withSku(new PublicIpAddressSku().withName(PublicIpAddressSkuName.STANDARD).withTier(PublicIpAddressSkuTier.REGIONAL))
        .withPublicIpAllocationMethod(IpAllocationMethod.STATIC)
        .withPublicIpAddressVersion(com.azure.resourcemanager.network.models.IpVersion.IPV4)
        .withPublicIpPrefix(new SubResource().withId(c.prefixId()));
    p.withLocation(cloud.location()).withTags(Map.of(AzureNames.OWNER_TAG, "kube-egress-gateway", "egressgateway-config-uid", c.uid()));
    network.serviceClient().getPublicIpAddresses().createOrUpdate(cloud.resourceGroup(), c.name(), p);
  }

  /** One VM-pool NIC as last observed, with the pool's egress ipConfigs and backend pool membership set. */
  private void writeNic(PoolRef pool, ArmAction.WriteNic w) {
    String uniqueId = required(uniqueIds.get(pool.entityId()), "pool");
    NetworkInterfaceInner nic = required(lastNics.getOrDefault(pool.entityId(), Map.of()).get(w.nic()), "NIC " + w.nic());
    String poolId = "/subscriptions/" + cloud.subscriptionId() + "/resourceGroups/" + cloud.loadBalancerResourceGroup()
        + "/providers/Microsoft.Network/loadBalancers/" + cloud.loadBalancerName() + "/backendAddressPools/" + uniqueId;
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

  // ---------------------------------------------------------------- helpers

  private static VirtualMachineScaleSetNetworkConfiguration primaryNicConfig(VirtualMachineScaleSetInner vmss) {
    var profile = vmss.virtualMachineProfile();
    List<VirtualMachineScaleSetNetworkConfiguration> nics = profile == null || profile.networkProfile() == null
        ? List.of() : list(profile.networkProfile().networkInterfaceConfigurations());
    return nics.stream().filter(n -> Boolean.TRUE.equals(n.primary())).findFirst()
        .or(() -> nics.stream().findFirst())
        .orElseThrow(() -> new ArmFailure(ArmFailure.Kind.REJECTED, "NoNetworkProfile", "scale set " + vmss.name() + " has no NIC configuration", null));
  }

  private static boolean isPoolOf(String poolId, String uniqueId) {
    return poolId != null && poolId.toLowerCase(Locale.ROOT).endsWith("/backendaddresspools/" + uniqueId.toLowerCase(Locale.ROOT));
  }

  private static Context ifMatch(String etag) {
    return new Context(AddHeadersFromContextPolicy.AZURE_REQUEST_HTTP_HEADERS_KEY,
        new HttpHeaders().set(HttpHeaderName.IF_MATCH, etag));
  }

  private static String resourceGroupOf(String id) {
    return id.split("/")[4];
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  private static <T> T required(T t, String what) {
    if (t == null) {
      throw new ArmFailure(ArmFailure.Kind.CONFLICT, "NotObserved", what + " was not observed before the write", null);
    }
    return t;
  }

  private static <T> T getOrNull(Supplier<T> get) {
    try {
      return get.get();
    } catch (ManagementException e) {
      if (e.getResponse() != null && e.getResponse().getStatusCode() == 404) {
        return null;
      }
      throw e;
    }
  }

  /** Retry-After in seconds (or HTTP date, treated as unknown), zero when absent. */
  private static java.time.Duration retryAfter(ManagementException e) {
    String v = e.getResponse() == null ? null : e.getResponse().getHeaderValue(HttpHeaderName.RETRY_AFTER);
    if (v == null || !v.trim().matches("\\d{1,6}")) {
      return java.time.Duration.ZERO;
    }
    return java.time.Duration.ofSeconds(Long.parseLong(v.trim()));
  }

  private static <T> T call(Supplier<T> body) {
    try {
      return body.get();
    } catch (ManagementException e) {
      int status = e.getResponse() == null ? 0 : e.getResponse().getStatusCode();
      String code = e.getValue() == null || e.getValue().getCode() == null ? String.valueOf(status) : e.getValue().getCode();
      String message = e.getValue() == null || e.getValue().getMessage() == null ? e.getMessage() : e.getValue().getMessage();
      ArmFailure.Kind kind = status == 412 || status == 409 && "AnotherOperationInProgress".equals(code) ? ArmFailure.Kind.CONFLICT
          : status == 429 ? ArmFailure.Kind.THROTTLED
          : status >= 500 || status == 0 ? ArmFailure.Kind.TRANSIENT
          : ArmFailure.Kind.REJECTED;
      throw new ArmFailure(kind, code, code + ": " + message, retryAfter(e), e);
    } catch (ArmFailure e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ArmFailure(ArmFailure.Kind.TRANSIENT, e.getClass().getSimpleName(), String.valueOf(e.getMessage()), e);
    }
  }
}
