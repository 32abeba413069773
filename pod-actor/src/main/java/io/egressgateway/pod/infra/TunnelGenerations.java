package io.egressgateway.pod.infra;

import io.egressgateway.core.view.PodGenerations;

/**
 * Where a pod tunnel says which generation of its configuration it runs, so that the configuration's status
 * can count the pods up to date ({@link PodGenerations} on cluster members). Calls must not block.
 */
public interface TunnelGenerations {

  /** Tunnel {@code tunnelId} runs {@code generation} of configuration {@code configKey} (uid {@code configUid}). */
  void applied(String tunnelId, String configKey, String configUid, long generation);

  /** Tunnel {@code tunnelId} is gone. */
  void gone(String tunnelId);

  /** Reports to no one (tests of other things). */
  TunnelGenerations NONE = new TunnelGenerations() {
    @Override
    public void applied(String tunnelId, String configKey, String configUid, long generation) {}

    @Override
    public void gone(String tunnelId) {}
  };

  /** Reports through the cluster. */
  static TunnelGenerations of(PodGenerations generations) {
    return new TunnelGenerations() {
      @Override
      public void applied(String tunnelId, String configKey, String configUid, long generation) {
        generations.applied(tunnelId, configKey, configUid, generation);
      }

      @Override
      public void gone(String tunnelId) {
        generations.gone(tunnelId);
      }
    };
  }
}
