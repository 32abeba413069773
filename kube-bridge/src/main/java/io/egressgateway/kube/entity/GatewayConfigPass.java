package io.egressgateway.kube.entity;

import io.egressgateway.core.model.Failures;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.core.view.ConfigViews;
import io.egressgateway.core.view.PodGenerations;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reconcile pass of a {@link GatewayConfig}: it compares the observed snapshot with the entity's
 * persisted decisions, performs the Kubernetes/Azure/view writes that differ, and completes with what the
 * entity must persist. Each pass does at most one step that yields a new decision and stops there, so
 * decisions are persisted before anything is built on them. The Kubernetes calls (blocking) run on the
 * blocking dispatcher; what actors answer (the Azure side, the replicated view) is composed, never waited
 * for, so no thread is held while an actor works.
 */
final class GatewayConfigPass {
  private static final Logger log = LoggerFactory.getLogger(GatewayConfigPass.class);
  /** How long the replicated view may take to accept a write. */
  private static final Duration VIEW_TIMEOUT = Duration.ofSeconds(5);

  /** What a pass asks the entity to persist (at most one of the fields set) or nothing. */
  record Result(Optional<Allocation> provisioned, boolean released, boolean forgotten, boolean retry) {
    static final Result NOTHING = new Result(Optional.empty(), false, false, false);
    static final Result RETRY = new Result(Optional.empty(), false, false, true);
  }

  private final SgcApi kube;
  private final AzureProvisioner azure;
  private final ConfigViews views;
  private final PodGenerations pods;
  private final Duration azureTimeout;
  private final Executor blocking;
  /** No key Secret of this SGC is left in the release namespace (checked by a pass of this entity incarnation). */
  private volatile boolean legacyKeySecretGone;

  GatewayConfigPass(SgcApi kube, AzureProvisioner azure, ConfigViews views, PodGenerations pods, Duration azureTimeout,
      Executor blocking) {
    this.kube = kube;
    this.azure = azure;
    this.views = views;
    this.pods = pods;
    this.azureTimeout = azureTimeout;
    this.blocking = blocking;
  }

  /**
   * What the Kubernetes side of a pass found for the Azure side: the gateway key and the Go original's names; and
   * whether a key Secret of an earlier release may be left in the release namespace (removed once the status names
   * the key namespace).
   */
  private record Prepared(String publicKey, String secretName, SgcApi.LegacyUids legacy, boolean legacyKeySecret) {}

  /** What the Azure side answered: the allocation (the persisted one when it failed) and the error, if any. */
  private record Provisioning(Allocation allocation, String error) {}

  /** Tracking a valid or invalid live SGC. */
  CompletableFuture<Result> reconcile(GatewayConfig.Active state, ObservedSgc o) {
    return CompletableFuture.supplyAsync(() -> prepare(state, o), blocking).thenCompose(p -> p == null
        ? CompletableFuture.completedFuture(Result.NOTHING)
        : (state.allocation() == null ? publishProvisioning(o, p.publicKey(), p.secretName()) : done())
            .thenCompose(v -> provision(state, o, p))
            .thenCompose(a -> finish(state, o, p, a)));
  }

  /** The Kubernetes side: status of an invalid spec, finalizer, key Secret; null when the pass ends here. */
  private Prepared prepare(GatewayConfig.Active state, ObservedSgc o) {
    Optional<SpecValidation.Rejection> rejection = SpecValidation.validate(o.spec());
    if (rejection.isPresent()) {
      writeStatus(o, new StatusPlanner.Outcome(o.generation(), rejection, "", "", "", Optional.empty(), ""));
      return null;
    }
    if (!o.hasFinalizer() && !kube.addFinalizer(o.namespace(), o.name(), o.uid())) {
      return null;
    }
    String secretName = ObservedSgc.secretName(o.uid());
    String publicKey = o.secretPublicKey();
    boolean legacy = legacyKeySecretPossible(o);
    if (publicKey.isEmpty()) {
      // the cache may lag behind a Secret we just created: ask the API server before creating one
      Optional<String> stored = kube.keySecretPublicKey(secretName, o.namespace(), o.name());
      if (stored.isPresent()) {
        publicKey = stored.get();
      } else {
        try {
          // a key Secret an earlier release kept in the release namespace is moved, keys unchanged: tunnels keep theirs
          Optional<String> moved = legacy ? kube.moveLegacyKeySecret(secretName, o.namespace(), o.name()) : Optional.empty();
          if (moved.isPresent()) {
            publicKey = moved.get();
            kube.event(o.namespace(), o.name(), o.uid(), false, "KeySecretMoved", "key Secret " + secretName
                + " moved from namespace " + kube.legacySecretNamespace() + " to " + kube.secretNamespace() + ", keys unchanged");
          } else {
            publicKey = kube.createKeySecret(secretName, o.namespace(), o.name(), WireGuardKeys.generate());
            boolean recreated = !o.status().publicKey().isEmpty() && !o.status().publicKey().equals(publicKey);
            kube.event(o.namespace(), o.name(), o.uid(), false, recreated ? "KeyPairRecreated" : "KeyPairCreated",
                recreated
                    ? "key Secret " + secretName + " was recreated with a new gateway key; pods receive it through the view"
                    : "gateway key pair kept in Secret " + secretName);
          }
        } catch (SgcApi.ForeignKeySecret e) {
          // never adopted or overwritten: the SGC says why (Accepted=False), the failed pass adds a Warning
          // Event and retries with backoff until the Secret is labelled or removed
          writeStatus(o, new StatusPlanner.Outcome(o.generation(),
              Optional.of(new SpecValidation.Rejection("KeySecretConflict", e.getMessage())), "", "", "", Optional.empty(), ""));
          throw e;
        }
      }
    }
    // the Go original's objects matter only until the pool has accepted the config: it keeps the names
    SgcApi.LegacyUids legacyUids = state.allocation() == null ? kube.legacyUids(o.namespace(), o.name(), o.uid()) : SgcApi.LegacyUids.NONE;
    return new Prepared(publicKey, secretName, legacyUids, legacy);
  }

  /**
   * Whether a key Secret of this SGC may still be in the release namespace, where releases before the key namespace
   * kept it: looked at in the first pass of this entity (after a start or an upgrade) and while the status names
   * another namespace than the key namespace; no longer once one pass found none left there.
   */
  private boolean legacyKeySecretPossible(ObservedSgc o) {
    if (kube.legacySecretNamespace().equals(kube.secretNamespace())) {
      return false;
    }
    String named = o.status().secretNamespace();
    return !legacyKeySecretGone || (!named.isEmpty() && !named.equals(kube.secretNamespace()));
  }

  /** Asks the Azure side (bounded by {@code azure-timeout}); a failure is an outcome, not a failed pass. */
  private CompletableFuture<Provisioning> provision(GatewayConfig.Active state, ObservedSgc o, Prepared p) {
    AzureProvisioner.Request request = new AzureProvisioner.Request(o.key(), o.uid(), o.spec(), o.gatewayNodes(), p.legacy());
    return ask(() -> azure.ensure(request), azureTimeout).handle((allocation, e) -> {
      if (e == null) {
        return new Provisioning(allocation, "");
      }
      String error = "Azure provisioning failed: " + Failures.unwrap(e).getMessage();
      log.warn("[{}] {}", o.key(), error);
      return new Provisioning(state.allocation(), error);
    });
  }

  /** A new allocation is returned for the entity to persist; else the view and the status follow it. */
  private CompletableFuture<Result> finish(GatewayConfig.Active state, ObservedSgc o, Prepared p, Provisioning a) {
    if (a.error().isEmpty() && !a.allocation().equals(state.allocation())) {
      return CompletableFuture.completedFuture(new Result(Optional.of(a.allocation()), false, false, false));
    }
    return (a.allocation() != null ? publishView(o, a.allocation(), p.publicKey(), p.secretName()) : done())
        .thenApplyAsync(v -> {
          writeStatus(o, new StatusPlanner.Outcome(o.generation(), Optional.empty(),
              p.publicKey(), p.secretName(), kube.secretNamespace(), Optional.ofNullable(a.allocation()), a.error())
              .withPods(a.allocation() == null ? null : podsOf(o)));
          if (p.legacyKeySecret()) {
            // the status names the key namespace now: the copy an earlier release kept goes
            if (!kube.deleteLegacyKeySecret(p.secretName(), o.namespace(), o.name())) {
              throw new IllegalStateException("key Secret " + kube.legacySecretNamespace() + "/" + p.secretName() + " is still present");
            }
            legacyKeySecretGone = true;
          }
          return a.error().isEmpty() ? Result.NOTHING : Result.RETRY;
        }, blocking);
  }

  /** How many of the configuration's running pods run the generation just published (they report it, see {@link PodGenerations}). */
  private SgcStatus.Pods podsOf(ObservedSgc o) {
    PodGenerations.Count c = pods.count(o.key(), o.uid(), o.generation());
    return new SgcStatus.Pods(c.current(), c.total());
  }

  /** Deleting: Azure first, then the Secret and the view, then the finalizer. */
  CompletableFuture<Result> cleanUp(GatewayConfig.Deleting state, ObservedSgc o) {
    if (!state.released()) {
      return ask(() -> azure.release(state.key(), state.uid()), azureTimeout)
          .thenApply(v -> new Result(Optional.empty(), true, false, false));
    }
    String secretName = ObservedSgc.secretName(state.uid());
    return CompletableFuture.runAsync(() -> {
      if (!kube.deleteKeySecret(secretName, o.namespace(), o.name())) {
        throw new IllegalStateException("key Secret " + secretName + " is still present");
      }
      // one an earlier release kept in the release namespace, if it was never moved
      if (!kube.deleteLegacyKeySecret(secretName, o.namespace(), o.name())) {
        throw new IllegalStateException("key Secret " + kube.legacySecretNamespace() + "/" + secretName + " is still present");
      }
    }, blocking).thenCompose(v -> {
      // the local replica may not show our own latest publish yet (a view published just before the deletion):
      // absent counts as ours; only another uid's view is left alone
      ConfigView shown = views.current().get(state.key());
      return shown == null || state.uid().equals(shown.uid()) ? ask(() -> views.remove(state.key()), VIEW_TIMEOUT).thenApply(r -> null) : done();
    }).thenApplyAsync(v -> {
      if (o.present() && o.uid().equals(state.uid())) {
        kube.event(o.namespace(), o.name(), o.uid(), false, "CleanedUp",
            "Azure resources, key Secret and node view removed; removing the finalizer");
        kube.removeFinalizer(o.namespace(), o.name(), o.uid());
      }
      return new Result(Optional.empty(), false, true, false);
    }, blocking);
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
  private CompletableFuture<Void> publishProvisioning(ObservedSgc o, String publicKey, String secretName) {
    ConfigView shown = views.current().get(o.key());
    if (shown != null && shown.uid().equals(o.uid())) {
      return done();
    }
    ConfigView view = new ConfigView(o.key(), o.uid(), o.generation(), "", 0, publicKey, secretName,
        o.spec().excludeCidrs(), o.spec().defaultRoute(), "", Map.of(), false);
    return ask(() -> views.publish(view), VIEW_TIMEOUT)
        .thenRun(() -> log.info("[{}] view published while Azure provisions (ready=false)", o.key()));
  }

  private CompletableFuture<Void> publishView(ObservedSgc o, Allocation a, String publicKey, String secretName) {
    Map<String, ConfigView.GatewayAddresses> gateways = new TreeMap<>();
    a.nodes().forEach((node, ips) -> gateways.put(node, new ConfigView.GatewayAddresses(ips.primaryIp(), ips.secondaryIp())));
    ConfigView view = new ConfigView(o.key(), o.uid(), o.generation(), a.ilbIp(), a.port(), publicKey, secretName,
        o.spec().excludeCidrs(), o.spec().defaultRoute(), o.spec().provisionPublicIps() ? a.egressPrefix() : "",
        gateways, a.complete());
    if (view.equals(views.current().get(o.key()))) {
      return done();
    }
    return ask(() -> views.publish(view), VIEW_TIMEOUT).thenRun(() ->
        log.info("[{}] view published (port {}, {} gateway(s), ready={})", o.key(), a.port(), gateways.size(), view.ready()));
  }

  /**
   * What an actor answers, failed after {@code timeout} (a call that throws at once counts as an answer that
   * failed).
   */
  private static <T> CompletableFuture<T> ask(Supplier<CompletionStage<T>> call, Duration timeout) {
    CompletableFuture<T> answer = new CompletableFuture<>();
    try {
      call.get().whenComplete((v, e) -> {
        if (e != null) {
          answer.completeExceptionally(e);
        } else {
          answer.complete(v);
        }
      });
    } catch (RuntimeException e) {
      answer.completeExceptionally(e);
    }
    return answer.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static CompletableFuture<Void> done() {
    return CompletableFuture.completedFuture(null);
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
