package io.egressgateway.core;

import java.util.Optional;
import java.util.Set;

/**
 * Cluster roles. A member carries any mix of the three functional roles plus exactly one
 * {@code node:<name>} role naming the Kubernetes node it runs on; node-pinned sharding uses the latter.
 */
public final class Roles {
  public static final String CONTROLLER = "controller";
  public static final String GATEWAY = "gateway";
  public static final String WORKER = "worker";
  public static final Set<String> FUNCTIONAL = Set.of(CONTROLLER, GATEWAY, WORKER);

  private static final String NODE_PREFIX = "node:";

  private Roles() {}

  /** The role that marks a member as running on Kubernetes node {@code nodeName}. */
  public static String nodeRole(String nodeName) {
    return NODE_PREFIX + nodeName;
  }

  /** The node name carried by a member's roles, if any. */
  public static Optional<String> nodeOf(Set<String> roles) {
    return roles.stream()
        .filter(r -> r.startsWith(NODE_PREFIX))
        .map(r -> r.substring(NODE_PREFIX.length()))
        .findFirst();
  }
}
