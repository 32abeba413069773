package io.egressgateway.pod.infra;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The private keys of this node's pod devices, by device name, in the agent's memory only (never
 * journaled, never logged). Kept outside the entities so that a passivated or restarted {@code PodTunnel}
 * can still re-create a device whose process died; lost with the agent process, after which the pod stays
 * fail-closed until its next ADD.
 */
public final class PodKeys {
  private final Map<String, String> keys = new ConcurrentHashMap<>();

  public void put(String deviceName, String privateKey) {
    keys.put(deviceName, privateKey);
  }

  public Optional<String> get(String deviceName) {
    return Optional.ofNullable(keys.get(deviceName));
  }

  public void remove(String deviceName) {
    keys.remove(deviceName);
  }

  @Override
  public String toString() {
    return "PodKeys[" + keys.size() + " devices]";
  }
}
