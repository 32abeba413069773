package io.egressgateway.gateway.model;

import java.util.Map;
import java.util.Optional;

/**
 * The executor port of a gateway node: observes and changes the kernel datapath of the configs. The real
 * implementation execs {@code ip}/{@code wg}/{@code nft}; tests use a stateful in-memory fake. Every method
 * blocks; callers run them on a blocking dispatcher. Failures are exceptions whose message names what failed.
 */
public interface GatewayDatapath {
  /** Every config namespace carrying our ownership marker, by uid. */
  Map<String, ObservedConfig> observe();

  /** One config's namespace, if it exists. */
  Optional<ObservedConfig> observe(String uid);

  /** Creates or repairs everything of {@code config}; loads the device with all its peers in one bulk operation. */
  void program(ConfigDatapath config, String privateKey);

  /** Brings the device's peers to {@code config}'s in one bulk operation. */
  void syncPeers(ConfigDatapath config, String privateKey);

  void addPeer(String uid, String publicKey, String allowedIp);

  /** Several peers of one config at once (allowed IP by public key, in order); one call where the backend allows. */
  default void addPeers(String uid, java.util.LinkedHashMap<String, String> allowedIpByKey) {
    allowedIpByKey.forEach((key, ip) -> addPeer(uid, key, ip));
  }

  void removePeer(String uid, String publicKey);

  /** ILB frontend IPs we put on the host interface (carrying our label). */
  java.util.Set<String> frontends();

  void addFrontend(String ip);

  void removeFrontend(String ip);

  /**
   * One look at the config's datapath for its metrics (peers with their counters, drops, conntrack entries);
   * empty when its namespace or device is not there.
   */
  Optional<ConfigSample> sample(String uid);

  /** Removes the config's namespace and everything in it (device, veth, rules). */
  void remove(String uid);
}
