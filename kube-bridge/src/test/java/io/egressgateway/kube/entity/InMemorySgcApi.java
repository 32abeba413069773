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

/** A stateful fake of the Kubernetes side: SGC finalizers and status, key Secrets, Events, and a write count. */
final class InMemorySgcApi implements SgcApi {
  final Set<String> finalizers = new HashSet<>();
  final Map<String, SgcStatus> statuses = new HashMap<>();
  final Map<String, String> secrets = new HashMap<>();
  final List<String> events = new ArrayList<>();
  int writes;

  @Override
  public String secretNamespace() {
    return "egress-system";
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
  public synchronized Optional<String> keySecretPublicKey(String secretName) {
    return Optional.ofNullable(secrets.get(secretName));
  }

  @Override
  public synchronized String createKeySecret(String secretName, String ns, String name, WireGuardKeys.Pair pair) {
    writes++;
    return secrets.computeIfAbsent(secretName, k -> pair.publicKey());
  }

  @Override
  public synchronized boolean deleteKeySecret(String secretName) {
    if (secrets.remove(secretName) != null) {
      writes++;
    }
    return true;
  }

  @Override
  public synchronized boolean writeStatus(String namespace, String name, String uid, SgcStatus status) {
    writes++;
    statuses.put(uid, status);
    return true;
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
