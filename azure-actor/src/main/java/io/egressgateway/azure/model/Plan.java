package io.egressgateway.azure.model;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The planner's answer: writes to make (in this order), configs that cannot be served (uid to reason),
 * configs fully provisioned (only when there is nothing to write) and removals that are complete.
 */
public record Plan(List<ArmAction> actions, Map<String, String> errors, Map<String, ConfigResult> ready, Set<String> removed) {
  public boolean converged() {
    return actions.isEmpty();
  }
}
