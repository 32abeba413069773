package io.egressgateway.core.view;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import io.egressgateway.core.security.SealedValue;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The replicated view of all gateway configurations, keyed by {@code namespace/name}: a {@link SignedView} of
 * {@link ConfigView}s (context {@code config-view:<key>}). Each member keeps the latest map in memory, so readers on
 * the CNI path pay one volatile read. Writers ({@code GatewayConfig} on controllers) publish whole {@link ConfigView}
 * values; last writer wins per config, and there is exactly one writer per config (its sharded entity). With
 * {@code egress.security.enforce} on, readers take only controller-signed entries, for the key they are stored under,
 * never older than the one already read (see {@link SignedView}).
 *
 * <p>Old-release members read {@link #LEGACY_KEY}, which controllers still write unsigned (best effort, never read
 * here).
 */
public final class ConfigViews implements Extension {

  /** Signed entries: what every member of this release reads. */
  public static final Key<LWWMap<String, SealedValue>> KEY = LWWMapKey.create("egress-config-view-signed");
  /** Plain entries for members of the previous release during a rolling upgrade; never read here. */
  public static final Key<LWWMap<String, ConfigView>> LEGACY_KEY = LWWMapKey.create("egress-config-view");

  private final ActorSystem<?> system;
  private final SignedView<ConfigView> view;

  private ConfigViews(ActorSystem<?> system) {
    this.system = system;
    this.view = new SignedView<>(system, new SignedView.Spec<>(KEY, "egress-config-views", ConfigView.class,
        ConfigView::key, "ConfigView", "config-view", "config", "configuration view"));
  }

  public static ConfigViews get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** All configs as this member currently sees them. Never blocks. */
  public Map<String, ConfigView> current() {
    return view.current();
  }

  public Optional<ConfigView> find(String key) {
    return Optional.ofNullable(view.current().get(key));
  }

  /**
   * Calls {@code listener} with the whole map now and after every change. Listeners run on the keeper
   * actor's thread: they must be quick and must not block (typically they tell an actor).
   */
  public void subscribe(Consumer<Map<String, ConfigView>> listener) {
    view.subscribe(listener);
  }

  public void unsubscribe(Consumer<Map<String, ConfigView>> listener) {
    view.unsubscribe(listener);
  }

  /** Publishes (replaces) one config's view; completes when the local replica has it. */
  public CompletionStage<Boolean> publish(ConfigView config) {
    legacy(map -> map.put(self(), config.key(), config));
    return view.publish(config);
  }

  /** Removes one config's view; completes when the local replica no longer has it. */
  public CompletionStage<Boolean> remove(String key) {
    legacy(map -> map.remove(self(), key));
    return view.remove(key);
  }

  /** The unsigned entry for the previous release: written locally, no answer awaited. */
  private void legacy(Function<LWWMap<String, ConfigView>, LWWMap<String, ConfigView>> modify) {
    ActorRef<Replicator.UpdateResponse<LWWMap<String, ConfigView>>> ignore = system.ignoreRef();
    DistributedData.get(system).replicator()
        .tell(new Replicator.Update<>(LEGACY_KEY, LWWMap.empty(), Replicator.writeLocal(), ignore, modify));
  }

  private SelfUniqueAddress self() {
    return DistributedData.get(system).selfUniqueAddress();
  }

  private static final class Id extends ExtensionId<ConfigViews> {
    static final Id INSTANCE = new Id();

    @Override
    public ConfigViews createExtension(ActorSystem<?> system) {
      return new ConfigViews(system);
    }
  }
}
