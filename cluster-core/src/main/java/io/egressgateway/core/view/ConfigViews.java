package io.egressgateway.core.view;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import akka.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The replicated view of all gateway configurations (Akka Distributed Data, an {@link LWWMap} keyed by
 * {@code namespace/name}). Each member keeps the latest map in memory, so readers on the CNI path pay one
 * volatile read. Writers ({@code GatewayConfig} on controllers) publish whole {@link ConfigView} values;
 * last writer wins per config, and there is exactly one writer per config (its sharded entity).
 */
public final class ConfigViews implements Extension {

  public static final Key<LWWMap<String, ConfigView>> KEY = LWWMapKey.create("egress-config-view");
  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final ActorRef<Command> keeper;
  private final CopyOnWriteArrayList<Consumer<Map<String, ConfigView>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, ConfigView> current = Map.of();

  private ConfigViews(ActorSystem<?> system) {
    this.system = system;
    this.keeper = system.systemActorOf(keeper(), "egress-config-views", Props.empty());
  }

  public static ConfigViews get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** All configs as this member currently sees them. Never blocks. */
  public Map<String, ConfigView> current() {
    return current;
  }

  public Optional<ConfigView> find(String key) {
    return Optional.ofNullable(current.get(key));
  }

  /**
   * Calls {@code listener} with the whole map now and after every change. Listeners run on the keeper
   * actor's thread: they must be quick and must not block (typically they tell an actor).
   */
  public void subscribe(Consumer<Map<String, ConfigView>> listener) {
    listeners.add(listener);
    listener.accept(current);
  }

  public void unsubscribe(Consumer<Map<String, ConfigView>> listener) {
    listeners.remove(listener);
  }

  /** Publishes (replaces) one config's view; completes when the local replica has it. */
  public CompletionStage<Boolean> publish(ConfigView view) {
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Put(view, r), WRITE_TIMEOUT, system.scheduler());
  }

  /** Removes one config's view; completes when the local replica no longer has it. */
  public CompletionStage<Boolean> remove(String key) {
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Remove(key, r), WRITE_TIMEOUT, system.scheduler());
  }

  // --- the keeper actor: owns the replicator subscription and the writes ---

  private sealed interface Command {}

  private record Put(ConfigView view, ActorRef<Boolean> replyTo) implements Command {}

  private record Remove(String key, ActorRef<Boolean> replyTo) implements Command {}

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, ConfigView>> response) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, ConfigView>> response, ActorRef<Boolean> replyTo)
      implements Command {}

  private Behavior<Command> keeper() {
    return Behaviors.setup(
        ctx -> {
          SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
          return DistributedData.withReplicatorMessageAdapter(
              (ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> replicator) -> {
                replicator.subscribe(KEY, Changed::new);
                return Behaviors.receive(Command.class)
                    .onMessage(Put.class, m -> onPut(replicator, self, m))
                    .onMessage(Remove.class, m -> onRemove(replicator, self, m))
                    .onMessage(Changed.class, this::onChanged)
                    .onMessage(Written.class, this::onWritten)
                    .build();
              });
        });
  }

  private Behavior<Command> onPut(
      ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> replicator, SelfUniqueAddress self, Put m) {
    replicator.askUpdate(
        r -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(), r,
            map -> map.put(self, m.view().key(), m.view())),
        resp -> new Written(resp, m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onRemove(
      ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> replicator, SelfUniqueAddress self, Remove m) {
    replicator.askUpdate(
        r -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(), r,
            map -> map.remove(self, m.key())),
        resp -> new Written(resp, m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onChanged(Changed m) {
    if (m.response() instanceof Replicator.Changed<LWWMap<String, ConfigView>> changed) {
      current = Map.copyOf(changed.get(KEY).getEntries());
      listeners.forEach(l -> l.accept(current));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onWritten(Written m) {
    boolean ok = m.response() instanceof Replicator.UpdateSuccess;
    m.replyTo().tell(ok);
    return Behaviors.same();
  }

  private static final class Id extends ExtensionId<ConfigViews> {
    static final Id INSTANCE = new Id();

    @Override
    public ConfigViews createExtension(ActorSystem<?> system) {
      return new ConfigViews(system);
    }
  }
}
