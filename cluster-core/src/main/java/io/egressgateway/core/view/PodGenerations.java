package io.egressgateway.core.view;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import akka.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import akka.cluster.typed.Cluster;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Which generation of each gateway configuration the pods of each node run, replicated to all members (Akka
 * Distributed Data, an {@link LWWMap} keyed by node name). Workers report: each pod tunnel tells its member
 * which generation it applied ({@link #applied}) or that it is gone ({@link #gone}); the member writes its own
 * node's counts (per configuration and generation, never per pod) at most every {@link #WRITE_DELAY}.
 * Controllers read: {@link #count} says how many pods of a configuration run a given generation, counting only
 * nodes whose worker member is up (a node that left has no one to report its pods), and {@link #subscribe}
 * says which configurations' counts changed, so that their status follows.
 *
 * <p>Entries are not signed: they feed only the count in a configuration's status, never a datapath decision.
 * A member writes only its own node's entry.
 */
public final class PodGenerations implements Extension {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PodGenerations.class);

  public static final Key<LWWMap<String, NodePods>> KEY = LWWMapKey.create("egress-pod-generations");
  /** Reports of a node are gathered this long before they are written (a burst of pods makes one write). */
  static final Duration WRITE_DELAY = Duration.ofMillis(100);

  /** The pods of one node: per configuration (key and uid), how many pods run each generation. */
  public record NodePods(List<ConfigPods> configs) implements CborSerializable {
    public NodePods {
      configs = configs == null ? List.of() : List.copyOf(configs);
    }

    /** The entries of configuration {@code key}, whatever its uid. */
    List<ConfigPods> of(String key) {
      return configs.stream().filter(c -> c.key().equals(key)).toList();
    }
  }

  /** One configuration's pods on one node (a name reused by a new object has a new uid: another entry). */
  public record ConfigPods(String key, String uid, List<Generation> generations) implements CborSerializable {
    public ConfigPods {
      generations = generations == null ? List.of() : List.copyOf(generations);
    }
  }

  /** {@code pods} pods run {@code generation}. */
  public record Generation(long generation, int pods) implements CborSerializable {}

  /** How many pods of a configuration run its current generation, of how many it has. */
  public record Count(int current, int total) {
    public static final Count NONE = new Count(0, 0);

    public boolean upToDate() {
      return current == total;
    }
  }

  private final ActorSystem<?> system;
  private final ActorRef<Command> keeper;
  private final CopyOnWriteArrayList<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, NodePods> nodes = Map.of();

  private PodGenerations(ActorSystem<?> system) {
    this.system = system;
    this.keeper = system.systemActorOf(keeper(), "egress-pod-generations", Props.empty());
  }

  public static PodGenerations get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Tunnel {@code tunnelId} of this member's node runs {@code generation} of configuration {@code key}/{@code uid}. */
  public void applied(String tunnelId, String key, String uid, long generation) {
    keeper.tell(new Applied(tunnelId, new Tunnel(key, uid, generation)));
  }

  /** Tunnel {@code tunnelId} of this member's node is gone. */
  public void gone(String tunnelId) {
    keeper.tell(new Applied(tunnelId, null));
  }

  /**
   * The pods of configuration {@code key} (uid {@code uid}) on nodes whose worker is up: how many run
   * {@code generation} (or a later one), of how many run any.
   */
  public Count count(String key, String uid, long generation) {
    Set<String> up = upWorkerNodes();
    int current = 0;
    int total = 0;
    for (Map.Entry<String, NodePods> n : nodes.entrySet()) {
      if (!up.contains(n.getKey())) {
        continue;
      }
      for (ConfigPods c : n.getValue().of(key)) {
        if (!c.uid().equals(uid)) {
          continue;
        }
        for (Generation g : c.generations()) {
          total += g.pods();
          if (g.generation() >= generation) {
            current += g.pods();
          }
        }
      }
    }
    return new Count(current, total);
  }

  /**
   * Calls {@code listener} with the keys of the configurations whose counts changed. Runs on the keeper's
   * thread: be quick, do not block (typically tell an actor).
   */
  public void subscribe(Consumer<Set<String>> listener) {
    listeners.add(listener);
  }

  private Set<String> upWorkerNodes() {
    Set<String> up = new HashSet<>();
    Cluster.get(system).state().getMembers().forEach(m -> {
      if ((m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp()) && m.hasRole(Roles.WORKER)) {
        Roles.nodeOf(m.getRoles()).ifPresent(up::add);
      }
    });
    return up;
  }

  // --- the keeper: this node's tunnels, the debounced write, the subscription ---

  private sealed interface Command {}

  private record Tunnel(String key, String uid, long generation) {}

  private record Applied(String tunnelId, Tunnel tunnel) implements Command {}

  private enum Write implements Command { INSTANCE }

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, NodePods>> response) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, NodePods>> response) implements Command {}

  private Behavior<Command> keeper() {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      String node = Roles.nodeOf(Cluster.get(ctx.getSystem()).selfMember().getRoles()).orElse("");
      Map<String, Tunnel> tunnels = new HashMap<>();
      NodePods[] written = {null};
      return DistributedData.withReplicatorMessageAdapter(
          (ReplicatorMessageAdapter<Command, LWWMap<String, NodePods>> replicator) -> {
            replicator.subscribe(KEY, Changed::new);
            return Behaviors.receive(Command.class)
                .onMessage(Applied.class, m -> {
                  if (m.tunnel() == null ? tunnels.remove(m.tunnelId()) != null
                      : !m.tunnel().equals(tunnels.put(m.tunnelId(), m.tunnel()))) {
                    if (!timers.isTimerActive(Write.INSTANCE)) {
                      timers.startSingleTimer(Write.INSTANCE, WRITE_DELAY);
                    }
                  }
                  return Behaviors.same();
                })
                .onMessage(Write.class, m -> {
                  NodePods now = summary(tunnels);
                  if (!node.isEmpty() && !now.equals(written[0])) {
                    written[0] = now;
                    replicator.askUpdate(r -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(), r,
                        map -> map.put(self, node, now)), Written::new);
                  }
                  return Behaviors.same();
                })
                .onMessage(Changed.class, this::onChanged)
                .onMessage(Written.class, m -> {
                  if (!(m.response() instanceof Replicator.UpdateSuccess)) {
                    log.warn("this node's pod counts were not written (the next change writes them): {}", m.response());
                  }
                  return Behaviors.same();
                })
                .build();
          });
    }));
  }

  private Behavior<Command> onChanged(Changed m) {
    log.debug("pod counts changed: {}", m.response());
    if (m.response() instanceof Replicator.Changed<LWWMap<String, NodePods>> changed) {
      Map<String, NodePods> now = Map.copyOf(changed.get(KEY).getEntries());
      Map<String, NodePods> before = nodes;
      nodes = now;
      Set<String> keys = new HashSet<>();
      Set<String> names = new HashSet<>(now.keySet());
      names.addAll(before.keySet());
      for (String n : names) {
        NodePods a = before.getOrDefault(n, EMPTY);
        NodePods b = now.getOrDefault(n, EMPTY);
        Set<String> configs = new HashSet<>();
        a.configs().forEach(c -> configs.add(c.key()));
        b.configs().forEach(c -> configs.add(c.key()));
        configs.stream().filter(k -> !Objects.equals(a.of(k), b.of(k))).forEach(keys::add);
      }
      if (!keys.isEmpty()) {
        Set<String> changedKeys = Set.copyOf(keys);
        listeners.forEach(l -> l.accept(changedKeys));
      }
    }
    return Behaviors.same();
  }

  private static final NodePods EMPTY = new NodePods(List.of());

  /** Counts per configuration and generation, in a stable order (equal tunnels give an equal summary). */
  static NodePods summary(Map<String, Tunnel> tunnels) {
    Map<List<String>, TreeMap<Long, Integer>> counts = new TreeMap<>(
        java.util.Comparator.<List<String>, String>comparing(k -> k.get(0)).thenComparing(k -> k.get(1)));
    tunnels.values().forEach(t -> counts.computeIfAbsent(List.of(t.key(), t.uid()), k -> new TreeMap<>())
        .merge(t.generation(), 1, Integer::sum));
    return new NodePods(counts.entrySet().stream().map(e -> new ConfigPods(e.getKey().get(0), e.getKey().get(1),
        e.getValue().entrySet().stream().map(g -> new Generation(g.getKey(), g.getValue())).toList())).toList());
  }

  private static final class Id extends ExtensionId<PodGenerations> {
    static final Id INSTANCE = new Id();

    @Override
    public PodGenerations createExtension(ActorSystem<?> system) {
      return new PodGenerations(system);
    }
  }
}
