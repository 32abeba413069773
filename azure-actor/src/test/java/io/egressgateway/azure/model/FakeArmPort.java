package io.egressgateway.azure.model;

import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A stateful in-memory Azure for one pool: prefixes, the ILB's pool section, the model's egress ipConfigs
 * and instances whose NICs follow the model on rollout. Failures can be queued per write.
 */
public final class FakeArmPort implements ArmPort {
  private final String base;
  private final int instances;
  private final Map<String, Observed.Prefix> prefixes = new TreeMap<>();
  private final Map<String, Integer> rules = new TreeMap<>();
  private boolean lbExists;
  private boolean poolSection;
  private Map<String, String> model = Map.of();
  private boolean modelInPool;
  private final Map<String, Map<String, String>> nics = new HashMap<>();
  private final Map<String, Boolean> nicInPool = new HashMap<>();
  private final Deque<ArmFailure> failures = new ArrayDeque<>();
  private final List<ArmAction> writes = new ArrayList<>();
  private int nextIp = 100;
  private int nextPrefix;

  public FakeArmPort(String prefixIdBase, int instances) {
    this.base = prefixIdBase;
    this.instances = instances;
    for (int i = 0; i < instances; i++) {
      nics.put(String.valueOf(i), new TreeMap<>());
      nicInPool.put(String.valueOf(i), false);
    }
  }

  public synchronized void failNextWrite(ArmFailure f) {
    failures.add(f);
  }

  public synchronized List<ArmAction> writes() {
    return List.copyOf(writes);
  }

  public synchronized boolean isEmpty() {
    return prefixes.isEmpty() && !lbExists && model.isEmpty() && nics.values().stream().allMatch(Map::isEmpty);
  }

  @Override
  public synchronized Observed observe(PoolRef pool, Set<String> byoPrefixIds) {
    Observed.Lb lb = lbExists ? new Observed.Lb(poolSection ? "10.0.0.250" : "", poolSection, poolSection, Map.copyOf(rules),
        probes(), poolSection ? 1 : 0, rules.size()) : null;
    List<Observed.Instance> is = new ArrayList<>();
    for (int i = 0; i < instances; i++) {
      String id = String.valueOf(i);
      is.add(new Observed.Instance(id, "node-" + id, true, "10.0.0." + (10 + i), Map.copyOf(nics.get(id)), nicInPool.get(id)));
    }
    return new Observed(lb, new Observed.ScaleSet("pool", instances, model, modelInPool), is, Map.copyOf(prefixes), Map.of());
  }

  private Map<String, String> probes() {
    Map<String, String> p = new TreeMap<>();
    rules.keySet().forEach(r -> p.put(r, "/gw/" + r));
    return p;
  }

  @Override
  public synchronized void execute(PoolRef pool, ArmAction action) {
    if (!failures.isEmpty()) {
      throw failures.poll();
    }
    writes.add(action);
    if (action instanceof ArmAction.CreatePrefix c) {
      prefixes.put(c.name(), new Observed.Prefix(base + c.name(), c.name(), "20.0." + (nextPrefix++) + ".0/" + c.length(), c.length()));
    } else if (action instanceof ArmAction.DeletePrefix d) {
      prefixes.remove(d.name());
    } else if (action instanceof ArmAction.WriteLb w) {
      lbExists = true;
      poolSection = w.poolSection();
      w.removeRules().forEach(rules::remove);
      rules.putAll(w.rules());
    } else if (action instanceof ArmAction.DeleteLb) {
      lbExists = false;
      poolSection = false;
      rules.clear();
    } else if (action instanceof ArmAction.WriteModel m) {
      Map<String, String> next = new TreeMap<>(model);
      next.keySet().removeAll(m.drop());
      next.putAll(m.egressIpConfigs());
      model = Map.copyOf(next);
      modelInPool = m.primaryInPool();
    } else if (action instanceof ArmAction.Rollout r) {
      for (String id : r.instanceIds()) {
        Map<String, String> nic = nics.get(id);
        nic.keySet().retainAll(model.keySet());
        model.keySet().forEach(name -> nic.computeIfAbsent(name, n -> "10.0.1." + (nextIp++)));
        nicInPool.put(id, modelInPool);
      }
    }
  }
}
