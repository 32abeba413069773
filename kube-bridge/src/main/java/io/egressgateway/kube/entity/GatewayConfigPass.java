package io.egressgateway.kube.entity;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.kube.infra.AzureProvisioner;
import io.egressgateway.kube.infra.SgcApi;
import io.egressgateway.kube.model.Allocation;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.kube.model.SpecValidation;
import io.egressgateway.kube.model.StatusPlanner;
import io.egressgateway.kube.model.WireGuardKeys;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reconcile pass of a {@link GatewayConfig}, run on the blocking dispatcher: it compares the
 * observed snapshot with the entity's persisted decisions, performs the Kubernetes/Azure/view writes
 * that differ, and returns what the entity must persist. Each pass does at most one step that yields a
 * new decision and stops there, so decisions are persisted before anything is built on them.
 */
final class GatewayConfigPass {
  private static final Logger log = LoggerFactory.getLogger(GatewayConfigPass.class);

  /** What a pass asks the entity to persist (at most one of the fields set) or nothing. */
  record Result(Optional<Allocation> provisioned, boolean released, boolean forgotten, boolean retry) {
    static final Result NOTHING = new Result(Optional.empty(), false, false, false);
    static final Result RETRY = new Result(Optional.empty(), false, false, true);
  }

  private final SgcApi kube;
  private final AzureProvisioner azure;
  private final ConfigViews views;
  private final Duration azureTimeout;

  GatewayConfigPass(SgcApi kube, AzureProvisioner azure, ConfigViews views, Duration azureTimeout) {
    this.kube = kube;
    this.azure = azure;
    this.views = views;
    this.azureTimeout = azureTimeout;
  }

  /** Tracking a valid or invalid live SGC. */
  Result reconcile(GatewayConfig.Active state, ObservedSgc o) throws Exception {
    Optional<SpecValidation.Rejection> rejection = SpecValidation.validate(o.spec());
    if (rejection.isPresent()) {
      writeStatus(o, new StatusPlanner.Outcome(o.generation(), rejection, "", "", "", Optional.empty(), ""));
      return Result.NOTHING;
    }
    if (!o.hasFinalizer() && !kube.addFinalizer(o.namespace(), o.name(), o.uid())) {
      return Result.NOTHING;
    }
    String secretName = ObservedSgc.secretName(o.uid());
    String publicKey = o.secretPublicKey();
    if (publicKey.isEmpty()) {
      // the cache may lag behind a Secret we just created: ask the API server before creating one
      Optional<String> stored = kube.keySecretPublicKey(secretName, o.namespace(), o.name());
      if (stored.isPresent()) {
        publicKey = stored.get();
      } else {
        publicKey = kube.createKeySecret(secretName, o.namespace(), o.name(), WireGuardKeys.generate());
        boolean recreated = !o.status().publicKey().isEmpty() && !o.status().publicKey().equals(publicKey);
        kube.event(o.namespace(), o.name(), o.uid(), false, recreated ? "KeyPairRecreated" : "KeyPairCreated",
            recreated
                ? "key Secret " + secretName + " was recreated with a new gateway key; pods receive it through the view"
                : "gateway key pair kept in Secret " + secretName);
      }
    }
    if (state.allocation() == null) {
      publishProvisioning(o, publicKey, secretName);
    }
    // the Go original's objects matter only until the pool has accepted the config: it keeps the names
    SgcApi.LegacyUids legacy = state.allocation() == null ? kube.legacyUids(o.namespace(), o.name(), o.uid()) : SgcApi.LegacyUids.NONE;
    Allocation allocation;
    String error = "";
    try {
      allocation = azure.ensure(new AzureProvisioner.Request(o.key(), o.uid(), o.spec(), o.gatewayNodes(), legacy))
          .toCompletableFuture().get(azureTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      error = "Azure provisioning failed: " + cause.getMessage();
      log.warn("[{}] {}", o.key(), error);
      allocation = state.allocation();
    }
    if (error.isEmpty() && !allocation.equals(state.allocation())) {
      return new Result(Optional.of(allocation), false, false, false);
    }
    if (allocation != null) {
      publishView(o, allocation, publicKey, secretName);
    }
    writeStatus(o, new StatusPlanner.Outcome(o.generation(), Optional.empty(),
        publicKey, secretName, kube.secretNamespace(), Optional.ofNullable(allocation), error));
    return error.isEmpty() ? Result.NOTHING : Result.RETRY;
  }

  /** Deleting: Azure first, then the Secret and the view, then the finalizer. */
  Result cleanUp(GatewayConfig.Deleting state, ObservedSgc o) throws Exception {
    if (!state.released()) {
      azure.release(state.key(), state.uid()).toCompletableFuture().get(azureTimeout.toMillis(), TimeUnit.MILLISECONDS);
      return new Result(Optional.empty(), true, false, false);
    }
    String secretName = ObservedSgc.secretName(state.uid());
    if (!kube.deleteKeySecret(secretName, o.namespace(), o.name())) {
      throw new IllegalStateException("key Secret " + secretName + " is still present");
    }
    // the local replica may not show our own latest publish yet (a view published just before the deletion):
    // absent counts as ours; only another uid's view is left alone
    ConfigView shown = views.current().get(state.key());
    if (shown == null || state.uid().equals(shown.uid())) {
      views.remove(state.key()).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    if (o.present() && o.uid().equals(state.uid())) {
      kube.event(o.namespace(), o.name(), o.uid(), false, "CleanedUp",
          "Azure resources, key Secret and node view removed; removing the finalizer");
      kube.removeFinalizer(o.namespace(), o.name(), o.uid());
    }
    return new Result(Optional.empty(), false, true, false);
  }

  /** A Warning Event for a failed pass (best effort; the pass is retried with backoff). */
  void reportError(ObservedSgc o, String message) {
    if (o.present()) {
      try {
        kube.event(o.namespace(), o.name(), o.uid(), true, "ReconcileError", message);
      } catch (RuntimeException e) {
        log.debug("[{}] could not record the error Event: {}", o.key(), e.toString());
      }
    }
  }

  /**
   * Until the first allocation, the view holds the config as not ready (no endpoint, port or gateways yet), so
   * a pod created meanwhile is told it is provisioning rather than unknown. Only while nothing was allocated:
   * the local replica may lag behind our own publishes, and a not-ready view must never replace a ready one.
   */
  private void publishProvisioning(ObservedSgc o, String publicKey, String secretName) throws Exception {
    ConfigView shown = views.current().get(o.key());
    if (shown != null && shown.uid().equals(o.uid())) {
      return;
    }
    ConfigView view = new ConfigView(o.key(), o.uid(), o.generation(), "", 0, publicKey, secretName,
        o.spec().excludeCidrs(), o.spec().defaultRoute(), "", Map.of(), false);
    views.publish(view).toCompletableFuture().get(5, TimeUnit.SECONDS);
    log.info("[{}] view published while Azure provisions (ready=false)", o.key());
  }

  private void publishView(ObservedSgc o, Allocation a, String publicKey, String secretName) throws Exception {
    Map<String, ConfigView.GatewayAddresses> gateways = new TreeMap<>();
    a.nodes().forEach((node, ips) -> gateways.put(node, new ConfigView.GatewayAddresses(ips.primaryIp(), ips.secondaryIp())));
    ConfigView view = new ConfigView(o.key(), o.uid(), o.generation(), a.ilbIp(), a.port(), publicKey, secretName,
        o.spec().excludeCidrs(), o.spec().defaultRoute(), o.spec().provisionPublicIps() ? a.egressPrefix() : "",
        gateways, a.complete());
    if (!view.equals(views.current().get(o.key()))) {
      views.publish(view).toCompletableFuture().get(5, TimeUnit.SECONDS);
      log.info("[{}] view published (port {}, {} gateway(s), ready={})", o.key(), a.port(), gateways.size(), view.ready());
    }
  }

  private void writeStatus(ObservedSgc o, StatusPlanner.Outcome planned) {
    StatusPlanner.Outcome outcome = planned.withGrant(o.spec().grant());
    String now = now();
    if (StatusPlanner.desired(o.status(), outcome, now).equals(o.status())) {
      return; // the cached status is already right: no read, no write
    }
    // the snapshot may lag behind our own last write: plan and announce from what the API server holds
    kube.updateStatus(o.namespace(), o.name(), o.uid(), current -> StatusPlanner.desired(current, outcome, now))
        .ifPresent(change -> announce(o, change.before(), change.after()));
  }

  /** Events for what changed between two statuses (a status write is the only trigger, so no duplicates). */
  private void announce(ObservedSgc o, SgcStatus before, SgcStatus after) {
    SgcStatus.Condition accepted = after.condition(SgcStatus.ACCEPTED).orElseThrow();
    SgcStatus.Condition ready = after.condition(SgcStatus.READY).orElseThrow();
    boolean newGeneration = before.condition(SgcStatus.ACCEPTED)
        .map(c -> c.observedGeneration() != accepted.observedGeneration() || !c.status().equals(accepted.status())
            || !c.reason().equals(accepted.reason()))
        .orElse(true);
    if (newGeneration) {
      if (accepted.isTrue()) {
        kube.event(o.namespace(), o.name(), o.uid(), false, "Accepted", "generation " + o.generation() + " accepted");
      } else {
        kube.event(o.namespace(), o.name(), o.uid(), true, "InvalidSpec", accepted.reason() + ": " + accepted.message());
      }
    }
    boolean wasReady = before.isReady();
    if (ready.isTrue() && (!wasReady || !before.egressIpPrefix().equals(after.egressIpPrefix())
        || !before.gatewayProfiles().equals(after.gatewayProfiles()))) {
      kube.event(o.namespace(), o.name(), o.uid(), false, "Provisioned",
          "provisioned with egress prefix " + after.egressIpPrefix() + " via " + after.ilbIp() + ":" + after.port());
    } else if (!ready.isTrue() && "ProvisioningFailed".equals(ready.reason())) {
      kube.event(o.namespace(), o.name(), o.uid(), true, "ProvisioningFailed", ready.message());
    } else if (!ready.isTrue() && accepted.isTrue() && !ready.reason().equals(
        before.condition(SgcStatus.READY).map(SgcStatus.Condition::reason).orElse(""))) {
      kube.event(o.namespace(), o.name(), o.uid(), false, ready.reason(), ready.message());
    }
  }

  private static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
