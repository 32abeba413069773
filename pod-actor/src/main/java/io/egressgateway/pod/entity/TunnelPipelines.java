package io.egressgateway.pod.entity;

import io.egressgateway.core.model.Failures;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.infra.HostPodDatapath;
import io.egressgateway.pod.model.FirstSuccess;
import io.egressgateway.pod.model.Route;
import io.egressgateway.pod.infra.PodDatapath;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The datapath work behind {@link PodTunnel}'s commands, as futures the entity pipes back to itself:
 * blocking steps run on {@code blocking}, gateway asks are asynchronous. Holds no state.
 */
final class TunnelPipelines {
  private static final Logger log = LoggerFactory.getLogger(TunnelPipelines.class);
  private final PodTunnel.Deps deps;
  private final Executor blocking;

  TunnelPipelines(PodTunnel.Deps deps, Executor blocking) {
    this.deps = deps;
    this.blocking = blocking;
  }

  /**
   * The pod's peer on the gateways and the pod's device (without a peer) at the same time, then the device's
   * gateway peer and the routes. The kernel sends into a device as soon as it is up (IPv6 router
   * solicitations, MLD), so a device with its peer already set would start a handshake at once; a gateway
   * without the pod's peer drops it and WireGuard retries only after 5 s. With the peer set only once the
   * gateways confirmed, the first handshake reaches a gateway that knows the pod. Completes with the first
   * gateway that confirmed. A replaced sandbox's old peer is removed afterwards, best effort.
   *
   * <p>Nothing of a failed or replaced attempt stays in the pod's namespace, because the next attempt of the
   * same pod can only put its wg0 where none is: a replaced sandbox's device in the same namespace (a runtime
   * that retries the pod's ADD with a new container in the namespace it keeps, after a stale ADD of the old
   * container was served once its own DEL had already found nothing) is removed before the new device is
   * made, and a device this attempt made is removed when a later step fails (say the pod's eth0 is gone
   * because the runtime gave up on this ADD and ran its DEL meanwhile). The attempt's gateway peers stay
   * until its DEL, which the runtime sends for every failed ADD.
   */
  CompletableFuture<String> provision(PodTunnel.Tunnel t, ConfigView view, List<Route> routes, String privateKey,
      PodTunnel.Tunnel replaced) {
    long start = System.nanoTime();
    Map<String, CompletionStage<?>> attempts = new LinkedHashMap<>();
    for (String gw : view.gateways().keySet()) {
      attempts.put(gw, deps.gateways().addPeer(gw, view.uid(), t.publicKey(), t.podIp()));
    }
    CompletableFuture<Long> deviceAt = CompletableFuture.supplyAsync(() -> {
      if (replaced != null && replaced.netns().equals(t.netns()) && !replaced.deviceName().equals(t.deviceName())) {
        deps.datapath().detach(replaced.netns(), replaced.deviceName());
      }
      deps.datapath().prepare(attachment(t, view), privateKey);
      return System.nanoTime();
    }, blocking);
    CompletableFuture<String> done = FirstSuccess.await(attempts, deps.gatewayWait(), deps.gatewayGrace())
        .thenApply(confirmed -> new Ready(confirmed, System.nanoTime(), 0))
        .thenCombine(deviceAt, (ready, deviceReady) -> new Ready(ready.gateways(), ready.at(), deviceReady))
        .thenApplyAsync(c -> {
          long routesFrom = System.nanoTime();
          deps.datapath().connect(attachment(t, view));
          deps.datapath().applyRoutes(t.netns(), routes);
          // where an ADD's time goes, per pod: the first thing to look at when a node is slow to start pods
          log.info("{}: device ready after {} ms, gateways {} after {} ms, peer and routes after {} ms more",
              t.deviceName(), ms(start, c.deviceAt()), c.gateways(), ms(start, c.at()), ms(routesFrom, System.nanoTime()));
          if (replaced != null && !replaced.publicKey().equals(t.publicKey())) {
            removePeers(replaced, "");
          }
          return c.gateways().get(0);
        }, blocking);
    // a failed attempt takes its device out of the pod again (only its own: the alias says whose wg0 it is)
    return done.handleAsync((gw, err) -> {
      if (err == null) {
        return CompletableFuture.completedFuture(gw);
      }
      try {
        deps.datapath().detach(t.netns(), t.deviceName());
      } catch (RuntimeException e) {
        log.warn("{}: the failed attempt's device could not be removed: {}", t.deviceName(), HostPodDatapath.describe(e));
      }
      return CompletableFuture.<String>failedFuture(err);
    }, blocking).thenCompose(f -> f);
  }

  /** Re-creates a dead device with the key it had; the gateways keep the peer. */
  CompletableFuture<Void> reattach(PodTunnel.Tunnel t, ConfigView view, List<Route> routes, String privateKey) {
    return CompletableFuture.runAsync(() -> {
      deps.datapath().attach(attachment(t, view), privateKey);
      deps.datapath().applyRoutes(t.netns(), routes);
    }, blocking);
  }

  /** Brings a running tunnel to a changed configuration, see {@link PodDatapath#follow}. */
  CompletableFuture<Void> follow(PodTunnel.Tunnel t, ConfigView view, List<Route> routes, String previousEndpoint) {
    return CompletableFuture.runAsync(() -> deps.datapath().follow(attachment(t, view), routes, previousEndpoint), blocking);
  }

  /** The tunnel endpoint of {@code view}: {@code ilbIp:port}. */
  static String endpoint(ConfigView view) {
    return view.ilbIp() + ":" + view.port();
  }

  /** Looks for a tunnel's device after an agent restart, see {@link PodDatapath#resume}. */
  CompletableFuture<PodDatapath.Resumption> resume(PodTunnel.Tunnel t, ConfigView view) {
    return CompletableFuture.supplyAsync(() -> deps.datapath().resume(attachment(t, view)), blocking);
  }

  /**
   * Removes the peer from the gateways (bounded) and the device from the pod, whatever fails; completes
   * with what went wrong, empty when nothing did.
   */
  CompletableFuture<String> deprovision(PodTunnel.Tunnel t, String confirmedGateway) {
    return removePeers(t, confirmedGateway)
        .thenApplyAsync(gatewayError -> {
          String error = gatewayError;
          try {
            deps.datapath().detach(t.netns(), t.deviceName());
          } catch (RuntimeException e) {
            error = (error.isEmpty() ? "" : error + "; ") + "datapath: " + HostPodDatapath.describe(e);
          }
          return error;
        }, blocking);
  }

  private CompletableFuture<String> removePeers(PodTunnel.Tunnel t, String confirmedGateway) {
    ConfigView view = deps.views().get().get(t.configKey());
    Set<String> gateways = new LinkedHashSet<>();
    if (!confirmedGateway.isEmpty()) {
      gateways.add(confirmedGateway);
    }
    gateways.addAll(t.gateways());
    if (view != null && view.uid().equals(t.configUid())) {
      gateways.addAll(view.gateways().keySet());
    }
    // one attempt each, bounded: a gateway that misses it (down, restarting) drops the peer when the next
    // list of this node's tunnels reaches it (PeerSync), which no longer has the tunnel
    CompletableFuture<?>[] removals = gateways.stream()
        .map(gw -> deps.gateways().removePeer(gw, t.configUid(), t.publicKey()).toCompletableFuture()
            .orTimeout(deps.gatewayWait().toMillis(), TimeUnit.MILLISECONDS))
        .toArray(CompletableFuture[]::new);
    return CompletableFuture.allOf(removals)
        .handle((v, err) -> err == null ? "" : "gateway peer removal: " + describe(err));
  }

  private static PodDatapath.Attachment attachment(PodTunnel.Tunnel t, ConfigView view) {
    return new PodDatapath.Attachment(t.deviceName(), t.netns(), endpoint(view), view.gatewayPublicKey());
  }

  /** The gateways that confirmed the pod's peer and when ({@link System#nanoTime}); when the device was ready. */
  private record Ready(List<String> gateways, long at, long deviceAt) {}

  private static long ms(long from, long to) {
    return (to - from) / 1_000_000;
  }

  static String describe(Throwable err) {
    Throwable t = Failures.unwrap(err);
    if (t instanceof java.util.concurrent.TimeoutException) {
      return "timed out";
    }
    return HostPodDatapath.describe(t);
  }
}
