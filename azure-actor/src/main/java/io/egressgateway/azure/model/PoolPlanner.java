package io.egressgateway.azure.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pure diff of a pool: desired configs against one observation. Writes come in dependency order (prefixes,
 * ILB additions, then the members: scale set model and instance rollout, or a VM pool's public IPs and NICs,
 * then deletions). Removals that would break a reference still present in Azure (a backend pool, prefix or
 * public IP an ipConfig still uses) wait for the next round, so a plan never asks ARM for something it
 * rejects; the entity re-observes after each round until nothing is left.
 *
 * <p>Names come from each config's spec ({@link ConfigSpec#ruleName()}, {@link ConfigSpec#ipConfigName()}),
 * so resources the Go original made are adopted under their names. Only the names of configs this pool knows
 * (active, or accepted and being removed) are touched, on a scale set as on a VM pool; ipConfigs of other
 * names stay.
 */
public final class PoolPlanner {
  /** The prefix lengths AKS accepts for a gateway pool's {@code aks-managed-gatewayIPPrefixSize}. */
  public static final int TAG_MIN = 28;
  public static final int TAG_MAX = 31;

  private PoolPlanner() {}

  /** A pool's prefix length for configs that leave it to the pool: the tag's, else the default; or why not. */
  public record PoolLength(int length, boolean fromTag, String error) {}

  public static PoolLength poolLength(String tag, int defaultLength) {
    if (tag == null) {
      return new PoolLength(defaultLength, false, "");
    }
    try {
      int v = Integer.parseInt(tag.trim());
      if (v >= TAG_MIN && v <= TAG_MAX) {
        return new PoolLength(v, true, "");
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    return new PoolLength(0, true, "the pool's tag " + AzureNames.PREFIX_SIZE_TAG + "='" + tag + "' is not a prefix length from "
        + TAG_MIN + " to " + TAG_MAX);
  }

  public static Plan plan(Desired desired, Observed obs) {
    Map<String, String> errors = new TreeMap<>();
    Map<String, Desired.Wanted> serve = new TreeMap<>();
    PoolLength poolLength = poolLength(obs.prefixSizeTag(), desired.defaultPrefixLength());
    for (var e : desired.active().entrySet()) {
      ConfigSpec spec = e.getValue().spec();
      String problem = spec.validationError();
      if (problem.isEmpty() && spec.provisionPublicIps() && spec.prefixLength() == 0) {
        // the pool decides; a managed prefix made earlier keeps its size whatever the tag says now
        Observed.Prefix made = spec.managedPrefix() ? obs.prefixes().get(spec.ipConfigName()) : null;
        problem = made != null ? "" : poolLength.error();
        spec = spec.withPrefixLength(made != null ? made.length() : poolLength.length());
      }
      if (problem.isEmpty()) {
        problem = problem(spec, obs);
      }
      if (problem.isEmpty()) {
        serve.put(e.getKey(), new Desired.Wanted(spec, e.getValue().port()));
      } else {
        errors.put(e.getKey(), problem);
      }
    }
    Set<String> knownRules = new HashSet<>();
    Set<String> knownIpConfigs = new HashSet<>();
    desired.active().values().forEach(w -> {
      knownRules.add(w.spec().ruleName());
      knownIpConfigs.add(w.spec().ipConfigName());
    });
    desired.removing().values().forEach(s -> {
      knownRules.add(s.ruleName());
      knownIpConfigs.add(s.ipConfigName());
    });

    List<ArmAction> actions = new ArrayList<>();
    // 1. managed prefixes
    Map<String, String> wantIpConfigs = new TreeMap<>();
    for (var w : serve.values()) {
      ConfigSpec spec = w.spec();
      String name = spec.ipConfigName();
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
    boolean membersInPool = obs.instances().stream().anyMatch(Observed.Instance::primaryInPool)
        || !obs.vmPool() && obs.scaleSet().primaryInPool();
    boolean wantPoolSection = !serve.isEmpty() || membersInPool;
    Map<String, Integer> wantRules = new TreeMap<>();
    Map<String, String> probeUids = new TreeMap<>();
    serve.values().forEach(w -> {
      wantRules.put(w.spec().ruleName(), w.port());
      probeUids.put(w.spec().ruleName(), w.spec().uid());
    });
    Set<String> removeRules = new HashSet<>();
    if (lb != null) {
      for (String rule : lb.rules().keySet()) {
        if (knownRules.contains(rule) && !wantRules.containsKey(rule)) {
          removeRules.add(rule);
        }
      }
      for (String probe : lb.probes().keySet()) {
        if (knownRules.contains(probe) && !wantRules.containsKey(probe)) {
          removeRules.add(probe);
        }
      }
    }
    boolean lbMatches = lb == null
        ? !wantPoolSection && wantRules.isEmpty()
        : lb.hasFrontend() == wantPoolSection && lb.hasBackendPool() == wantPoolSection && removeRules.isEmpty()
            && wantRules.entrySet().stream().allMatch(r -> r.getValue().equals(lb.rules().get(r.getKey()))
                && (AzureNames.PROBE_PATH + probeUids.get(r.getKey())).equals(lb.probes().get(r.getKey())));
    boolean lbEmptyAfter = lb != null && !wantPoolSection && lb.frontendCount() <= (lb.hasFrontend() ? 1 : 0)
        && lb.ruleCount() - removeRules.stream().filter(lb.rules()::containsKey).count() <= 0;
    ArmAction lbWrite = null;
    if (!lbMatches) {
      lbWrite = lbEmptyAfter ? new ArmAction.DeleteLb() : new ArmAction.WriteLb(wantPoolSection, wantRules, probeUids, removeRules);
    }
    // an ILB write that keeps the pool section goes before the members (they may need what it adds; rules
    // it drops are referenced by nothing); one that drops the section or the ILB waits for them to let go
    boolean lbFirst = lbWrite instanceof ArmAction.WriteLb w && w.poolSection();
    if (lbFirst) {
      actions.add(lbWrite);
    }

    // 3. members
    boolean wantInPool = !serve.isEmpty();
    Set<String> wantedPublicIps = new HashSet<>();
    if (obs.vmPool()) {
      planNics(desired, obs, wantIpConfigs, knownIpConfigs, wantInPool, actions, wantedPublicIps);
    } else {
      planScaleSet(obs, wantIpConfigs, knownIpConfigs, wantInPool, actions);
    }

    // 4. deletions, only once nothing references what goes
    boolean membersSettled = actions.stream().noneMatch(a -> a instanceof ArmAction.WriteModel || a instanceof ArmAction.Rollout
        || a instanceof ArmAction.WriteNic || a instanceof ArmAction.CreatePublicIp);
    Set<String> stillReferenced = new HashSet<>();
    if (!obs.vmPool()) {
      stillReferenced.addAll(obs.scaleSet().egressIpConfigs().keySet());
    }
    obs.instances().forEach(i -> stillReferenced.addAll(i.egressIps().keySet()));
    Set<String> heldPublicIps = heldPublicIps(obs);
    for (ConfigSpec spec : desired.removing().values()) {
      for (Observed.PublicIp pip : publicIpsOf(spec, obs)) {
        String key = pip.name().toLowerCase(Locale.ROOT);
        if (!heldPublicIps.contains(pip.id().toLowerCase(Locale.ROOT)) && pip.ipConfigId().isEmpty() && !wantedPublicIps.contains(key)) {
          actions.add(new ArmAction.DeletePublicIp(pip.name()));
        }
      }
    }
    for (ConfigSpec spec : desired.removing().values()) {
      String name = spec.ipConfigName();
      Observed.Prefix prefix = obs.prefixes().get(name);
      if (prefix != null && !stillReferenced.contains(name) && !wantIpConfigs.containsKey(name) && !hasPublicIps(prefix.id(), obs)) {
        actions.add(new ArmAction.DeletePrefix(name));
      }
    }
    if (lbWrite != null && !lbFirst && membersSettled) {
      actions.add(lbWrite);
    }

    Map<String, ConfigResult> ready = new LinkedHashMap<>();
    Set<String> removed = new HashSet<>();
    if (actions.isEmpty()) {
      serve.forEach((uid, w) -> ready.put(uid, result(w, obs, lb)));
      desired.removing().forEach((uid, spec) -> {
        String name = spec.ipConfigName();
        boolean gone = !obs.prefixes().containsKey(name) && !stillReferenced.contains(name) && publicIpsOf(spec, obs).isEmpty()
            && (lb == null || !lb.rules().containsKey(spec.ruleName()) && !lb.probes().containsKey(spec.ruleName()));
        if (gone) {
          removed.add(uid);
        }
      });
    }
    return new Plan(List.copyOf(actions), errors, ready, removed);
  }

  /**
   * A scale set pool: one model write when its ipConfigs of known names or its pool membership differ, then
   * one rollout of the instances that do not match. As on a VM pool, ipConfigs of names this pool does not
   * know (a Go config not ensured yet during a migration, another installation's) are neither compared nor
   * dropped.
   */
  private static void planScaleSet(Observed obs, Map<String, String> wantIpConfigs, Set<String> knownIpConfigs, boolean wantInPool,
                                   List<ArmAction> actions) {
    Map<String, String> have = new TreeMap<>(obs.scaleSet().egressIpConfigs());
    have.keySet().retainAll(knownIpConfigs);
    if (!sameIpConfigs(have, wantIpConfigs) || obs.scaleSet().primaryInPool() != wantInPool) {
      Set<String> drop = new HashSet<>(have.keySet());
      drop.removeAll(wantIpConfigs.keySet());
      actions.add(new ArmAction.WriteModel(wantIpConfigs, Set.copyOf(drop), wantInPool));
    }
    List<String> stale = obs.instances().stream()
        .filter(i -> !i.latestModelApplied() || !known(i.egressIps().keySet(), knownIpConfigs).equals(wantIpConfigs.keySet())
            || i.primaryInPool() != wantInPool || wantIpConfigs.keySet().stream().anyMatch(n -> i.egressIps().getOrDefault(n, "").isEmpty()))
        .map(Observed.Instance::instanceId).sorted().toList();
    if (!stale.isEmpty()) {
      actions.add(new ArmAction.Rollout(stale));
    }
  }

  /**
   * A VM pool: per NIC and public config, a public IP from the config's prefix (created only when missing),
   * then one write per NIC whose ipConfigs of known names, public IPs or pool membership differ.
   */
  private static void planNics(Desired desired, Observed obs, Map<String, String> wantIpConfigs, Set<String> knownIpConfigs,
                               boolean wantInPool, List<ArmAction> actions, Set<String> wantedPublicIps) {
    List<ArmAction> nicWrites = new ArrayList<>();
    for (Observed.Instance nic : obs.instances().stream().sorted(Comparator.comparing(Observed.Instance::instanceId)).toList()) {
      Map<String, String> want = new TreeMap<>();
      for (var e : wantIpConfigs.entrySet()) {
        String pipId = "";
        if (!e.getValue().isEmpty()) {
          String pipName = AzureNames.publicIpName(AzureNames.nameOf(e.getValue()), nic.instanceId());
          String key = pipName.toLowerCase(Locale.ROOT);
          wantedPublicIps.add(key);
          Observed.PublicIp pip = obs.publicIps().get(key);
          if (pip == null) {
            actions.add(new ArmAction.CreatePublicIp(uidOf(desired, e.getKey()), pipName, e.getValue()));
            pipId = desired.publicIpIdBase() + pipName;
          } else {
            pipId = pip.id();
          }
        }
        want.put(e.getKey(), pipId);
      }
      Map<String, String> have = new TreeMap<>();
      nic.egressIps().forEach((name, ip) -> {
        if (knownIpConfigs.contains(name)) {
          have.put(name, nic.egressPublicIps().getOrDefault(name, ""));
        }
      });
      boolean differs = !nic.latestModelApplied() || nic.primaryInPool() != wantInPool || !sameIpConfigs(have, want)
          || want.keySet().stream().anyMatch(n -> nic.egressIps().getOrDefault(n, "").isEmpty());
      if (differs) {
        Set<String> drop = new HashSet<>(have.keySet());
        drop.removeAll(want.keySet());
        nicWrites.add(new ArmAction.WriteNic(nic.instanceId(), want, Set.copyOf(drop), wantInPool));
      }
    }
    actions.addAll(nicWrites);
  }

  private static Set<String> known(Set<String> names, Set<String> knownIpConfigs) {
    Set<String> out = new HashSet<>(names);
    out.retainAll(knownIpConfigs);
    return out;
  }

  private static String uidOf(Desired desired, String ipConfigName) {
    return desired.active().values().stream().filter(w -> w.spec().ipConfigName().equals(ipConfigName))
        .map(w -> w.spec().uid()).findFirst().orElse("");
  }

  /** Public IP ids an ipConfig of the pool's NICs holds. */
  private static Set<String> heldPublicIps(Observed obs) {
    Set<String> held = new HashSet<>();
    obs.instances().forEach(i -> i.egressPublicIps().values().forEach(id -> held.add(id.toLowerCase(Locale.ROOT))));
    return held;
  }

  /** A config's per-NIC public IPs: in its prefix and named after that prefix. */
  private static List<Observed.PublicIp> publicIpsOf(ConfigSpec spec, Observed obs) {
    String prefixId;
    if (spec.managedPrefix()) {
      Observed.Prefix p = obs.prefixes().get(spec.ipConfigName());
      prefixId = p == null ? "" : p.id();
    } else {
      prefixId = spec.byoPrefixId();
    }
    if (prefixId.isEmpty()) {
      return List.of();
    }
    String stem = AzureNames.nameOf(prefixId).toLowerCase(Locale.ROOT) + "-";
    return obs.publicIps().values().stream()
        .filter(p -> p.prefixId().equalsIgnoreCase(prefixId) && p.name().toLowerCase(Locale.ROOT).startsWith(stem))
        .sorted(Comparator.comparing(Observed.PublicIp::name)).toList();
  }

  private static boolean hasPublicIps(String prefixId, Observed obs) {
    return obs.publicIps().values().stream().anyMatch(p -> p.prefixId().equalsIgnoreCase(prefixId));
  }

  /** Why a config cannot be provisioned on this pool as observed; empty when it can. */
  static String problem(ConfigSpec spec, Observed obs) {
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
      Observed.Prefix existing = obs.prefixes().get(spec.ipConfigName());
      if (existing != null && existing.length() != length) {
        return "prefix " + existing.name() + " exists as /" + existing.length() + " and cannot become /" + length;
      }
    }
    int members = obs.instances().size();
    long size = 1L << (32 - length);
    if (members > size) {
      return "a /" + length + " prefix has " + size + " addresses but the pool has " + members + (obs.vmPool() ? " gateway NICs" : " instances");
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
    String name = spec.ipConfigName();
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

  /**
   * Ports to take over from rules the Go original made: an active config named by a legacy rule whose rule
   * exists on this pool with another port that no other active config holds keeps that port (uid to port), so
   * its clients see no change.
   */
  public static Map<String, Integer> adoptablePorts(Desired desired, Observed obs, Set<String> candidates) {
    Map<String, Integer> out = new HashMap<>();
    if (obs.lb() == null) {
      return out;
    }
    Set<Integer> held = new HashSet<>();
    desired.active().values().forEach(w -> held.add(w.port()));
    for (var e : desired.active().entrySet()) {
      ConfigSpec spec = e.getValue().spec();
      Integer existing = obs.lb().rules().get(spec.ruleName());
      if (candidates.contains(e.getKey()) && !spec.legacyRuleName().isEmpty() && existing != null
          && existing != e.getValue().port() && !held.contains(existing) && !out.containsValue(existing)) {
        out.put(e.getKey(), existing);
      }
    }
    return out;
  }
}
