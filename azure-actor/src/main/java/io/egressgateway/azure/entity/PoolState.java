package io.egressgateway.azure.entity;

import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.Desired;
import io.egressgateway.core.CborSerializable;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Journaled state: configs by uid, and writes whose outcome is not recorded yet. */
public record PoolState(Map<String, Member> configs, Set<String> openIntents) implements CborSerializable {
  /** A config this pool serves: its spec, its port and whether it is being removed. */
  public record Member(ConfigSpec spec, int port, boolean removing) {}

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

  Desired desired(String prefixIdBase) {
    Map<String, Desired.Wanted> active = new HashMap<>();
    Set<String> removing = new HashSet<>();
    configs.forEach((uid, m) -> {
      if (m.removing()) {
        removing.add(uid);
      } else {
        active.put(uid, new Desired.Wanted(m.spec(), m.port()));
      }
    });
    return new Desired(active, removing, prefixIdBase);
  }
}
