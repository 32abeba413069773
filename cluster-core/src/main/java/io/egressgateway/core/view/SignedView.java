package io.egressgateway.core.view;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A replicated map of values that only controllers write, by name (Akka Distributed Data, an {@link LWWMap} of
 * {@link SealedValue}s): the machinery behind {@link ConfigViews} and {@link PolicyViews}. Each member keeps the
 * latest accepted map in memory, so a read is one volatile read.
 *
 * <p>Every entry is signed by the member that wrote it ({@link Seals}, context {@code <context>:<name>}) and verified
 * by each reader when it changes: with {@code egress.security.enforce} on, a reader takes only entries signed by a
 * controller certificate, for the name they are stored under, and never older than the entry it already has (a
 * replayed old entry is refused). A removal is a signed empty entry, so a member that deletes names from the map
 * removes nothing: readers keep the last entry they verified. Each refused entry is logged and counted once.
 *
 * @param <V> the payload, written as CBOR with the actor system's Jackson settings
 */
public final class SignedView<V> {

  /**
   * What one view is.
   *
   * @param key       the replicated map
   * @param actorName the name of the system actor that keeps it
   * @param type      the payload's class
   * @param nameOf    the name a payload is stored under (the reader checks it against the entry's name)
   * @param kind      what refusals are counted as ({@code egress_refused_messages_total{kind}})
   * @param context   the signature context's prefix ({@code <context>:<name>})
   * @param noun      what an entry is called in log lines ({@code "config"}, {@code "policy"})
   * @param title     what the view is called in log lines ({@code "configuration view"})
   */
  public record Spec<V>(Key<LWWMap<String, SealedValue>> key, String actorName, Class<V> type, Function<V, String> nameOf,
      String kind, String context, String noun, String title) {}

  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(3);
  /**
   * A change is sent to every member at once. Written locally only, Distributed Data would pass it on by itself:
   * deltas every gossip interval / 5 (400 ms) to at most 10 members per tick, and full-state gossip every 2 s to one
   * member at a time, so a change took about N / 10 x 0.4 s to reach N members (docs/benchmarks.md, "Scale by
   * simulation"). Sent to all, it costs one small message per member per change; these views change rarely. A
   * member that does not acknowledge within the timeout gets the entry by gossip; no caller waits for it.
   */
  private static final Replicator.WriteConsistency TO_ALL = new Replicator.WriteAll(Duration.ofSeconds(5));
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SignedView.class);

  private final Spec<V> spec;
  private final ActorSystem<?> system;
  private final Security security;
  private final ObjectMapper mapper;
  private final ActorRef<Command> keeper;
  private final CopyOnWriteArrayList<Consumer<Map<String, V>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, V> current = Map.of();

  /** The keeper's state: only its actor touches these. */
  private final Map<String, Accepted<V>> accepted = new HashMap<>();
  /** Entries read and not taken (refused, or superseded by a newer signature of the same value): read once. */
  private final Map<String, SealedValue> notTaken = new HashMap<>();

  public SignedView(ActorSystem<?> system, Spec<V> spec) {
    this.spec = spec;
    this.system = system;
    // made now, not at the first publish, whose caller waits only WRITE_TIMEOUT
    this.security = Security.get(system);
    this.mapper = JacksonObjectMapperProvider.get(akka.actor.typed.javadsl.Adapter.toClassic(system))
        .getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
    this.keeper = system.systemActorOf(keeper(), spec.actorName(), Props.empty());
  }

  /** All entries as this member currently sees them, by name. Never blocks. */
  public Map<String, V> current() {
    return current;
  }

  /**
   * Calls {@code listener} with the whole map now and after every change. Listeners run on the keeper actor's
   * thread: they must be quick and must not block (typically they tell an actor).
   */
  public void subscribe(Consumer<Map<String, V>> listener) {
    // under the same lock as a change's notification: otherwise a subscriber could be told the view before the
    // change after being told the changed one, and keep the older view until the next change
    synchronized (listeners) {
      listeners.add(listener);
      listener.accept(current);
    }
  }

  public void unsubscribe(Consumer<Map<String, V>> listener) {
    listeners.remove(listener);
  }

  /** Publishes (replaces) one entry under its name; completes when the local replica has it. */
  public CompletionStage<Boolean> publish(V value) {
    String name = spec.nameOf().apply(value);
    byte[] payload;
    try {
      payload = mapper.writeValueAsBytes(value);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("cannot write " + spec.noun() + " " + name, e));
    }
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Put(name, payload, r), WRITE_TIMEOUT, system.scheduler());
  }

  /** Removes one entry (writes its signed empty entry); completes when the local replica has the removal. */
  public CompletionStage<Boolean> remove(String name) {
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Put(name, new byte[0], r), WRITE_TIMEOUT, system.scheduler());
  }

  // --- the keeper actor: owns the replicator subscription and the writes ---

  private sealed interface Command {}

  /** {@code payload} empty: a removal. */
  private record Put(String name, byte[] payload, ActorRef<Boolean> replyTo) implements Command {}

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, SealedValue>> response) implements Command {}

  /** The local replica's map right after a write: whether it holds {@code sealed} under {@code name}. */
  private record Written(Replicator.GetResponse<LWWMap<String, SealedValue>> response, String name, SealedValue sealed,
      ActorRef<Boolean> replyTo) implements Command {}

  /** How sending a write to every member ended (nobody waits for it). */
  private record Spread(Replicator.UpdateResponse<LWWMap<String, SealedValue>> response) implements Command {}

  /** The entry a reader took for a name: its value (null once removed) and when it was signed. */
  private record Accepted<V>(V value, long signedAt, SealedValue from) {}

  private Behavior<Command> keeper() {
    return Behaviors.setup(ctx -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      return DistributedData.withReplicatorMessageAdapter(
          (ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator) -> {
            replicator.subscribe(spec.key(), Changed::new);
            return Behaviors.receive(Command.class)
                .onMessage(Put.class, m -> onPut(replicator, self, m))
                .onMessage(Changed.class, this::onChanged)
                .onMessage(Written.class, this::onWritten)
                .onMessage(Spread.class, this::onSpread)
                .build();
          });
    });
  }

  private Behavior<Command> onPut(ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator,
      SelfUniqueAddress self, Put m) {
    SealedValue sealed = new SealedValue(security.seals().sealWithCertificate(context(m.name()), m.payload()));
    // the replicator applies an update to its own replica when it receives it, so a local read sent after the
    // update answers once the local replica holds it, without waiting for the other members' acknowledgements
    replicator.askUpdate(
        r -> new Replicator.Update<>(spec.key(), LWWMap.empty(), TO_ALL, r, map -> map.put(self, m.name(), sealed)),
        Spread::new);
    replicator.askGet(r -> new Replicator.Get<>(spec.key(), Replicator.readLocal(), r),
        resp -> new Written(resp, m.name(), sealed, m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onWritten(Written m) {
    m.replyTo().tell(m.response() instanceof Replicator.GetSuccess<LWWMap<String, SealedValue>> got
        && got.get(spec.key()).get(m.name()).contains(m.sealed()));
    return Behaviors.same();
  }

  private Behavior<Command> onSpread(Spread m) {
    if (!(m.response() instanceof Replicator.UpdateSuccess)) {
      log.debug("a {} entry was not acknowledged by every member in time ({}); gossip carries it on", spec.noun(),
          m.response());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onChanged(Changed m) {
    if (m.response() instanceof Replicator.Changed<LWWMap<String, SealedValue>> changed) {
      boolean updated = false;
      for (Map.Entry<String, SealedValue> e : changed.get(spec.key()).getEntries().entrySet()) {
        updated |= read(e.getKey(), e.getValue());
      }
      if (updated) {
        Map<String, V> values = new HashMap<>();
        accepted.forEach((name, a) -> {
          if (a.value() != null) {
            values.put(name, a.value());
          }
        });
        synchronized (listeners) {
          current = Map.copyOf(values);
          listeners.forEach(l -> l.accept(current));
        }
      }
    }
    return Behaviors.same();
  }

  /** Verifies one entry that changed; true if the accepted values changed. Refuses each bad entry once. */
  private boolean read(String name, SealedValue value) {
    Accepted<V> known = accepted.get(name);
    if ((known != null && value.equals(known.from())) || value.equals(notTaken.get(name))) {
      return false;
    }
    String entry = spec.noun() + " " + name;
    try {
      Seals.Opened opened = security.seals().open(context(name), spec.kind(), value.bytes(), null);
      if (security.seals().enforcing() && !opened.signer().hasRole(Roles.CONTROLLER)) {
        throw new Refused(spec.kind(), opened.signer(), "only controllers write the " + spec.title() + " (" + entry + ")");
      }
      V read = opened.payload().length == 0 ? null : mapper.readValue(opened.payload(), spec.type());
      if (known != null && opened.signedAt() < known.signedAt()) {
        if (opened.signer().hasRole(Roles.CONTROLLER) && java.util.Objects.equals(read, known.value())) {
          // two controllers wrote the same value at about the same time and the map's merge kept the one signed
          // first: nothing older comes back, so this is no replay; the newer signature stays
          notTaken.put(name, value);
          log.debug("{}: the same value signed earlier by another controller, superseded", entry);
          return false;
        }
        throw new Refused(spec.kind(), opened.signer(), "entry for " + entry + " signed before the one already read (a replay)");
      }
      if (read != null && !spec.nameOf().apply(read).equals(name)) {
        throw new Refused(spec.kind(), opened.signer(),
            "entry for " + spec.noun() + " " + spec.nameOf().apply(read) + " stored under " + name);
      }
      accepted.put(name, new Accepted<>(read, opened.signedAt(), value));
      notTaken.remove(name);
      return true;
    } catch (Refused r) {
      notTaken.put(name, value);
      security.refused(r, "the replicated " + spec.title());
      return false;
    } catch (IOException | RuntimeException e) {
      notTaken.put(name, value);
      security.refused(new Refused(spec.kind(), Principal.UNVERIFIED, "unreadable entry for " + entry + ": " + e),
          "the replicated " + spec.title());
      return false;
    }
  }

  private String context(String name) {
    return spec.context() + ":" + name;
  }
}
