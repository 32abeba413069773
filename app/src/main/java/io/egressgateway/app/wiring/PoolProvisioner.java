package io.egressgateway.app.wiring;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.pattern.StatusReply;
import akka.persistence.query.PersistenceQuery;
import akka.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import akka.stream.javadsl.Sink;
import io.egressgateway.azure.entity.GatewayPool;
import io.egressgateway.azure.model.AzureNames;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.NodeAddress;
import io.egressgateway.azure.model.PoolRef;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.SgcSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * kube-bridge's Azure port on top of azure-actor's {@code GatewayPool} entities: an SGC's gateway pool
 * (node pool name or VMSS profile) names the pool entity; its answer becomes the SGC's allocation.
 *
 * <p>Release carries only the config's uid (the SGC may be gone), so it asks every pool the journal knows;
 * a pool that does not hold the uid acknowledges at once. Pools are few (one per gateway pool).
 */
public final class PoolProvisioner implements AzureProvisioner {
  private final ActorSystem<?> system;
  private final Duration timeout;

  public PoolProvisioner(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  static PoolRef poolOf(SgcSpec spec) {
    if (spec.vmss() != null && !spec.vmss().name().isEmpty()) {
      return PoolRef.scaleSet(spec.vmss().resourceGroup(), spec.vmss().name());
    }
    return PoolRef.nodepool(spec.gatewayNodepoolName());
  }

  /**
   * A VMSS profile names its prefix length; in node-pool mode (0) the pool decides: its
   * {@code aks-managed-gatewayIPPrefixSize} tag, else {@code egress.azure.default-prefix-length}. The Go
   * original's object uids name the Azure resources it made for this SGC.
   */
  static ConfigSpec configSpec(Request r) {
    int length = r.spec().usesVmssProfile() ? r.spec().vmss().prefixSize() : 0;
    String vmConfig = r.legacy().vmConfigUid();
    return new ConfigSpec(r.key(), r.uid(), r.spec().provisionPublicIps(), length, r.spec().publicIpPrefixId(),
        r.legacy().lbConfigUid(), vmConfig.isEmpty() ? "" : AzureNames.forConfig(vmConfig));
  }

  static Allocation allocationOf(ConfigResult result) {
    Map<String, Allocation.NodeIps> nodes = new TreeMap<>();
    for (NodeAddress n : result.nodes()) {
      nodes.put(n.node(), new Allocation.NodeIps(n.primaryIp(), n.secondaryIp()));
    }
    return new Allocation(result.frontendIp(), result.port(), result.egressPrefix(), nodes);
  }

  @Override
  public CompletionStage<Allocation> ensure(Request request) {
    ConfigSpec spec = configSpec(request);
    return ClusterSharding.get(system)
        .entityRefFor(GatewayPool.ENTITY_KEY, poolOf(request.spec()).entityId())
        .<StatusReply<ConfigResult>>ask(reply -> new GatewayPool.EnsureConfig(spec, reply), timeout)
        .thenApply(StatusReply::getValue)
        .thenApply(PoolProvisioner::allocationOf);
  }

  @Override
  public CompletionStage<Void> release(String key, String uid) {
    return knownPools().thenCompose(pools -> {
      CompletableFuture<?>[] all = pools.stream()
          .map(pool -> ClusterSharding.get(system).entityRefFor(GatewayPool.ENTITY_KEY, pool)
              .<StatusReply<akka.Done>>ask(reply -> new GatewayPool.RemoveConfig(uid, reply), timeout)
              .thenApply(StatusReply::getValue)
              .toCompletableFuture())
          .toArray(CompletableFuture[]::new);
      return CompletableFuture.allOf(all).thenApply(v -> (Void) null);
    });
  }

  /** The gateway pools the journal knows (their entity ids). */
  public CompletionStage<List<String>> knownPools() {
    String prefix = GatewayPool.ENTITY_KEY.name() + "|";
    return PersistenceQuery.get(system)
        .getReadJournalFor(CurrentPersistenceIdsQuery.class, "akka.persistence.r2dbc.query")
        .currentPersistenceIds()
        .filter(id -> id.startsWith(prefix))
        .map(id -> id.substring(prefix.length()))
        .runWith(Sink.seq(), system);
  }
}
