package io.egressgateway.gateway.model;

import java.util.Map;

/**
 * What the kernel shows for one config namespace we own (observed, never journaled).
 *
 * @param uid          config uid (from the namespace name)
 * @param hostIp       IPv4 address on host0, empty if none
 * @param gatewayVia   next hop of the namespace's default route, empty if none
 * @param snatIp       source our SNAT rule rewrites to, empty if the rule is missing
 * @param tunnelRouted the return path into the tunnel (rule + table route via wg0) is in place
 * @param hostRouted   the host namespace routes the secondary IP into our veth
 * @param hostExempt   the host's NAT leaves packets from the secondary IP alone (no second masquerade)
 * @param deviceAlive  the WireGuard device is in the namespace and answers
 * @param listenPort   its listen port (0 if not alive)
 * @param publicKey    its public key (empty if not alive)
 * @param peers        its peers: public key to allowed IPs joined by ','
 */
public record ObservedConfig(String uid, String hostIp, String gatewayVia, String snatIp, boolean tunnelRouted,
    boolean hostRouted, boolean hostExempt, boolean deviceAlive, int listenPort, String publicKey, Map<String, String> peers) {
  public ObservedConfig {
    peers = Map.copyOf(peers);
  }

  /** A namespace that exists with nothing usable in it. */
  public static ObservedConfig empty(String uid) {
    return new ObservedConfig(uid, "", "", "", false, false, false, false, 0, "", Map.of());
  }
}
