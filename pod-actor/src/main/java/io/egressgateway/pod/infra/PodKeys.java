package io.egressgateway.pod.infra;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The private keys of this node's pod devices, by device name, in the agent's memory only (never
 * journaled, never logged). Kept outside the entities so that a passivated or restarted {@code PodTunnel}
 * can still re-create a device whose process died. Lost with the agent process: a new agent reads them
 * back from the live devices ({@code PodTunnel.Resume}).
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
