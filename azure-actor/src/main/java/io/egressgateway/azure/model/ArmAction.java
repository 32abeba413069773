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
   * probes of {@code rules} (uid to port) present, those of {@code removeRules} gone; everything else kept.
   */
  record WriteLb(boolean poolSection, Map<String, Integer> rules, Set<String> removeRules) implements ArmAction {
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

  /** PUT the scale set model with exactly these egress ipConfigs (name to prefix id) and pool membership. */
  record WriteModel(Map<String, String> egressIpConfigs, boolean primaryInPool) implements ArmAction {
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
}
