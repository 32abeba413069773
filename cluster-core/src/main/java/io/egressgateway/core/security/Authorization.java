package io.egressgateway.core.security;

import io.egressgateway.core.Roles;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What each role may send to another member, decided on the receiving side from the signer's certificate.
 *
 * <ul>
 *   <li>Peer requests to gateways ({@code AddPeer}, {@code RemovePeer}, {@code PeersOfNode}): workers only, each
 *       for its own node: the node the request names must be the node the certificate names, or, for a
 *       certificate that names none, the node the request's {@link NodeProof} names (required when
 *       {@link NodeProofs#required}); and every pod address in it must lie inside that node's pod CIDRs
 *       ({@link PodCidrs}).</li>
 *   <li>A member's proof of its roles ({@link RoleAttestation.Proof}): the certificate must hold each role it
 *       joined with (see {@link #requireClaimedRoles}).</li>
 *   <li>Every other protected message: the roles listed for its class, or for the nearest interface it
 *       implements, under {@code egress.security.allowed-roles}. A protected class without a rule is refused.</li>
 * </ul>
 */
public final class Authorization {
  private final Map<String, Set<String>> allowedRoles;
  private final PodCidrs podCidrs;
  private final NodeProofs nodeProofs;

  public Authorization(Map<String, List<String>> allowedRoles, PodCidrs podCidrs) {
    this(allowedRoles, podCidrs, new NodeProofs(false, "", List.of(), java.time.Clock.systemUTC()));
  }

  public Authorization(Map<String, List<String>> allowedRoles, PodCidrs podCidrs, NodeProofs nodeProofs) {
    this.nodeProofs = nodeProofs;
    this.allowedRoles = Map.copyOf(allowedRoles.entrySet().stream()
        .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> Set.copyOf(e.getValue()))));
    this.podCidrs = podCidrs;
  }

  /** The rules under {@code egress.security.allowed-roles} of {@code config}. */
  public static Authorization fromConfig(com.typesafe.config.Config config, PodCidrs podCidrs) {
    return fromConfig(config, podCidrs, new NodeProofs(false, "", List.of(), java.time.Clock.systemUTC()));
  }

  /** The same, with node proofs checked by {@code nodeProofs}. */
  public static Authorization fromConfig(com.typesafe.config.Config config, PodCidrs podCidrs, NodeProofs nodeProofs) {
    com.typesafe.config.Config roles = config.getConfig("egress.security.allowed-roles");
    Map<String, List<String>> rules = new java.util.HashMap<>();
    roles.root().keySet().forEach(k -> rules.put(k, roles.getStringList("\"" + k + "\"")));
    return new Authorization(rules, podCidrs, nodeProofs);
  }

  /** Returns normally if {@code signer} may send {@code message}; otherwise says why not. */
  public void check(Principal signer, Object message) throws Refused {
    String kind = message.getClass().getSimpleName();
    if (message instanceof GatewayNodeProtocol.AddPeer m) {
      requireOwnNode(signer, kind, m.node(), m.proof());
      requireOwnPod(signer, kind, m.node(), m.allowedIp());
    } else if (message instanceof GatewayNodeProtocol.RemovePeer m) {
      requireOwnNode(signer, kind, m.node(), m.proof());
    } else if (message instanceof GatewayNodeProtocol.PeersOfNode m) {
      requireOwnNode(signer, kind, m.node(), m.proof());
      for (String ip : m.peers().values()) {
        requireOwnPod(signer, kind, m.node(), ip);
      }
    } else if (message instanceof RoleAttestation.Proof m) {
      requireClaimedRoles(signer, kind, m);
    } else {
      Set<String> roles = rolesFor(message.getClass());
      if (roles == null) {
        throw new Refused(kind, signer, "no role may send " + message.getClass().getName());
      }
      if (signer.roles().stream().noneMatch(roles::contains)) {
        throw new Refused(kind, signer, "only " + roles + " may send it");
      }
    }
  }

  private void requireOwnNode(Principal signer, String kind, String claimed, NodeProof proof) throws Refused {
    if (!signer.hasRole(Roles.WORKER)) {
      throw new Refused(kind, signer, "only workers ask gateways for peers");
    }
    if (claimed == null || claimed.isEmpty()) {
      throw new Refused(kind, signer, "the request names no node");
    }
    requireProvenNode(signer, kind, "asks for", claimed, proof);
  }

  /**
   * {@code node}, which the message claims ({@code claim}: how, for the refusal), must be the node the signer's
   * certificate names, or, for a certificate naming none, the node of a valid node proof where node proofs are
   * required; elsewhere it is taken as it is.
   */
  private void requireProvenNode(Principal signer, String kind, String claim, String node, NodeProof proof) throws Refused {
    if (signer.node().isPresent()) {
      if (!signer.node().get().equals(node)) {
        throw new Refused(kind, signer, claim + " node " + node + " with the certificate of node " + signer.node().get());
      }
      return;
    }
    if (!nodeProofs.required()) {
      return;
    }
    String proven;
    try {
      proven = nodeProofs.nodeOf(proof);
    } catch (IllegalArgumentException e) {
      throw new Refused(kind, signer, claim + " node " + node + " without a valid node proof: " + e.getMessage());
    }
    if (!proven.equals(node)) {
      throw new Refused(kind, signer, claim + " node " + node + " with the node proof of node " + proven);
    }
  }

  /**
   * A member's proof of the roles it joined with: its certificate must hold every functional role listed; a
   * node role must be the node its certificate names, or (a certificate naming none) the node of a valid node
   * proof where node proofs are required; elsewhere a node role is taken as it is.
   */
  private void requireClaimedRoles(Principal signer, String kind, RoleAttestation.Proof m) throws Refused {
    for (String role : m.roles()) {
      java.util.Optional<String> node = Roles.nodeOf(Set.of(role));
      if (node.isEmpty()) {
        if (!signer.hasRole(role)) {
          throw new Refused(kind, signer, "joined with role " + role + ", which its certificate does not name");
        }
      } else {
        requireProvenNode(signer, kind, "joined as", node.get(), m.nodeProof());
      }
    }
  }

  private void requireOwnPod(Principal signer, String kind, String node, String address) throws Refused {
    java.util.Optional<List<String>> cidrs = podCidrs.of(node); // looked up once: a cache read and a copy
    if (cidrs.isEmpty() && !podCidrs.listed()) {
      throw new Refused.NotYet(kind, signer, "the pod CIDRs of node " + node + " are not known yet (the nodes are not listed yet)");
    }
    if (cidrs.isEmpty() || !PodCidrs.insideAny(address, cidrs.get())) {
      throw new Refused(kind, signer, "address " + address + " is not in the pod CIDRs of node " + node
          + " " + cidrs.map(Object::toString).orElse("(unknown)"));
    }
  }

  /** The roles of the most specific rule for {@code type}: itself, its superclasses, then its interfaces. */
  private Set<String> rolesFor(Class<?> type) {
    Deque<Class<?>> queue = new ArrayDeque<>();
    Set<Class<?>> seen = new HashSet<>();
    queue.add(type);
    while (!queue.isEmpty()) {
      Class<?> c = queue.poll();
      if (!seen.add(c)) {
        continue;
      }
      Set<String> roles = allowedRoles.get(c.getName());
      if (roles != null) {
        return roles;
      }
      if (c.getSuperclass() != null) {
        queue.add(c.getSuperclass());
      }
      queue.addAll(List.of(c.getInterfaces()));
    }
    return null;
  }
}
