package io.egressgateway.azure.model;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** One ARM write the planner asks for. {@link #target()} names it in intents and logs. */
public sealed interface ArmAction {
  String target();

  /** PUT a managed Standard IPv4 prefix named {@code egressgateway-<uid>}. */
  record CreatePrefix(String uid, String name, int length) implements ArmAction {
    public String target() {
      return "prefix/" + name;
    }
  }

  /** DELETE a managed prefix no ipConfig references any more. */
  record DeletePrefix(String name) implements ArmAction {
    public String target() {
      return "prefix/" + name;
    }
  }

  /**
   * Read-modify-write of the shared ILB: this pool's frontend and backend pool present or not, the rules and
   * probes of {@code rules} (rule name to port) present, with the probe path of {@code probeUids} (rule name to
   * the config uid in {@code /gw/<uid>}), those of {@code removeRules} gone; everything else kept.
   */
  record WriteLb(boolean poolSection, Map<String, Integer> rules, Map<String, String> probeUids, Set<String> removeRules)
      implements ArmAction {
    /** Rules named by their config uid (ours). */
    public WriteLb(boolean poolSection, Map<String, Integer> rules, Set<String> removeRules) {
      this(poolSection, rules, identity(rules.keySet()), removeRules);
    }

    private static Map<String, String> identity(Set<String> names) {
      Map<String, String> m = new java.util.TreeMap<>();
      names.forEach(n -> m.put(n, n));
      return m;
    }

    public String target() {
      return "lb";
    }
  }

  /** DELETE the ILB: nothing of anyone is left on it. */
  record DeleteLb() implements ArmAction {
    public String target() {
      return "lb";
    }
  }

  /**
   * Read-modify-write of the scale set model: these egress ipConfigs (name to prefix id, "" for none) present
   * as given, the names in {@code drop} gone, other ipConfigs kept; the primary ipConfig in the pool's backend
   * pool or not.
   */
  record WriteModel(Map<String, String> egressIpConfigs, Set<String> drop, boolean primaryInPool) implements ArmAction {
    public String target() {
      return "vmss-model";
    }
  }

  /** Bring these instances to the latest model, in one call. */
  record Rollout(List<String> instanceIds) implements ArmAction {
    public String target() {
      return "vmss-instances";
    }
  }

  /** PUT a Standard static public IP from a prefix, for one VM-pool NIC of config {@code uid}. */
  record CreatePublicIp(String uid, String name, String prefixId) implements ArmAction {
    public String target() {
      return "pip/" + name;
    }
  }

  /** DELETE a per-NIC public IP no ipConfig holds any more. */
  record DeletePublicIp(String name) implements ArmAction {
    public String target() {
      return "pip/" + name;
    }
  }

  /**
   * Read-modify-write of one VM-pool NIC: exactly these egress ipConfigs (name to public IP id, "" for none)
   * among the pool's names, the names in {@code drop} gone, other ipConfigs kept; the primary ipConfig in the
   * pool's backend pool or not.
   */
  record WriteNic(String nic, Map<String, String> egressIpConfigs, Set<String> drop, boolean primaryInPool) implements ArmAction {
    public String target() {
      return "nic/" + nic;
    }
  }
}
