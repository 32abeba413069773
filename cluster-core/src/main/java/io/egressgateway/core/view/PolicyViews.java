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
import io.egressgateway.core.model.GatewayPolicy;
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

/**
 * The replicated view of the cluster-wide gateway policies ({@code EgressGatewayPolicy}), resolved by the controllers:
 * an {@link LWWMap} keyed by policy name holding {@link GatewayPolicy} values (the namespaces each selects already
 * resolved, so nodes need no Namespace watch). Nodes read it locally: the CNI path picks a pod's configuration from
 * it and a node agent moves its pods' tunnels when it changes.
 *
 * <p>Signed and verified as {@link ConfigViews} entries are (context {@code policy-view:<name>}): with
 * {@code egress.security.enforce} on, only entries signed by a controller, for the name they are stored under, never
 * older than the one already read; a removal is a signed empty entry. Both controllers publish the same resolution
 * from their own caches; the last writer wins, and a writer whose cache lags publishes again once it has caught up.
 */
public final class PolicyViews implements Extension {

  public static final Key<LWWMap<String, SealedValue>> KEY = LWWMapKey.create("egress-policy-view-signed");
  private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(3);

  private final ActorSystem<?> system;
  private final Security security;
  private final ObjectMapper mapper;
  private final ActorRef<Command> keeper;
  private final CopyOnWriteArrayList<Consumer<Map<String, GatewayPolicy>>> listeners = new CopyOnWriteArrayList<>();
  private volatile Map<String, GatewayPolicy> current = Map.of();

  private PolicyViews(ActorSystem<?> system) {
    this.system = system;
    this.security = Security.get(system);
    this.mapper = JacksonObjectMapperProvider.get(akka.actor.typed.javadsl.Adapter.toClassic(system))
        .getOrCreate("jackson-cbor", Optional.of(new CBORFactory()));
    this.keeper = system.systemActorOf(keeper(), "egress-policy-views", Props.empty());
  }

  public static PolicyViews get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** All policies as this member currently sees them, by name. Never blocks. */
  public Map<String, GatewayPolicy> current() {
    return current;
  }

  /** Calls {@code listener} with the whole map now and after every change; it runs on the keeper's thread: be quick. */
  public void subscribe(Consumer<Map<String, GatewayPolicy>> listener) {
    listeners.add(listener);
    listener.accept(current);
  }

  /** Publishes (replaces) one policy; completes when the local replica has it. */
  public CompletionStage<Boolean> publish(GatewayPolicy policy) {
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Put(policy.name(), policy, r), WRITE_TIMEOUT, system.scheduler());
  }

  /** Removes one policy; completes when the local replica no longer has it. */
  public CompletionStage<Boolean> remove(String name) {
    return AskPattern.ask(keeper, (ActorRef<Boolean> r) -> new Put(name, null, r), WRITE_TIMEOUT, system.scheduler());
  }

  // --- the keeper actor ---

  private sealed interface Command {}

  /** {@code policy} null: a removal. */
  private record Put(String name, GatewayPolicy policy, ActorRef<Boolean> replyTo) implements Command {}

  private record Changed(Replicator.SubscribeResponse<LWWMap<String, SealedValue>> response) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, SealedValue>> response, ActorRef<Boolean> replyTo)
      implements Command {}

  private record Accepted(GatewayPolicy policy, long signedAt, SealedValue from) {}

  private final Map<String, Accepted> accepted = new HashMap<>();
  private final Map<String, SealedValue> refused = new HashMap<>();

  private Behavior<Command> keeper() {
    return Behaviors.setup(ctx -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      return DistributedData.withReplicatorMessageAdapter(
          (ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator) -> {
            replicator.subscribe(KEY, Changed::new);
            return Behaviors.receive(Command.class)
                .onMessage(Put.class, m -> onPut(replicator, self, m))
                .onMessage(Changed.class, this::onChanged)
                .onMessage(Written.class, m -> onWritten(m))
                .build();
          });
    });
  }

  private Behavior<Command> onPut(ReplicatorMessageAdapter<Command, LWWMap<String, SealedValue>> replicator,
      SelfUniqueAddress self, Put m) {
    byte[] payload = m.policy() == null ? new byte[0] : write(m.policy());
    SealedValue sealed = new SealedValue(security.seals().seal(context(m.name()), payload));
    replicator.askUpdate(
        r -> new Replicator.Update<>(KEY, LWWMap.empty(), Replicator.writeLocal(), r, map -> map.put(self, m.name(), sealed)),
        resp -> new Written(resp, m.replyTo()));
    return Behaviors.same();
  }

  private Behavior<Command> onWritten(Written m) {
    m.replyTo().tell(m.response() instanceof Replicator.UpdateSuccess);
    return Behaviors.same();
  }

  private Behavior<Command> onChanged(Changed m) {
    if (m.response() instanceof Replicator.Changed<LWWMap<String, SealedValue>> changed) {
      boolean updated = false;
      for (Map.Entry<String, SealedValue> e : changed.get(KEY).getEntries().entrySet()) {
        updated |= read(e.getKey(), e.getValue());
      }
      if (updated) {
        Map<String, GatewayPolicy> policies = new HashMap<>();
        accepted.forEach((k, a) -> {
          if (a.policy() != null) {
            policies.put(k, a.policy());
          }
        });
        current = Map.copyOf(policies);
        listeners.forEach(l -> l.accept(current));
      }
    }
    return Behaviors.same();
  }

  /** Verifies one entry that changed; true if the accepted policies changed. Refuses each bad entry once. */
  private boolean read(String name, SealedValue value) {
    Accepted known = accepted.get(name);
    if ((known != null && value.equals(known.from())) || value.equals(refused.get(name))) {
      return false;
    }
    try {
      Seals.Opened opened = security.seals().open(context(name), "GatewayPolicy", value.bytes(), null);
      if (security.seals().enforcing() && !opened.signer().hasRole(Roles.CONTROLLER)) {
        throw new Refused("GatewayPolicy", opened.signer(), "only controllers write the policy view (policy " + name + ")");
      }
      if (known != null && opened.signedAt() < known.signedAt()) {
        throw new Refused("GatewayPolicy", opened.signer(), "entry for policy " + name + " signed before the one already read (a replay)");
      }
      GatewayPolicy policy = opened.payload().length == 0 ? null : mapper.readValue(opened.payload(), GatewayPolicy.class);
      if (policy != null && !policy.name().equals(name)) {
        throw new Refused("GatewayPolicy", opened.signer(), "entry for policy " + policy.name() + " stored under " + name);
      }
      accepted.put(name, new Accepted(policy, opened.signedAt(), value));
      refused.remove(name);
      return true;
    } catch (Refused r) {
      refused.put(name, value);
      security.refused(r, "the replicated policy view");
      return false;
    } catch (IOException | RuntimeException e) {
      refused.put(name, value);
      security.refused(new Refused("GatewayPolicy", Principal.UNVERIFIED, "unreadable entry for policy " + name + ": " + e),
          "the replicated policy view");
      return false;
    }
  }

  private static String context(String name) {
    return "policy-view:" + name;
  }

  private byte[] write(GatewayPolicy policy) {
    try {
      return mapper.writeValueAsBytes(policy);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write policy " + policy.name(), e);
    }
  }

  private static final class Id extends ExtensionId<PolicyViews> {
    static final Id INSTANCE = new Id();

    @Override
    public PolicyViews createExtension(ActorSystem<?> system) {
      return new PolicyViews(system);
    }
  }
}
