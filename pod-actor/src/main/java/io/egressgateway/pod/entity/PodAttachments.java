package io.egressgateway.pod.entity;

import io.egressgateway.pod.model.CniCall;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The sandboxes this agent added, by pod uid, with the configuration each got ("" for none): what a later tunnel
 * of a running pod needs (netns, container, address, eth0's gateway, the CNI configuration's excluded CIDRs), which
 * only its CNI ADD told. Kept in the agent's memory; a restarted agent learns the tunnelled ones back from their
 * entities ({@link PolicyFollower}). Thread-safe.
 */
final class PodAttachments {

  /** One sandbox of a pod. */
  record Attachment(String containerId, String netns, String podIp, String eth0Gateway, List<String> excludedCidrs,
      String configKey) {
    Attachment with(String value) {
      return new Attachment(containerId, netns, podIp, eth0Gateway, excludedCidrs, value);
    }

    PodTunnel.Pod pod(String config) {
      return new PodTunnel.Pod(containerId, netns, podIp, eth0Gateway, config, excludedCidrs);
    }
  }

  private final Map<String, Attachment> byUid = new ConcurrentHashMap<>();

  /** An ADD that succeeded; a pod without an IPv4 address or eth0 gateway cannot get a tunnel later and is not kept. */
  void added(String uid, CniCall call, String configKey) {
    if (!call.podIp().isEmpty() && !call.eth0Gateway().isEmpty()) {
      byUid.put(uid, new Attachment(call.containerId(), call.netns(), call.podIp(), call.eth0Gateway(),
          call.excludedCidrs(), configKey));
    }
  }

  /** Learnt back from the pod's tunnel entity after an agent restart. */
  void learnt(String uid, PodTunnel.Tunnel t) {
    byUid.putIfAbsent(uid, new Attachment(t.containerId(), t.netns(), t.podIp(), t.eth0Gateway(), t.excludedCidrs(),
        t.configKey()));
  }

  /** A DEL of {@code containerId} (empty: whatever sandbox). */
  void deleted(String uid, String containerId) {
    byUid.computeIfPresent(uid, (k, a) -> containerId.isEmpty() || a.containerId().equals(containerId) ? null : a);
  }

  /** The sandbox now has {@code configKey} ("" for none), unless it was deleted or replaced meanwhile. */
  void moved(String uid, String containerId, String configKey) {
    byUid.computeIfPresent(uid, (k, a) -> a.containerId().equals(containerId) ? a.with(configKey) : a);
  }

  Optional<Attachment> of(String uid) {
    return Optional.ofNullable(byUid.get(uid));
  }

  boolean tunnelled(String uid) {
    Attachment a = byUid.get(uid);
    return a != null && !a.configKey().isEmpty();
  }
}
