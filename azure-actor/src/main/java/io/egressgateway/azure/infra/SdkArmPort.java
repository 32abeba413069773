package io.egressgateway.azure.infra;

import static io.egressgateway.azure.infra.ArmSdk.call;
import static io.egressgateway.azure.infra.ArmSdk.getOrNull;
import static io.egressgateway.azure.infra.ArmSdk.ifMatch;
import static io.egressgateway.azure.infra.ArmSdk.inPool;
import static io.egressgateway.azure.infra.ArmSdk.isPoolOf;
import static io.egressgateway.azure.infra.ArmSdk.lbId;
import static io.egressgateway.azure.infra.ArmSdk.list;
import static io.egressgateway.azure.infra.ArmSdk.required;
import static io.egressgateway.azure.infra.ArmSdk.resourceGroupOf;
import static io.egressgateway.azure.infra.ArmSdk.tag;

import com.azure.core.management.SubResource;
import com.azure.core.util.Context;
import com.azure.resourcemanager.compute.ComputeManager;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineInner;
import com.azure.resourcemanager.compute.fluent.models.VirtualMachineScaleSetInner;
import com.azure.resourcemanager.network.NetworkManager;
import com.azure.resourcemanager.network.fluent.models.BackendAddressPoolInner;
import com.azure.resourcemanager.network.fluent.models.FrontendIpConfigurationInner;
import com.azure.resourcemanager.network.fluent.models.LoadBalancerInner;
import com.azure.resourcemanager.network.fluent.models.LoadBalancingRuleInner;
import com.azure.resourcemanager.network.fluent.models.ProbeInner;
import com.azure.resourcemanager.network.fluent.models.PublicIpPrefixInner;
import com.azure.resourcemanager.network.fluent.models.SubnetInner;
import com.azure.resourcemanager.network.models.IpAllocationMethod;
import com.azure.resourcemanager.network.models.LoadBalancerSku;
import com.azure.resourcemanager.network.models.LoadBalancerSkuName;
import com.azure.resourcemanager.network.models.LoadBalancerSkuTier;
import com.azure.resourcemanager.network.models.ProbeProtocol;
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
 *
 * <p>This class finds the pool and handles what every pool has (the ILB, prefixes); the members are read and
 * written by {@link ScaleSetArm} or {@link VmPoolArm}.
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
  private final ScaleSetArm scaleSets;
  private final VmPoolArm vmPools;

  public SdkArmPort(NetworkManager network, ComputeManager compute, CloudConfig cloud, int probePort) {
    this.network = network;
    this.compute = compute;
    this.cloud = cloud;
    this.probePort = probePort;
    this.scaleSets = new ScaleSetArm(network, compute, cloud);
    this.vmPools = new VmPoolArm(network, cloud);
  }

  @Override
  public Observed observe(PoolRef pool, Set<String> byoPrefixIds) {
    return call(() -> {
      Found found = findPool(pool);
      return found.vmss() != null ? observeScaleSet(pool, found.vmss(), byoPrefixIds) : observeVms(pool, found.vms(), byoPrefixIds);
    });
  }

  private Observed observeScaleSet(PoolRef pool, VirtualMachineScaleSetInner vmss, Set<String> byoPrefixIds) {
    String uniqueId = vmss.uniqueId();
    uniqueIds.put(pool.entityId(), uniqueId);
    LoadBalancerInner lb = readLb(pool);
    ScaleSetArm.Members members = scaleSets.observe(pool, vmss);
    return new Observed(lb == null ? null : lbView(lb, uniqueId), members.scaleSet(), members.instances(), prefixes(),
        byoPrefixes(byoPrefixIds), Map.of(), tag(vmss.tags(), AzureNames.PREFIX_SIZE_TAG));
  }

  /** A VM pool: its gateway NICs are the members; node names are their VMs' computer names. */
  private Observed observeVms(PoolRef pool, List<VirtualMachineInner> vms, Set<String> byoPrefixIds) {
    String uniqueId = AzureNames.vmPoolUniqueId(pool.nodepoolName());
    uniqueIds.put(pool.entityId(), uniqueId);
    LoadBalancerInner lb = readLb(pool);
    VmPoolArm.Members members = vmPools.observe(pool, vms, uniqueId, byoPrefixIds);
    return new Observed(lb == null ? null : lbView(lb, uniqueId), null, members.nics(), prefixes(), byoPrefixes(byoPrefixIds),
        members.publicIps(), members.sizeTag());
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
        scaleSets.writeModel(pool, m);
      } else if (action instanceof ArmAction.Rollout r) {
        scaleSets.rollout(pool, r);
      } else if (action instanceof ArmAction.CreatePublicIp c) {
        vmPools.createPublicIp(c);
      } else if (action instanceof ArmAction.DeletePublicIp d) {
        network.serviceClient().getPublicIpAddresses().delete(cloud.resourceGroup(), d.name());
      } else if (action instanceof ArmAction.WriteNic n) {
        vmPools.writeNic(pool, required(uniqueIds.get(pool.entityId()), "pool"), n);
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
    String lbId = lbId(cloud);
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
}
