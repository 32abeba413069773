package io.egressgateway.gateway.model;

/** One step the planner asks the executor to take. */
public sealed interface DatapathAction {
  String uid();

  /** Build (or repair) everything of a config: namespace, veth, addresses, routes, SNAT, device with all peers in one bulk load. */
  record Program(ConfigDatapath config) implements DatapathAction {
    public String uid() {
      return config.uid();
    }
  }

  /** Bring the device's peers to the desired set in one bulk operation (large diffs). */
  record SyncPeers(ConfigDatapath config) implements DatapathAction {
    public String uid() {
      return config.uid();
    }
  }

  /** Add or update one peer: O(1). */
  record AddPeer(String uid, String publicKey, String allowedIp) implements DatapathAction {}

  /** Remove one peer: O(1). */
  record RemovePeer(String uid, String publicKey) implements DatapathAction {}

  /** Put a pool's ILB frontend IP on the host interface (the LB rule uses floating IP). Shared by the pool's configs. */
  record AddFrontend(String ip) implements DatapathAction {
    public String uid() {
      return "frontend:" + ip;
    }
  }

  /** Take an ILB frontend IP that no config here uses any more off the host interface. */
  record RemoveFrontend(String ip) implements DatapathAction {
    public String uid() {
      return "frontend:" + ip;
    }
  }

  /** Remove everything we created for a config no longer wanted here (its namespace, which carries our marker). */
  record Remove(String uid) implements DatapathAction {}
}
