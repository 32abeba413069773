package io.egressgateway.azure.entity;

import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.Desired;
import io.egressgateway.azure.model.Observed;
import io.egressgateway.azure.model.PoolPlanner;
import io.egressgateway.core.CborSerializable;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Journaled state: configs by uid, and writes whose outcome is not recorded yet. */
public record PoolState(Map<String, Member> configs, Set<String> openIntents) implements CborSerializable {
  /**
   * A config this pool serves: its spec, its port, whether it is being removed, and whether its port was
   * taken over from an existing rule of the Go original (done once).
   */
  public record Member(ConfigSpec spec, int port, boolean removing, boolean portAdopted) {
    public Member(ConfigSpec spec, int port, boolean removing) {
      this(spec, port, removing, false);
    }

    /** Accepted again with another spec: no longer being removed. */
    Member withSpec(ConfigSpec newSpec) {
      return new Member(newSpec, port, false, portAdopted);
    }

    Member asRemoving() {
      return new Member(spec, port, true, portAdopted);
    }

    /** The port of the Go original's existing rule, taken over once. */
    Member withAdoptedPort(int adoptedPort) {
      return new Member(spec, adoptedPort, removing, true);
    }
  }

  public static final PoolState EMPTY = new PoolState(Map.of(), Set.of());

  PoolState withMember(String uid, Member m) {
    Map<String, Member> c = new HashMap<>(configs);
    c.put(uid, m);
    return new PoolState(Map.copyOf(c), openIntents);
  }

  PoolState without(String uid) {
    Map<String, Member> c = new HashMap<>(configs);
    c.remove(uid);
    return new PoolState(Map.copyOf(c), openIntents);
  }

  PoolState intent(String target, boolean open) {
    Set<String> s = new HashSet<>(openIntents);
    if (open) {
      s.add(target);
    } else {
      s.remove(target);
    }
    return new PoolState(configs, Set.copyOf(s));
  }

  Set<Integer> ports() {
    Set<Integer> p = new HashSet<>();
    configs.values().forEach(m -> p.add(m.port()));
    return p;
  }

  /** The lowest port in [min, max] that neither a config of this pool nor an observed rule holds, or -1. */
  int freePort(Set<Integer> observedPorts, int min, int max) {
    Set<Integer> taken = new HashSet<>(ports());
    taken.addAll(observedPorts);
    return PoolPlanner.lowestFreePort(taken, min, max);
  }

  /**
   * Why this pool cannot take one more config, or "" when it can: every config holds one WireGuard port (neither a config's
   * nor an observed rule's) and one secondary IP configuration on every gateway NIC, next to the primary.
   */
  String cannotHoldAnother(String poolId, io.egressgateway.azure.infra.AzureSettings settings, Set<Integer> observedPorts) {
    int ipConfigs = configs.size() + 1;
    if (ipConfigs >= settings.maxIpConfigurationsPerNic()) {
      return "pool " + poolId + " cannot hold another secondary IP: each gateway NIC already has " + ipConfigs + " of its "
          + settings.maxIpConfigurationsPerNic() + " IP configurations (egress.azure.max-ip-configurations-per-nic); remove a"
          + " configuration or add a gateway pool";
    }
    if (freePort(observedPorts, settings.portMin(), settings.portMax()) < 0) {
      return "pool " + poolId + " cannot hold another configuration: no free WireGuard port in " + settings.portMin() + "-"
          + settings.portMax() + " (egress.azure.port-min/port-max); remove a configuration or add a gateway pool";
    }
    return "";
  }

  /** The BYO prefixes the configs name, to be read with each observation. */
  Set<String> byoPrefixIds() {
    Set<String> byo = new HashSet<>();
    configs.values().forEach(m -> {
      if (!m.spec().byoPrefixId().isEmpty()) {
        byo.add(m.spec().byoPrefixId());
      }
    });
    return byo;
  }

  /** Whether an active config leaves its length to the pool and its managed prefix is still to be made. */
  boolean makesPrefixOfPoolLength(Observed obs) {
    return configs.values().stream().anyMatch(m -> !m.removing() && m.spec().managedPrefix() && m.spec().prefixLength() == 0
        && !obs.prefixes().containsKey(m.spec().ipConfigName()));
  }

  Desired desired(String prefixIdBase, int defaultPrefixLength) {
    Map<String, Desired.Wanted> active = new HashMap<>();
    Map<String, ConfigSpec> removing = new HashMap<>();
    configs.forEach((uid, m) -> {
      if (m.removing()) {
        removing.put(uid, m.spec());
      } else {
        active.put(uid, new Desired.Wanted(m.spec(), m.port()));
      }
    });
    return new Desired(active, removing, prefixIdBase, defaultPrefixLength);
  }

  /** Active configs named by a legacy rule whose port was not taken over yet. */
  Set<String> portAdoptionCandidates() {
    Set<String> out = new HashSet<>();
    configs.forEach((uid, m) -> {
      if (!m.removing() && !m.portAdopted() && !m.spec().legacyRuleName().isEmpty()) {
        out.add(uid);
      }
    });
    return out;
  }
}
