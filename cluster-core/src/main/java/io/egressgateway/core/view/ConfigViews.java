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
import akka.serialization.jackson.JacksonObjectMapperProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import io.egressgateway.core.Roles;
import io.egressgateway.core.security.Principal;
import io.egressgateway.core.security.Refused;
import io.egressgateway.core.security.SealedValue;
import io.egressgateway.core.security.Seals;
import io.egressgateway.core.security.Security;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated view of all gateway configurations (Akka Distributed Data, an {@link LWWMap} keyed by
 * {@code namespace/name}). Each member keeps the latest map in memory, so readers on the CNI path pay one
 * volatile read. Writers ({@code GatewayConfig} on controllers) publish whole {@link ConfigView} values;
 * last writer wins per config, and there is exactly one writer per config (its sharded entity).
 *
 * <p>Every entry is signed by the member that wrote it ({@link Seals}, context {@code config-view:<key>}) and
 * verified by each reader when it changes: with {@code egress.security.enforce} on, a reader takes only entries
 * signed by a controller certificate, for the key they are stored under, and never older than the entry it
 * already has (a replayed old entry is refused). A removal is a signed empty entry, so a member that deletes
 * keys from the map removes nothing: readers keep the last entry they verified. Refusals are logged and counted
 * once per entry. Old-release members read {@link #LEGACY_KEY}, which controllers still write unsigned.
 */
public final class ConfigViews implements Extension {

  /** Signed entries: what every member of this release reads. */
  public static final Key<LWWMap<String, SealedValue>> KEY = LWWMapKey.create("egress-config-view-signed");
  /** Plain entries for members of the previous release during a rolling upgrade; never read here. */
  public static final Key<LWWMap<String, ConfigView>> LEGACY_KEY = LWWMapKey.create("egress-config-view");
  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(3);
  /**
   * A change is sent to every member at once. Written locally only, Distributed Data would pass it on by itself:
   * deltas every gossip interval / 5 (400 ms) to at most 10 members per tick, and full-state gossip every 2 s to one
   * member at a time, so a change took about N / 10 x 0.4 s to reach N members (docs/benchmarks.md, "Scale by
   * simulation"). Sent to all, it costs one small message per member per change; configurations change rarely. A
   * member that does not acknowledge within the timeout gets the entry by gossip; no caller waits for it.
   */
  private static final Replicator.WriteConsistency TO_ALL = new Replicator.WriteAll(Duration.ofSeconds(5));
  private static final Logger log = LoggerFactory.getLogger(ConfigViews.class);

  private final ActorSystem<?> system;
  private final Security security;
  private final ObjectMapper mapper;
  private final ActorRef<Command> keeper;
  private final CopyOnWriteArrayList<Consumer<Map<String, ConfigView>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, ConfigView> current = Map.of();

  private ConfigViews(ActorSystem<?> system) {
    this.system = system;
    // made now, not at the first publish, whose caller waits only WRITE_TIMEOUT
    this.security = Security.get(system);
    this.mapper = JacksonObjectMapperProvider.get(akka.actor.typed.javadsl.Adapter.toClassic(system))
        .getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
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

  /** Publishes (replaces) one config's view, to every member at once; completes when the local replica has it. */
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

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, SealedValue>> response) implements Command {}

  private record Written(Replicator.GetResponse<LWWMap<String, SealedValue>> response, String key, SealedValue sealed,
      ActorRef<Boolean> replyTo) implements Command {}

  private record Spread(Replicator.UpdateResponse<LWWMap<String, SealedValue>> response) implements Command {}

  private record LegacyWritten(Replicator.UpdateResponse<LWWMap<String, ConfigView>> response) implements Command {}

  /** The entry a reader took for a key: its view (null once removed) and when it was signed. */
  private record Accepted(ConfigView view, long signedAt, SealedValue from) {}

  private final Map<String, Accepted> accepted = new HashMap<>();
  private final Map<String, SealedValue> refused = new HashMap<>();

  private Behavior<Command> keeper() {
    return Behaviors.setup(
        ctx -> {
          SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
          return DistributedData.withReplicatorMessageAdapter(
              (ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator) ->
                  DistributedData.withReplicatorMessageAdapter(
                      (ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> legacy) -> {
                        replicator.subscribe(KEY, Changed::new);
                        return Behaviors.receive(Command.class)
                            .onMessage(Put.class, m -> onPut(replicator, legacy, self, m))
                            .onMessage(Remove.class, m -> onRemove(replicator, legacy, self, m))
                            .onMessage(Changed.class, this::onChanged)
                            .onMessage(Written.class, this::onWritten)
                            .onMessage(Spread.class, this::onSpread)
                            .onMessage(LegacyWritten.class, m -> Behaviors.same())
                            .build();
                      }));
        });
  }

  private Behavior<Command> onPut(ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator,
      ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> legacy, SelfUniqueAddress self, Put m) {
    String key = m.view().key();
    SealedValue sealed = new SealedValue(security.seals().seal(context(key), write(m.view())));
    write(replicator, self, key, sealed, m.replyTo());
    legacy.askUpdate(
        r -> new Replicator.Update<>(LEGACY_KEY, LWWMap.empty(), Replicator.writeLocal(), r,
            map -> map.put(self, key, m.view())),
        LegacyWritten::new);
    return Behaviors.same();
  }

  private Behavior<Command> onRemove(ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator,
      ReplicatorMessageAdapter<Command, LWWMap<String, ConfigView>> legacy, SelfUniqueAddress self, Remove m) {
    SealedValue tombstone = new SealedValue(security.seals().seal(context(m.key()), new byte[0]));
    write(replicator, self, m.key(), tombstone, m.replyTo());
    legacy.askUpdate(
        r -> new Replicator.Update<>(LEGACY_KEY, LWWMap.empty(), Replicator.writeLocal(), r,
            map -> map.remove(self, m.key())),
        LegacyWritten::new);
    return Behaviors.same();
  }

  private Behavior<Command> onChanged(Changed m) {
    if (m.response() instanceof Replicator.Changed<LWWMap<String, SealedValue>> changed) {
      boolean updated = false;
      for (Map.Entry<String, SealedValue> e : changed.get(KEY).getEntries().entrySet()) {
        updated |= read(e.getKey(), e.getValue());
      }
      if (updated) {
        Map<String, ConfigView> views = new HashMap<>();
        accepted.forEach((k, a) -> {
          if (a.view() != null) {
            views.put(k, a.view());
          }
        });
        current = Map.copyOf(views);
        listeners.forEach(l -> l.accept(current));
      }
    }
    return Behaviors.same();
  }

  /** Verifies one entry that changed; true if the accepted views changed. Refuses each bad entry once. */
  private boolean read(String key, SealedValue value) {
    Accepted known = accepted.get(key);
    if ((known != null && value.equals(known.from())) || value.equals(refused.get(key))) {
      return false;
    }
    try {
      Seals.Opened opened = security.seals().open(context(key), "ConfigView", value.bytes(), null);
      if (security.seals().enforcing() && !opened.signer().hasRole(Roles.CONTROLLER)) {
        throw new Refused("ConfigView", opened.signer(), "only controllers write the configuration view (key " + key + ")");
      }
      if (known != null && opened.signedAt() < known.signedAt()) {
        throw new Refused("ConfigView", opened.signer(), "entry for " + key + " signed before the one already read (a replay)");
      }
      ConfigView view = opened.payload().length == 0 ? null : read(opened.payload());
      if (view != null && !view.key().equals(key)) {
        throw new Refused("ConfigView", opened.signer(), "entry for " + view.key() + " stored under " + key);
      }
      accepted.put(key, new Accepted(view, opened.signedAt(), value));
      refused.remove(key);
      return true;
    } catch (Refused r) {
      refused.put(key, value);
      security.refused(r, "the replicated configuration view");
      return false;
    } catch (IOException | RuntimeException e) {
      refused.put(key, value);
      security.refused(new Refused("ConfigView", Principal.UNVERIFIED, "unreadable entry for " + key + ": " + e), "the replicated configuration view");
      return false;
    }
  }

  /**
   * Writes one entry to every member at once ({@link #TO_ALL}) and answers {@code replyTo} as soon as the local
   * replica holds it: the replicator applies an update locally when it receives it, so a local read sent after the
   * update is answered after it, without waiting for the other members' acknowledgements.
   */
  private void write(ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator, SelfUniqueAddress self,
      String key, SealedValue sealed, ActorRef<Boolean> replyTo) {
    replicator.askUpdate(r -> new Replicator.Update<>(KEY, LWWMap.empty(), TO_ALL, r, map -> map.put(self, key, sealed)),
        Spread::new);
    replicator.askGet(r -> new Replicator.Get<>(KEY, Replicator.readLocal(), r), resp -> new Written(resp, key, sealed, replyTo));
  }

  private Behavior<Command> onWritten(Written m) {
    boolean ok = m.response() instanceof Replicator.GetSuccess<LWWMap<String, SealedValue>> got
        && got.get(KEY).get(m.key()).contains(m.sealed());
    m.replyTo().tell(ok);
    return Behaviors.same();
  }

  private Behavior<Command> onSpread(Spread m) {
    if (!(m.response() instanceof Replicator.UpdateSuccess)) {
      log.debug("a view entry was not acknowledged by every member in time ({}); gossip carries it on", m.response());
    }
    return Behaviors.same();
  }

  private static String context(String key) {
    return "config-view:" + key;
  }

  private byte[] write(ConfigView view) {
    try {
      return mapper.writeValueAsBytes(view);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write the view of " + view.key(), e);
    }
  }

  private ConfigView read(byte[] bytes) throws IOException {
    return mapper.readValue(bytes, ConfigView.class);
  }

  private static final class Id extends ExtensionId<ConfigViews> {
    static final Id INSTANCE = new Id();

    @Override
    public ConfigViews createExtension(ActorSystem<?> system) {
      return new ConfigViews(system);
    }
  }
}
