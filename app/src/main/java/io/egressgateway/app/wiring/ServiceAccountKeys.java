package io.egressgateway.app.wiring;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import io.egressgateway.core.security.NodeProofs;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a gateway member's {@link NodeProofs} the API server's service-account signing keys: the JWKS document
 * at {@code /openid/v1/jwks} (ServiceAccount issuer discovery, readable by every ServiceAccount by default, and
 * granted explicitly by the chart). Fetched at start, every ten minutes, and when a proof names a key not known
 * (a key rotation), at most once a minute; off the actor threads. Until the first fetch succeeds every
 * worker whose certificate names no node is refused, and each failure is logged.
 */
public final class ServiceAccountKeys {
  private static final Logger log = LoggerFactory.getLogger(ServiceAccountKeys.class);
  private static final Duration EVERY = Duration.ofMinutes(10);
  private static final long MIN_GAP_MS = 60_000;

  private final KubernetesClient client;
  private final NodeProofs proofs;
  private final Executor blocking;
  private final AtomicLong lastAttempt = new AtomicLong();

  private ServiceAccountKeys(ActorSystem<?> system, KubernetesClient client, NodeProofs proofs) {
    this.client = client;
    this.proofs = proofs;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
  }

  public static ServiceAccountKeys start(ActorSystem<?> system, KubernetesClient client, NodeProofs proofs) {
    ServiceAccountKeys keys = new ServiceAccountKeys(system, client, proofs);
    proofs.onUnknownKey(keys::refreshSoon);
    keys.blocking.execute(keys::fetch);
    system.scheduler().scheduleWithFixedDelay(EVERY, EVERY, () -> keys.blocking.execute(keys::fetch), system.executionContext());
    return keys;
  }

  private void refreshSoon() {
    long now = System.currentTimeMillis();
    long last = lastAttempt.get();
    if (now - last >= MIN_GAP_MS && lastAttempt.compareAndSet(last, now)) {
      blocking.execute(this::fetch);
    }
  }

  private void fetch() {
    lastAttempt.set(System.currentTimeMillis());
    try {
      String url = client.getMasterUrl().toURI().resolve("/openid/v1/jwks").toString();
      String jwks = client.raw(url);
      if (jwks == null) {
        throw new IllegalStateException("no answer from " + url);
      }
      var keys = NodeProofs.parseJwks(jwks);
      if (keys.isEmpty()) {
        throw new IllegalStateException("no usable key in " + url);
      }
      proofs.useKeys(keys);
      log.debug("service-account signing keys: {}", keys.keySet());
    } catch (Exception e) {
      log.warn("cannot read the API server's service-account signing keys (workers' node proofs are refused until they are): {}",
          e.getMessage());
    }
  }
}
