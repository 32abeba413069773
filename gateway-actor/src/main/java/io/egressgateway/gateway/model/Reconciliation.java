package io.egressgateway.gateway.model;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One full pass: observe, plan, apply each action through the ports. Runs on a blocking thread; touches no
 * actor state. A failing action is recorded against its config and does not stop the others.
 *
 * @param actions    what was planned (and attempted)
 * @param serving    configs whose datapath is in place with all desired peers after this pass
 * @param errors     config uid to the first error met for it
 * @param bulkLoads  number of bulk peer loads done (program or sync)
 * @param drift      per config whose device was up, the peers it lacked and the peers it had that were not
 *                   desired (what this pass repaired, or tried to); configs without drift are absent
 */
public record Reconciliation(List<DatapathAction> actions, Set<String> serving, Map<String, String> errors, int bulkLoads,
    Map<String, PeerDrift> drift) {
  public Reconciliation {
    actions = List.copyOf(actions);
    serving = Set.copyOf(serving);
    errors = Map.copyOf(errors);
    drift = Map.copyOf(drift);
  }

  /** How far a live device's peers were from the desired ones. */
  public record PeerDrift(int missing, int unwanted) {}

  public static Reconciliation run(GatewayDatapath datapath, GatewayKeys keys, Map<String, ConfigDatapath> desired,
      int bulkThreshold, boolean collect) {
    Map<String, ObservedConfig> observed;
    Set<String> frontends;
    try {
      observed = datapath.observe();
      frontends = datapath.frontends();
    } catch (RuntimeException e) {
      Map<String, String> all = new LinkedHashMap<>();
      desired.keySet().forEach(uid -> all.put(uid, "observing the datapath failed: " + e.getMessage()));
      return new Reconciliation(List.of(), Set.of(), all, 0, Map.of());
    }
    List<DatapathAction> actions = new ArrayList<>(GatewayPlanner.planFrontends(desired, frontends, collect));
    actions.addAll(GatewayPlanner.plan(desired, observed, bulkThreshold, collect));
    Map<String, String> errors = new LinkedHashMap<>();
    int bulk = 0;
    for (DatapathAction a : actions) {
      if (errors.containsKey(a.uid())) {
        continue;
      }
      try {
        bulk += apply(datapath, keys, a);
      } catch (RuntimeException e) {
        errors.put(a.uid(), describe(a) + " failed: " + e.getMessage());
      }
    }
    Set<String> serving = new HashSet<>(desired.keySet());
    serving.removeAll(errors.keySet());
    desired.values().stream().filter(c -> errors.containsKey("frontend:" + c.ilbIp())).forEach(c -> serving.remove(c.uid()));
    return new Reconciliation(actions, serving, errors, bulk, drift(desired, observed));
  }

  /** The peer drift of every desired config whose device was up and right (a device made anew has none). */
  static Map<String, PeerDrift> drift(Map<String, ConfigDatapath> desired, Map<String, ObservedConfig> observed) {
    Map<String, PeerDrift> out = new LinkedHashMap<>();
    desired.values().forEach(want -> {
      ObservedConfig seen = observed.get(want.uid());
      if (seen == null || !GatewayPlanner.deviceReady(want, seen)) {
        return;
      }
      int missing = 0;
      int unwanted = 0;
      for (DatapathAction a : GatewayPlanner.peerDiff(want, seen.peers())) {
        if (a instanceof DatapathAction.AddPeer) {
          missing++;
        } else {
          unwanted++;
        }
      }
      if (missing + unwanted > 0) {
        out.put(want.uid(), new PeerDrift(missing, unwanted));
      }
    });
    return out;
  }

  private static int apply(GatewayDatapath dp, GatewayKeys keys, DatapathAction a) {
    if (a instanceof DatapathAction.Program p) {
      dp.program(p.config(), keys.privateKey(p.config().keySecretName()));
      return 1;
    } else if (a instanceof DatapathAction.SyncPeers s) {
      dp.syncPeers(s.config(), keys.privateKey(s.config().keySecretName()));
      return 1;
    } else if (a instanceof DatapathAction.Remove r) {
      dp.remove(r.uid());
      return 0;
    } else if (a instanceof DatapathAction.AddFrontend f) {
      dp.addFrontend(f.ip());
      return 0;
    } else if (a instanceof DatapathAction.RemoveFrontend f) {
      dp.removeFrontend(f.ip());
      return 0;
    }
    applyPeer(dp, a);
    return 0;
  }

  private static void applyPeer(GatewayDatapath dp, DatapathAction a) {
    if (a instanceof DatapathAction.AddPeer p) {
      dp.addPeer(p.uid(), p.publicKey(), p.allowedIp());
    } else if (a instanceof DatapathAction.RemovePeer r) {
      dp.removePeer(r.uid(), r.publicKey());
    } else {
      throw new IllegalArgumentException("not a single-peer action: " + describe(a));
    }
  }

  /** A log-friendly name of an action (no key material, no peer lists). */
  public static String describe(DatapathAction a) {
    if (a instanceof DatapathAction.Program p) {
      return "program " + p.uid() + " (" + p.config().peers().size() + " peers)";
    } else if (a instanceof DatapathAction.SyncPeers s) {
      return "sync peers of " + s.uid() + " (" + s.config().peers().size() + " peers)";
    } else if (a instanceof DatapathAction.AddPeer p) {
      return "add peer " + p.publicKey() + " " + p.allowedIp() + " to " + p.uid();
    } else if (a instanceof DatapathAction.RemovePeer r) {
      return "remove peer " + r.publicKey() + " from " + r.uid();
    } else if (a instanceof DatapathAction.AddFrontend f) {
      return "add ILB frontend " + f.ip() + " to the host interface";
    } else if (a instanceof DatapathAction.RemoveFrontend f) {
      return "remove ILB frontend " + f.ip() + " from the host interface";
    }
    return "remove " + a.uid();
  }

  /**
   * Applies single-peer actions in order; consecutive additions to one config go to the device in one call.
   * If such a call fails, its peers are tried one by one so each error lands on its own peer. Returns the
   * uid-keyed errors.
   */
  public static Map<String, String> applyPeers(GatewayDatapath datapath, List<DatapathAction> ops) {
    Map<String, String> errors = new LinkedHashMap<>();
    List<DatapathAction.AddPeer> run = new ArrayList<>();
    for (DatapathAction a : ops) {
      if (a instanceof DatapathAction.AddPeer add && (run.isEmpty() || run.get(0).uid().equals(add.uid()))) {
        run.add(add);
        continue;
      }
      addAll(datapath, run, errors);
      run.clear();
      if (a instanceof DatapathAction.AddPeer add) {
        run.add(add);
      } else {
        applyOne(datapath, a, errors);
      }
    }
    addAll(datapath, run, errors);
    return errors;
  }

  private static void addAll(GatewayDatapath datapath, List<DatapathAction.AddPeer> run, Map<String, String> errors) {
    if (run.size() == 1) {
      applyOne(datapath, run.get(0), errors);
    } else if (!run.isEmpty()) {
      java.util.LinkedHashMap<String, String> peers = new java.util.LinkedHashMap<>();
      run.forEach(p -> peers.put(p.publicKey(), p.allowedIp()));
      try {
        datapath.addPeers(run.get(0).uid(), peers);
      } catch (RuntimeException e) {
        run.forEach(p -> applyOne(datapath, p, errors));
      }
    }
  }

  private static void applyOne(GatewayDatapath datapath, DatapathAction a, Map<String, String> errors) {
    try {
      applyPeer(datapath, a);
    } catch (RuntimeException e) {
      errors.putIfAbsent(a.uid() + " " + peerKey(a), describe(a) + " failed: " + e.getMessage());
    }
  }

  /** The peer public key of a single-peer action, empty otherwise. */
  public static String peerKey(DatapathAction a) {
    if (a instanceof DatapathAction.AddPeer p) {
      return p.publicKey();
    } else if (a instanceof DatapathAction.RemovePeer r) {
      return r.publicKey();
    }
    return "";
  }
}
