package io.egressgateway.azure.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pure diff of a pool: desired configs against one observation. Writes come in dependency order (prefixes,
 * ILB additions, scale set model, instance rollout, then deletions). Removals that would break a reference
 * still present in Azure (a backend pool or prefix an ipConfig still uses) wait for the next round, so a
 * plan never asks ARM for something it rejects; the entity re-observes after each round until nothing is left.
 */
public final class PoolPlanner {
  private PoolPlanner() {}

  public static Plan plan(Desired desired, Observed obs) {
    Map<String, String> errors = new TreeMap<>();
    Map<String, Desired.Wanted> serve = new TreeMap<>();
    int instances = obs.instances().size();
    for (var e : desired.active().entrySet()) {
      String problem = problem(e.getValue().spec(), obs, instances);
      if (problem.isEmpty()) {
        serve.put(e.getKey(), e.getValue());
      } else {
        errors.put(e.getKey(), problem);
      }
    }
    Set<String> known = new HashSet<>(desired.active().keySet());
    known.addAll(desired.removing());

    List<ArmAction> actions = new ArrayList<>();
    // 1. managed prefixes
    Map<String, String> wantIpConfigs = new TreeMap<>();
    for (var w : serve.values()) {
      ConfigSpec spec = w.spec();
      String name = AzureNames.forConfig(spec.uid());
      String prefixId = "";
      if (spec.managedPrefix()) {
        Observed.Prefix p = obs.prefixes().get(name);
        if (p == null) {
          actions.add(new ArmAction.CreatePrefix(spec.uid(), name, spec.prefixLength()));
          prefixId = desired.prefixIdBase() + name;
        } else {
          prefixId = p.id();
        }
      } else if (spec.provisionPublicIps()) {
        prefixId = obs.byoPrefixes().get(spec.byoPrefixId().toLowerCase(Locale.ROOT)).id();
      }
      wantIpConfigs.put(name, prefixId);
    }

    // 2. the ILB: keep the pool section while anything still references the backend pool
    Observed.Lb lb = obs.lb();
    boolean modelInPool = obs.scaleSet().primaryInPool() || obs.instances().stream().anyMatch(Observed.Instance::primaryInPool);
    boolean wantPoolSection = !serve.isEmpty() || modelInPool;
    Map<String, Integer> wantRules = new TreeMap<>();
    serve.forEach((uid, w) -> wantRules.put(uid, w.port()));
    Set<String> removeRules = new HashSet<>();
    if (lb != null) {
      for (String rule : lb.rules().keySet()) {
        if (known.contains(rule) && !wantRules.containsKey(rule)) {
          removeRules.add(rule);
        }
      }
      for (String probe : lb.probes().keySet()) {
        if (known.contains(probe) && !wantRules.containsKey(probe)) {
          removeRules.add(probe);
        }
      }
    }
    boolean lbMatches = lb == null
        ? !wantPoolSection && wantRules.isEmpty()
        : lb.hasFrontend() == wantPoolSection && lb.hasBackendPool() == wantPoolSection && removeRules.isEmpty()
            && wantRules.entrySet().stream().allMatch(r -> r.getValue().equals(lb.rules().get(r.getKey()))
                && lb.probes().containsKey(r.getKey()));
    boolean lbEmptyAfter = lb != null && !wantPoolSection && lb.frontendCount() <= (lb.hasFrontend() ? 1 : 0)
        && lb.ruleCount() - removeRules.stream().filter(lb.rules()::containsKey).count() <= 0;
    ArmAction lbWrite = null;
    if (!lbMatches) {
      lbWrite = lbEmptyAfter ? new ArmAction.DeleteLb() : new ArmAction.WriteLb(wantPoolSection, wantRules, removeRules);
    }
    // an ILB write that keeps the pool section goes before the model (the model may need what it adds; rules
    // it drops are referenced by nothing); one that drops the section or the ILB waits for the model to let go
    boolean lbFirst = lbWrite instanceof ArmAction.WriteLb w && w.poolSection();
    if (lbFirst) {
      actions.add(lbWrite);
    }

    // 3. scale set model and instances
    boolean wantInPool = !serve.isEmpty();
    if (!sameIpConfigs(obs.scaleSet().egressIpConfigs(), wantIpConfigs) || obs.scaleSet().primaryInPool() != wantInPool) {
      actions.add(new ArmAction.WriteModel(wantIpConfigs, wantInPool));
    }
    List<String> stale = obs.instances().stream()
        .filter(i -> !i.latestModelApplied() || !i.egressIps().keySet().equals(wantIpConfigs.keySet())
            || i.primaryInPool() != wantInPool || i.egressIps().values().stream().anyMatch(String::isEmpty))
        .map(Observed.Instance::instanceId).sorted().toList();
    if (!stale.isEmpty()) {
      actions.add(new ArmAction.Rollout(stale));
    }

    // 4. deletions, only once nothing references what goes
    boolean modelSettled = actions.stream().noneMatch(a -> a instanceof ArmAction.WriteModel || a instanceof ArmAction.Rollout);
    Set<String> stillReferenced = new HashSet<>(obs.scaleSet().egressIpConfigs().keySet());
    obs.instances().forEach(i -> stillReferenced.addAll(i.egressIps().keySet()));
    for (String uid : desired.removing()) {
      String name = AzureNames.forConfig(uid);
      if (obs.prefixes().containsKey(name) && !stillReferenced.contains(name) && !wantIpConfigs.containsKey(name)) {
        actions.add(new ArmAction.DeletePrefix(name));
      }
    }
    if (lbWrite != null && !lbFirst && modelSettled) {
      actions.add(lbWrite);
    }

    Map<String, ConfigResult> ready = new LinkedHashMap<>();
    Set<String> removed = new HashSet<>();
    if (actions.isEmpty()) {
      serve.forEach((uid, w) -> ready.put(uid, result(w, obs, lb)));
      for (String uid : desired.removing()) {
        String name = AzureNames.forConfig(uid);
        boolean gone = !obs.prefixes().containsKey(name) && !stillReferenced.contains(name)
            && (lb == null || !lb.rules().containsKey(uid) && !lb.probes().containsKey(uid));
        if (gone) {
          removed.add(uid);
        }
      }
    }
    return new Plan(List.copyOf(actions), errors, ready, removed);
  }

  /** Why a config cannot be provisioned on this pool as observed; empty when it can. */
  static String problem(ConfigSpec spec, Observed obs, int instances) {
    String invalid = spec.validationError();
    if (!invalid.isEmpty()) {
      return invalid;
    }
    if (!spec.provisionPublicIps()) {
      return "";
    }
    int length = spec.prefixLength();
    if (!spec.byoPrefixId().isEmpty()) {
      Observed.Prefix byo = obs.byoPrefixes().get(spec.byoPrefixId().toLowerCase(Locale.ROOT));
      if (byo == null) {
        return "public IP prefix " + spec.byoPrefixId() + " does not exist";
      }
      if (byo.length() != length) {
        return "public IP prefix " + spec.byoPrefixId() + " is /" + byo.length() + ", the config asks for /" + length;
      }
    } else {
      Observed.Prefix existing = obs.prefixes().get(AzureNames.forConfig(spec.uid()));
      if (existing != null && existing.length() != length) {
        return "prefix " + existing.name() + " exists as /" + existing.length() + " and cannot become /" + length;
      }
    }
    long size = 1L << (32 - length);
    if (instances > size) {
      return "a /" + length + " prefix has " + size + " addresses but the pool has " + instances + " instances";
    }
    return "";
  }

  private static boolean sameIpConfigs(Map<String, String> a, Map<String, String> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    return a.entrySet().stream().allMatch(e -> e.getValue().equalsIgnoreCase(b.get(e.getKey())));
  }

  private static ConfigResult result(Desired.Wanted w, Observed obs, Observed.Lb lb) {
    ConfigSpec spec = w.spec();
    String name = AzureNames.forConfig(spec.uid());
    List<NodeAddress> nodes = obs.instances().stream()
        .sorted(Comparator.comparing(Observed.Instance::computerName))
        .map(i -> new NodeAddress(i.computerName(), i.primaryIp(), i.egressIps().get(name)))
        .toList();
    String prefix;
    String prefixId;
    if (!spec.provisionPublicIps()) {
      prefix = String.join(",", nodes.stream().map(NodeAddress::secondaryIp).toList());
      prefixId = "";
    } else {
      Observed.Prefix p = spec.managedPrefix() ? obs.prefixes().get(name)
          : obs.byoPrefixes().get(spec.byoPrefixId().toLowerCase(Locale.ROOT));
      prefix = p.cidr();
      prefixId = p.id();
    }
    return new ConfigResult(spec.configKey(), spec.uid(), lb.frontendIp(), w.port(), prefix, prefixId, nodes);
  }

  /** The lowest port in [min, max] not in {@code taken}, or -1. */
  public static int lowestFreePort(Set<Integer> taken, int min, int max) {
    for (int p = min; p <= max; p++) {
      if (!taken.contains(p)) {
        return p;
      }
    }
    return -1;
  }

  /** Observed ports of rules this entity does not know, so adopted or foreign rules on the pool are not reused. */
  public static Set<Integer> observedPorts(Observed obs) {
    return obs.lb() == null ? Set.of() : new HashSet<>(obs.lb().rules().values());
  }
}
