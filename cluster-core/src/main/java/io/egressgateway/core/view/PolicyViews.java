package io.egressgateway.core.view;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import io.egressgateway.core.model.GatewayPolicy;
import io.egressgateway.core.security.SealedValue;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

/**
 * The replicated view of the cluster-wide gateway policies ({@code EgressGatewayPolicy}), resolved by the controllers:
 * a {@link SignedView} keyed by policy name holding {@link GatewayPolicy} values (the namespaces each selects already
 * resolved, so nodes need no Namespace watch). Nodes read it locally: the CNI path picks a pod's configuration from
 * it and a node agent moves its pods' tunnels when it changes.
 *
 * <p>Signed and verified as {@link ConfigViews} entries are (context {@code policy-view:<name>}). Both controllers
 * publish the same resolution from their own caches; the last writer wins, and a writer whose cache lags publishes
 * again once it has caught up.
 */
public final class PolicyViews implements Extension {

  public static final Key<LWWMap<String, SealedValue>> KEY = LWWMapKey.create("egress-policy-view-signed");

  private final SignedView<GatewayPolicy> view;

  private PolicyViews(ActorSystem<?> system) {
    this.view = new SignedView<>(system, new SignedView.Spec<>(KEY, "egress-policy-views", GatewayPolicy.class,
        GatewayPolicy::name, "GatewayPolicy", "policy-view", "policy", "policy view"));
  }

  public static PolicyViews get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** All policies as this member currently sees them, by name. Never blocks. */
  public Map<String, GatewayPolicy> current() {
    return view.current();
  }

  /** Calls {@code listener} with the whole map now and after every change; it runs on the keeper's thread: be quick. */
  public void subscribe(Consumer<Map<String, GatewayPolicy>> listener) {
    view.subscribe(listener);
  }

  /** Publishes (replaces) one policy; completes when the local replica has it. */
  public CompletionStage<Boolean> publish(GatewayPolicy policy) {
    return view.publish(policy);
  }

  /** Removes one policy; completes when the local replica no longer has it. */
  public CompletionStage<Boolean> remove(String name) {
    return view.remove(name);
  }

  private static final class Id extends ExtensionId<PolicyViews> {
    static final Id INSTANCE = new Id();

    @Override
    public PolicyViews createExtension(ActorSystem<?> system) {
      return new PolicyViews(system);
    }
  }
}
