package io.egressgateway.armsim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressgateway.armsim.ArmSimulator.ArmError;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** What ARM checks and fills in when a resource is written: ids, allocations, references, limits. */
final class ArmRules {
  private ArmRules() {}

  static ObjectNode loadBalancer(ArmSimulator sim, String id, ObjectNode in, ObjectNode existing) {
    ObjectNode lb = fromRequest(in, id, "Microsoft.Network/loadBalancers");
    ObjectNode props = props(lb);
    Map<String, String> oldIps = new HashMap<>();
    if (existing != null) {
      existing.path("properties").path("frontendIPConfigurations").forEach(f ->
          oldIps.put(f.path("name").asText().toLowerCase(Locale.ROOT), f.path("properties").path("privateIPAddress").asText()));
    }
    Set<String> frontends = children(props, "frontendIPConfigurations", id);
    for (JsonNode f : props.path("frontendIPConfigurations")) {
      ObjectNode fp = props(f);
      String subnetId = fp.path("subnet").path("id").asText("");
      checkSubnetExists(sim, subnetId, "load balancer " + id);
      String old = oldIps.get(f.path("name").asText().toLowerCase(Locale.ROOT));
      if (fp.path("privateIPAddress").asText("").isEmpty()) {
        fp.put("privateIPAddress", old != null && !old.isEmpty() ? old : sim.allocateIp(subnetId));
      }
      fp.put("privateIPAllocationMethod", fp.path("privateIPAllocationMethod").asText("Dynamic"));
      fp.put("privateIPAddressVersion", "IPv4");
      fp.put("provisioningState", "Succeeded");
    }
    Set<String> pools = children(props, "backendAddressPools", id);
    Set<String> probes = children(props, "probes", id);
    children(props, "loadBalancingRules", id);
    for (JsonNode p : props.path("probes")) {
      ObjectNode pp = props(p);
      if (pp.path("protocol").asText().equalsIgnoreCase("Http") && pp.path("requestPath").asText("").isEmpty()) {
        throw new ArmError(400, "InvalidRequestFormat", "Http probe " + p.path("name").asText() + " needs a requestPath.");
      }
      pp.put("provisioningState", "Succeeded");
    }
    Set<String> used = new HashSet<>();
    for (JsonNode r : props.path("loadBalancingRules")) {
      ObjectNode rp = props(r);
      ref(rp, "frontendIPConfiguration", frontends, id);
      ref(rp, "backendAddressPool", pools, id);
      ref(rp, "probe", probes, id);
      String slot = rp.path("frontendIPConfiguration").path("id").asText().toLowerCase(Locale.ROOT) + "|"
          + rp.path("protocol").asText().toLowerCase(Locale.ROOT) + "|" + rp.path("frontendPort").asInt();
      if (!used.add(slot)) {
        throw new ArmError(400, "RulesUseSameLoadBalancerFrontendIpAndPort",
            "Load balancer rule " + r.path("name").asText() + " uses a frontend IP and port already used by another rule.");
      }
      rp.put("provisioningState", "Succeeded");
    }
    if (existing != null) {
      for (JsonNode p : existing.path("properties").path("backendAddressPools")) {
        String poolId = p.path("id").asText().toLowerCase(Locale.ROOT);
        if (!pools.contains(poolId) && referenced(sim, poolId)) {
          throw new ArmError(400, "InUseBackendAddressPoolCannotBeDeleted",
              "Backend address pool " + poolId + " is in use by network interface ip configurations.");
        }
      }
    }
    props.put("provisioningState", "Succeeded");
    lb.put("etag", ArmSimulator.newEtag());
    return lb;
  }

  static void checkLoadBalancerUnused(ArmSimulator sim, ObjectNode lb) {
    for (JsonNode p : lb.path("properties").path("backendAddressPools")) {
      if (referenced(sim, p.path("id").asText().toLowerCase(Locale.ROOT))) {
        throw new ArmError(400, "LoadBalancerInUseByVirtualMachineScaleSet",
            "Load balancer " + lb.path("id").asText() + " is in use by a scale set.");
      }
    }
  }

  static ObjectNode prefix(ArmSimulator sim, String id, ObjectNode in, ObjectNode existing) {
    ObjectNode p = fromRequest(in, id, "Microsoft.Network/publicIPPrefixes");
    ObjectNode props = props(p);
    int length = props.path("prefixLength").asInt(-1);
    if (length < sim.minPrefixLength() || length > 31) {
      throw new ArmError(400, "PublicIpPrefixLengthOutOfRange",
          "Prefix length " + length + " is outside the allowed range /" + sim.minPrefixLength() + " to /31.");
    }
    if (!props.path("publicIPAddressVersion").asText("IPv4").equalsIgnoreCase("IPv4")) {
      throw new ArmError(400, "InvalidPublicIpPrefixVersion", "only IPv4 prefixes are simulated");
    }
    if (existing != null) {
      int was = existing.path("properties").path("prefixLength").asInt();
      if (was != length) {
        throw new ArmError(400, "PublicIpPrefixLengthCannotBeChanged", "Prefix length cannot change from " + was + " to " + length + ".");
      }
      props.put("ipPrefix", existing.path("properties").path("ipPrefix").asText());
    } else {
      props.put("ipPrefix", sim.allocatePrefix(length));
    }
    props.put("publicIPAddressVersion", "IPv4").put("provisioningState", "Succeeded");
    p.put("etag", ArmSimulator.newEtag());
    return p;
  }

  static void checkPrefixUnused(ArmSimulator sim, ObjectNode prefix) {
    String pid = prefix.path("id").asText().toLowerCase(Locale.ROOT);
    for (ObjectNode r : sim.all()) {
      if (r != prefix && r.toString().toLowerCase(Locale.ROOT).contains("\"" + pid + "\"")) {
        throw new ArmError(400, "InUsePublicIpPrefixCannotBeDeleted",
            "Public IP prefix " + prefix.path("id").asText() + " is in use by " + r.path("id").asText() + ".");
      }
    }
  }

  static ObjectNode scaleSet(ArmSimulator sim, String id, ObjectNode in, ObjectNode existing) {
    ObjectNode vmss = seededUpdate(in, existing, "scale sets");
    JsonNode newNet = in.path("properties").path("virtualMachineProfile").path("networkProfile");
    JsonNode oldNet = existing.path("properties").path("virtualMachineProfile").path("networkProfile");
    boolean netChanged = !newNet.isMissingNode() && !newNet.equals(oldNet);
    if (netChanged) {
      ((ObjectNode) vmss.with("properties").with("virtualMachineProfile")).set("networkProfile", newNet.deepCopy());
    }
    for (JsonNode nicConfig : vmss.path("properties").path("virtualMachineProfile").path("networkProfile").path("networkInterfaceConfigurations")) {
      for (JsonNode c : nicConfig.path("properties").path("ipConfigurations")) {
        JsonNode cp = c.path("properties");
        checkSubnetExists(sim, cp.path("subnet").path("id").asText(""), id);
        referencedPrefix(sim, cp.path("publicIPAddressConfiguration").path("properties").path("publicIPPrefix").path("id").asText(""), id);
        for (JsonNode pool : cp.path("loadBalancerBackendAddressPools")) {
          checkPoolExists(sim, pool.path("id").asText(), id);
        }
      }
    }
    checkPrefixCapacity(sim, vmss, vmss.path("sku").path("capacity").asInt());
    if (netChanged) {
      for (ObjectNode r : sim.all()) {
        if (r.path("type").asText().equalsIgnoreCase("Microsoft.Compute/virtualMachineScaleSets/virtualMachines")
            && ArmSimulator.key(r.path("id").asText()).startsWith(ArmSimulator.key(id) + "/")) {
          ((ObjectNode) r.get("properties")).put("latestModelApplied", false);
        }
      }
    }
    vmss.put("etag", ArmSimulator.newEtag());
    return vmss;
  }

  /**
   * A NIC update (NICs are seeded, not created): ipConfigs keep their private IP while their subnet stays,
   * new ones get the next free address of their subnet; references to subnets, backend pools and public IPs
   * must resolve; a public IP serves one ipConfig at a time; exactly one ipConfig is primary. Public IPs
   * learn which ipConfig they are attached to, as in ARM.
   */
  static ObjectNode networkInterface(ArmSimulator sim, String id, ObjectNode in, ObjectNode existing) {
    ObjectNode nic = seededUpdate(in, existing, "network interfaces");
    Map<String, JsonNode> old = new HashMap<>();
    existing.path("properties").path("ipConfigurations").forEach(c -> old.put(c.path("name").asText().toLowerCase(Locale.ROOT), c));
    ArrayNode fresh = ArmSimulator.json().createArrayNode();
    int primaries = 0;
    Map<String, String> attach = new HashMap<>();
    for (JsonNode c : in.path("properties").path("ipConfigurations")) {
      String name = c.path("name").asText();
      JsonNode p = c.path("properties");
      String subnetId = p.path("subnet").path("id").asText("");
      checkSubnetExists(sim, subnetId, id);
      JsonNode before = old.get(name.toLowerCase(Locale.ROOT));
      String ip = before != null && before.path("properties").path("subnet").path("id").asText().equalsIgnoreCase(subnetId)
          ? before.path("properties").path("privateIPAddress").asText()
          : sim.allocateIp(subnetId);
      boolean primary = p.path("primary").asBoolean(false);
      primaries += primary ? 1 : 0;
      String configId = id + "/ipConfigurations/" + name;
      ObjectNode out = fresh.addObject().put("name", name).put("id", configId);
      ObjectNode op = out.putObject("properties").put("primary", primary).put("privateIPAddress", ip)
          .put("privateIPAllocationMethod", "Dynamic").put("privateIPAddressVersion", "IPv4").put("provisioningState", "Succeeded");
      op.putObject("subnet").put("id", subnetId);
      if (!p.path("loadBalancerBackendAddressPools").isEmpty()) {
        ArrayNode pools = op.putArray("loadBalancerBackendAddressPools");
        for (JsonNode pool : p.path("loadBalancerBackendAddressPools")) {
          String poolId = pool.path("id").asText();
          checkPoolExists(sim, poolId, id);
          pools.addObject().put("id", poolId);
        }
      }
      String pipId = p.path("publicIPAddress").path("id").asText("");
      if (!pipId.isEmpty()) {
        ObjectNode pip = sim.stored(pipId);
        if (pip == null) {
          throw new ArmError(400, "InvalidResourceReference", "Public IP address " + pipId + " referenced by " + id + " was not found.");
        }
        String usedBy = pip.path("properties").path("ipConfiguration").path("id").asText("");
        if (!usedBy.isEmpty() && !usedBy.equalsIgnoreCase(configId)) {
          throw new ArmError(400, "PublicIPAddressInUse", "Public IP address " + pipId + " is already used by " + usedBy + ".");
        }
        if (attach.put(ArmSimulator.key(pipId), configId) != null) {
          throw new ArmError(400, "PublicIPAddressInUse", "Public IP address " + pipId + " is referenced twice by " + id + ".");
        }
        op.putObject("publicIPAddress").put("id", pip.path("id").asText());
      }
    }
    if (primaries != 1) {
      throw new ArmError(400, "NicMustHaveOnePrimaryIpConfiguration", "Network interface " + id + " needs exactly one primary ipConfig.");
    }
    ((ObjectNode) nic.get("properties")).set("ipConfigurations", fresh);
    for (JsonNode c : existing.path("properties").path("ipConfigurations")) {
      String pipId = c.path("properties").path("publicIPAddress").path("id").asText("");
      ObjectNode pip = pipId.isEmpty() ? null : sim.stored(pipId);
      if (pip != null && !attach.containsKey(ArmSimulator.key(pipId))) {
        ((ObjectNode) pip.get("properties")).remove("ipConfiguration");
      }
    }
    attach.forEach((pipKey, configId) -> ((ObjectNode) sim.stored(pipKey).get("properties")).putObject("ipConfiguration").put("id", configId));
    nic.put("etag", ArmSimulator.newEtag());
    return nic;
  }

  /**
   * A Standard static public IP. With {@code publicIPPrefix} it takes the lowest address of the prefix no other
   * public IP holds, and is rejected when the prefix is full; its address and prefix never change afterwards.
   */
  static ObjectNode publicIp(ArmSimulator sim, String id, ObjectNode in, ObjectNode existing) {
    ObjectNode pip = fromRequest(in, id, "Microsoft.Network/publicIPAddresses");
    ObjectNode props = props(pip);
    if (!props.path("publicIPAddressVersion").asText("IPv4").equalsIgnoreCase("IPv4")) {
      throw new ArmError(400, "InvalidPublicIpAddressVersion", "only IPv4 public IPs are simulated");
    }
    String prefixId = props.path("publicIPPrefix").path("id").asText("");
    ObjectNode prefix = referencedPrefix(sim, prefixId, id);
    if (existing != null) {
      String was = existing.path("properties").path("publicIPPrefix").path("id").asText("");
      if (!was.equalsIgnoreCase(prefixId)) {
        throw new ArmError(400, "PublicIPPrefixCannotBeChanged", "The public IP prefix of " + id + " cannot change.");
      }
      props.put("ipAddress", existing.path("properties").path("ipAddress").asText());
      if (existing.path("properties").has("ipConfiguration")) {
        props.set("ipConfiguration", existing.path("properties").path("ipConfiguration").deepCopy());
      }
    } else if (prefix != null) {
      props.put("ipAddress", nextFreeAddress(sim, prefix));
    } else {
      props.put("ipAddress", sim.allocatePublicIp());
    }
    if (prefix != null) {
      props.putObject("publicIPPrefix").put("id", prefix.path("id").asText());
    }
    props.put("publicIPAllocationMethod", "Static").put("publicIPAddressVersion", "IPv4").put("provisioningState", "Succeeded");
    pip.put("etag", ArmSimulator.newEtag());
    return pip;
  }

  private static String nextFreeAddress(ArmSimulator sim, ObjectNode prefix) {
    String prefixKey = ArmSimulator.key(prefix.path("id").asText());
    Set<String> taken = new HashSet<>();
    for (ObjectNode r : sim.all()) {
      if (r.path("type").asText().equalsIgnoreCase("Microsoft.Network/publicIPAddresses")
          && ArmSimulator.key(r.path("properties").path("publicIPPrefix").path("id").asText("-")).equals(prefixKey)) {
        taken.add(r.path("properties").path("ipAddress").asText());
      }
    }
    String[] cidr = prefix.path("properties").path("ipPrefix").asText().split("/");
    long base = ArmSimulator.ipToLong(cidr[0]);
    long size = 1L << (32 - Integer.parseInt(cidr[1]));
    for (long i = 0; i < size; i++) {
      String candidate = ArmSimulator.longToIp(base + i);
      if (!taken.contains(candidate)) {
        return candidate;
      }
    }
    throw new ArmError(400, "PublicIpPrefixOutOfIpAddressesForPublicIp",
        "Public IP prefix " + prefix.path("id").asText() + " (/" + cidr[1] + ") has no free address left.");
  }

  static void checkPublicIpUnused(ArmSimulator sim, ObjectNode pip) {
    String usedBy = pip.path("properties").path("ipConfiguration").path("id").asText("");
    if (!usedBy.isEmpty()) {
      throw new ArmError(400, "PublicIPAddressCannotBeDeleted",
          "Public IP address " + pip.path("id").asText() + " can not be deleted since it is still allocated to resource " + usedBy + ".");
    }
  }

  /** A PUT of a resource the simulator only updates: the stored one with the request's tags. */
  private static ObjectNode seededUpdate(ObjectNode in, ObjectNode existing, String kind) {
    if (existing == null) {
      throw new ArmError(400, "OperationNotAllowed", "the simulator does not create " + kind + "; seed them");
    }
    ObjectNode updated = existing.deepCopy();
    if (in.has("tags")) {
      updated.set("tags", in.get("tags"));
    }
    return updated;
  }

  private static void checkSubnetExists(ArmSimulator sim, String subnetId, String referrer) {
    if (sim.stored(subnetId) == null) {
      throw new ArmError(400, "InvalidResourceReference", "Subnet " + subnetId + " referenced by " + referrer + " was not found.");
    }
  }

  /** The prefix {@code prefixId} names, or null where it is empty; a reference to a missing prefix is rejected. */
  private static ObjectNode referencedPrefix(ArmSimulator sim, String prefixId, String referrer) {
    if (prefixId.isEmpty()) {
      return null;
    }
    ObjectNode prefix = sim.stored(prefixId);
    if (prefix == null) {
      throw new ArmError(400, "InvalidResourceReference", "Public IP prefix " + prefixId + " referenced by " + referrer + " was not found.");
    }
    return prefix;
  }

  private static void checkPoolExists(ArmSimulator sim, String poolId, String referrer) {
    int cut = poolId.toLowerCase(Locale.ROOT).indexOf("/backendaddresspools/");
    ObjectNode lb = cut < 0 ? null : sim.stored(poolId.substring(0, cut));
    boolean found = lb != null && lb.path("properties").path("backendAddressPools").findValuesAsText("id").stream()
        .anyMatch(x -> x.equalsIgnoreCase(poolId));
    if (!found) {
      throw new ArmError(400, "InvalidResourceReference", "Backend pool " + poolId + " referenced by " + referrer + " was not found.");
    }
  }

  /** An instance count larger than a prefix referenced by the model cannot get one public IP each. */
  static void checkPrefixCapacity(ArmSimulator sim, ObjectNode vmss, int instances) {
    for (String prefixId : vmss.findValuesAsText("id")) {
      if (ArmSimulator.typeOf(prefixId).equals("microsoft.network/publicipprefixes")) {
        ObjectNode prefix = sim.stored(prefixId);
        int length = prefix == null ? 32 : prefix.path("properties").path("prefixLength").asInt(32);
        long size = 1L << (32 - length);
        if (instances > size) {
          throw new ArmError(400, "PublicIpPrefixOutOfIpAddressesForVMScaleSet",
              "Public IP prefix " + prefixId + " (/" + length + ") has " + size + " addresses; scale set has " + instances + " instances.");
        }
      }
    }
  }

  private static boolean referenced(ArmSimulator sim, String lowerPoolId) {
    for (ObjectNode r : sim.all()) {
      String t = r.path("type").asText();
      if ((t.equalsIgnoreCase("Microsoft.Network/networkInterfaces") || t.equalsIgnoreCase("Microsoft.Compute/virtualMachineScaleSets"))
          && r.toString().toLowerCase(Locale.ROOT).contains("\"" + lowerPoolId + "\"")) {
        return true;
      }
    }
    return false;
  }

  /** The request body with id, name and type set, and location and a Standard sku where it has none. */
  private static ObjectNode fromRequest(ObjectNode in, String id, String type) {
    ObjectNode r = in.deepCopy();
    String[] segs = id.split("/");
    r.put("id", id).put("name", segs[segs.length - 1]).put("type", type);
    if (!r.has("location")) {
      r.put("location", "westeurope");
    }
    if (!r.has("sku")) {
      r.putObject("sku").put("name", "Standard").put("tier", "Regional");
    }
    return r;
  }

  private static ObjectNode props(JsonNode child) {
    ObjectNode c = (ObjectNode) child;
    return c.has("properties") ? (ObjectNode) c.get("properties") : c.putObject("properties");
  }

  /** Gives every child of {@code field} its id; returns the lower-cased ids. */
  private static Set<String> children(ObjectNode props, String field, String parentId) {
    Set<String> ids = new HashSet<>();
    JsonNode arr = props.path(field);
    if (arr instanceof ArrayNode a) {
      for (JsonNode c : a) {
        String cid = parentId + "/" + field + "/" + c.path("name").asText();
        ((ObjectNode) c).put("id", cid);
        ids.add(cid.toLowerCase(Locale.ROOT));
      }
    }
    return ids;
  }

  private static void ref(ObjectNode props, String field, Set<String> ids, String lbId) {
    String target = props.path(field).path("id").asText("");
    if (target.isEmpty() && field.equals("probe")) {
      return;
    }
    if (!ids.contains(target.toLowerCase(Locale.ROOT))) {
      throw new ArmError(400, "InvalidResourceReference", "Resource " + target + " referenced by load balancer " + lbId + " was not found.");
    }
  }
}
