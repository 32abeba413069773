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
    ObjectNode lb = in.deepCopy();
    base(lb, id, "Microsoft.Network/loadBalancers");
    if (!lb.has("sku")) {
      lb.putObject("sku").put("name", "Standard").put("tier", "Regional");
    }
    ObjectNode props = lb.has("properties") ? (ObjectNode) lb.get("properties") : lb.putObject("properties");
    Map<String, String> oldIps = new HashMap<>();
    if (existing != null) {
      existing.path("properties").path("frontendIPConfigurations").forEach(f ->
          oldIps.put(f.path("name").asText().toLowerCase(Locale.ROOT), f.path("properties").path("privateIPAddress").asText()));
    }
    Set<String> frontends = children(props, "frontendIPConfigurations", id);
    for (JsonNode f : props.path("frontendIPConfigurations")) {
      ObjectNode fp = props(f);
      String subnetId = fp.path("subnet").path("id").asText("");
      if (sim.stored(subnetId) == null) {
        throw new ArmError(400, "InvalidResourceReference", "Subnet " + subnetId + " referenced by load balancer " + id + " was not found.");
      }
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
    ObjectNode p = in.deepCopy();
    base(p, id, "Microsoft.Network/publicIPPrefixes");
    if (!p.has("sku")) {
      p.putObject("sku").put("name", "Standard").put("tier", "Regional");
    }
    ObjectNode props = p.has("properties") ? (ObjectNode) p.get("properties") : p.putObject("properties");
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
    if (existing == null) {
      throw new ArmError(400, "OperationNotAllowed", "the simulator does not create scale sets; seed them");
    }
    ObjectNode vmss = existing.deepCopy();
    if (in.has("tags")) {
      vmss.set("tags", in.get("tags"));
    }
    JsonNode newNet = in.path("properties").path("virtualMachineProfile").path("networkProfile");
    JsonNode oldNet = existing.path("properties").path("virtualMachineProfile").path("networkProfile");
    boolean netChanged = !newNet.isMissingNode() && !newNet.equals(oldNet);
    if (netChanged) {
      ((ObjectNode) vmss.with("properties").with("virtualMachineProfile")).set("networkProfile", newNet.deepCopy());
    }
    for (JsonNode nicConfig : vmss.path("properties").path("virtualMachineProfile").path("networkProfile").path("networkInterfaceConfigurations")) {
      for (JsonNode c : nicConfig.path("properties").path("ipConfigurations")) {
        JsonNode cp = c.path("properties");
        String subnetId = cp.path("subnet").path("id").asText("");
        if (sim.stored(subnetId) == null) {
          throw new ArmError(400, "InvalidResourceReference", "Subnet " + subnetId + " referenced by " + id + " was not found.");
        }
        String prefixId = cp.path("publicIPAddressConfiguration").path("properties").path("publicIPPrefix").path("id").asText("");
        if (!prefixId.isEmpty() && sim.stored(prefixId) == null) {
          throw new ArmError(400, "InvalidResourceReference", "Public IP prefix " + prefixId + " referenced by " + id + " was not found.");
        }
        for (JsonNode pool : cp.path("loadBalancerBackendAddressPools")) {
          String poolId = pool.path("id").asText();
          int cut = poolId.toLowerCase(Locale.ROOT).indexOf("/backendaddresspools/");
          ObjectNode lb = cut < 0 ? null : sim.stored(poolId.substring(0, cut));
          boolean found = lb != null && lb.path("properties").path("backendAddressPools").findValuesAsText("id").stream()
              .anyMatch(x -> x.equalsIgnoreCase(poolId));
          if (!found) {
            throw new ArmError(400, "InvalidResourceReference", "Backend pool " + poolId + " referenced by " + id + " was not found.");
          }
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

  private static void base(ObjectNode r, String id, String type) {
    String[] segs = id.split("/");
    r.put("id", id).put("name", segs[segs.length - 1]).put("type", type);
    if (!r.has("location")) {
      r.put("location", "westeurope");
    }
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
