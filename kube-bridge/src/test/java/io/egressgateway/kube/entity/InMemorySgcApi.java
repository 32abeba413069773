package io.egressgateway.kube.entity;

import io.egressgateway.kube.infra.SgcApi;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.kube.model.WireGuardKeys;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/** A stateful fake of the Kubernetes side: SGC finalizers and status, key Secrets, Events, and a write count. */
final class InMemorySgcApi implements SgcApi {
  final Set<String> finalizers = new HashSet<>();
  final Map<String, SgcStatus> statuses = new HashMap<>();
  final Map<String, String> secrets = new HashMap<>();
  final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
  int writes;
  /** The next this-many status writes fail like an unreachable API server. */
  int failStatusWrites;

  /** Where the key Secrets are kept, and where an earlier release kept them (the same: nothing to move). */
  volatile String keyNamespace = "egress-system";
  volatile String legacyNamespace = "egress-system";
  /** Key Secrets (public keys by name) an earlier release left in {@link #legacyNamespace}. */
  final Map<String, String> legacySecrets = new HashMap<>();
  /** For each old key Secret deleted: the namespace its SGC's status named at that moment. */
  final List<String> legacyDeletedWhileStatusNamed = new ArrayList<>();

  @Override
  public String secretNamespace() {
    return keyNamespace;
  }

  @Override
  public String legacySecretNamespace() {
    return legacyNamespace;
  }

  @Override
  public synchronized Optional<String> moveLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    String old = legacySecrets.get(secretName);
    if (old == null) {
      return Optional.empty();
    }
    writes++;
    return Optional.of(secrets.computeIfAbsent(secretName, k -> old));
  }

  @Override
  public synchronized boolean deleteLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    if (legacySecrets.remove(secretName) != null) {
      writes++;
      String uid = secretName.substring("sgw-".length());
      legacyDeletedWhileStatusNamed.add(status(uid).secretNamespace());
    }
    return true;
  }

  @Override
  public synchronized boolean addFinalizer(String namespace, String name, String uid) {
    if (finalizers.add(uid)) {
      writes++;
    }
    return true;
  }

  @Override
  public synchronized void removeFinalizer(String namespace, String name, String uid) {
    if (finalizers.remove(uid)) {
      writes++;
    }
  }

  @Override
  public synchronized Optional<String> keySecretPublicKey(String secretName, String ownerNamespace, String ownerName) {
    return Optional.ofNullable(secrets.get(secretName));
  }

  @Override
  public synchronized String createKeySecret(String secretName, String ns, String name, WireGuardKeys.Pair pair) {
    writes++;
    return secrets.computeIfAbsent(secretName, k -> pair.publicKey());
  }

  @Override
  public synchronized boolean deleteKeySecret(String secretName, String ownerNamespace, String ownerName) {
    if (secrets.remove(secretName) != null) {
      writes++;
    }
    return true;
  }

  @Override
  public synchronized Optional<StatusChange> updateStatus(String namespace, String name, String uid,
      UnaryOperator<SgcStatus> plan) {
    if (failStatusWrites > 0) {
      failStatusWrites--;
      throw new IllegalStateException("API server unavailable");
    }
    SgcStatus before = status(uid);
    SgcStatus after = plan.apply(before);
    if (before.equals(after)) {
      return Optional.empty();
    }
    writes++;
    statuses.put(uid, after);
    return Optional.of(new StatusChange(before, after));
  }

  /** Legacy uids by SGC uid, as if the Go original's objects existed; lookups are counted. */
  final Map<String, LegacyUids> legacy = new HashMap<>();
  int legacyLookups;

  @Override
  public synchronized LegacyUids legacyUids(String namespace, String name, String uid) {
    legacyLookups++;
    return legacy.getOrDefault(uid, LegacyUids.NONE);
  }

  @Override
  public synchronized void event(String namespace, String name, String uid, boolean warning, String reason, String message) {
    events.add((warning ? "Warning " : "Normal ") + reason);
  }

  synchronized int writes() {
    return writes;
  }

  synchronized SgcStatus status(String uid) {
    return statuses.getOrDefault(uid, SgcStatus.EMPTY);
  }
}
