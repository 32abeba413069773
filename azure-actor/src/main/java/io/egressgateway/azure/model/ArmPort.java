package io.egressgateway.azure.model;

import java.util.Set;

/**
 * The pool's view of Azure Resource Manager. Both methods block; callers run them off actor threads.
 * Implementations: the SDK adapter and an in-memory fake for tests.
 */
public interface ArmPort {
  /** Reads the pool's state; {@code byoPrefixIds} are the BYO prefixes to look up. */
  Observed observe(PoolRef pool, Set<String> byoPrefixIds);

  /** Performs one write; throws {@link ArmFailure}. A delete of something already gone succeeds. */
  void execute(PoolRef pool, ArmAction action);
}
