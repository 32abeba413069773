package io.egressgateway.gateway.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decides what to change so the configs' datapaths on this node match the desired ones. Pure: the same
 * inputs always give the same actions; it never looks at the kernel itself.
 *
 * <p>Order: removals first (they free ports and addresses), then programs, bulk syncs, single peers.
 */
public final class GatewayPlanner {
  private GatewayPlanner() {}

  /**
   * @param desired       configs wanted on this node, by uid
   * @param observed      config namespaces we own, by uid
   * @param bulkThreshold a peer diff larger than this becomes one {@link DatapathAction.SyncPeers}
   * @param collect       whether observed configs that nothing desires may be removed (false until the
   *                      config view is trusted after a start)
   */
  public static List<DatapathAction> plan(Map<String, ConfigDatapath> desired, Map<String, ObservedConfig> observed,
      int bulkThreshold, boolean collect) {
    List<DatapathAction> removes = new ArrayList<>();
    List<DatapathAction> programs = new ArrayList<>();
    List<DatapathAction> peers = new ArrayList<>();
    if (collect) {
      observed.keySet().stream().filter(uid -> !desired.containsKey(uid)).sorted()
          .forEach(uid -> removes.add(new DatapathAction.Remove(uid)));
    }
    desired.values().stream().sorted(java.util.Comparator.comparing(ConfigDatapath::uid)).forEach(want -> {
      ObservedConfig seen = observed.get(want.uid());
      if (seen == null || !baseReady(want, seen) || !deviceReady(want, seen)) {
        programs.add(new DatapathAction.Program(want));
        return;
      }
      List<DatapathAction> diff = peerDiff(want, seen.peers());
      if (diff.size() > bulkThreshold) {
        peers.add(new DatapathAction.SyncPeers(want));
      } else {
        peers.addAll(diff);
      }
    });
    List<DatapathAction> out = new ArrayList<>(removes);
    out.addAll(programs);
    out.addAll(peers);
    return out;
  }

  /**
   * ILB frontend IPs on the host interface: add those the desired configs use, remove (when collecting)
   * those carrying our label that none uses.
   */
  public static List<DatapathAction> planFrontends(Map<String, ConfigDatapath> desired, java.util.Set<String> observed,
      boolean collect) {
    java.util.TreeSet<String> want = new java.util.TreeSet<>();
    desired.values().stream().map(ConfigDatapath::ilbIp).filter(ip -> !ip.isEmpty()).forEach(want::add);
    List<DatapathAction> out = new ArrayList<>();
    if (collect) {
      observed.stream().filter(ip -> !want.contains(ip)).sorted().forEach(ip -> out.add(new DatapathAction.RemoveFrontend(ip)));
    }
    want.stream().filter(ip -> !observed.contains(ip)).forEach(ip -> out.add(new DatapathAction.AddFrontend(ip)));
    return out;
  }

  /** Namespace plumbing (addresses, routes, SNAT) matches the desired config. */
  public static boolean baseReady(ConfigDatapath want, ObservedConfig seen) {
    return want.secondaryIp().equals(seen.hostIp()) && want.secondaryIp().equals(seen.snatIp())
        && want.primaryIp().equals(seen.gatewayVia()) && seen.tunnelRouted() && seen.hostRouted() && seen.hostExempt();
  }

  /** The device is alive, listening on the config's port, with the expected key when one is known. */
  public static boolean deviceReady(ConfigDatapath want, ObservedConfig seen) {
    return seen.deviceAlive() && seen.listenPort() == want.port()
        && (want.gatewayPublicKey().isEmpty() || want.gatewayPublicKey().equals(seen.publicKey()));
  }

  /** The datapath carries traffic for this config: what the health probe answers 200 for (peers aside). */
  public static boolean serving(ConfigDatapath want, ObservedConfig seen) {
    return seen != null && baseReady(want, seen) && deviceReady(want, seen);
  }

  static List<DatapathAction> peerDiff(ConfigDatapath want, Map<String, String> have) {
    List<DatapathAction> out = new ArrayList<>();
    have.keySet().stream().filter(k -> !want.peers().containsKey(k)).sorted()
        .forEach(k -> out.add(new DatapathAction.RemovePeer(want.uid(), k)));
    want.peers().entrySet().stream().filter(e -> !e.getValue().equals(have.get(e.getKey())))
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> out.add(new DatapathAction.AddPeer(want.uid(), e.getKey(), e.getValue())));
    return out;
  }
}
