package io.egressgateway.pod.infra;

import io.egressgateway.pod.model.Route;
import java.util.List;
import java.util.Optional;

/**
 * The pod side of the datapath: a WireGuard device created in the node's host namespace and moved into
 * the pod as {@code wg0}, the pod's routes, and reply marking. Every method blocks; call it from a
 * blocking dispatcher. Pod namespaces are given as CNI passes them (a path).
 */
public interface PodDatapath {

  /**
   * The tunnel of one pod.
   *
   * @param deviceName       host-unique creation name (kept in wg0's alias)
   * @param podNetns         the pod's namespace path (CNI_NETNS)
   * @param gatewayEndpoint  {@code ilbIp:port}
   * @param gatewayPublicKey the config's gateway public key
   */
  record Attachment(String deviceName, String podNetns, String gatewayEndpoint, String gatewayPublicKey) {}

  /**
   * Creates (or keeps) the device with the private key and no peer, moved into the pod as wg0. Without a
   * peer nothing the kernel sends into the device when it comes up (IPv6 router solicitations, MLD) can
   * start a handshake before the gateways know the pod: such a handshake is dropped, WireGuard retries only
   * after 5 s, and the pod's first packets would wait behind it.
   */
  void prepare(Attachment attachment, String privateKey);

  /** Gives the prepared device its gateway peer (once the gateways have the pod's) and watches the tunnel. */
  void connect(Attachment attachment);

  /** {@link #prepare} then {@link #connect}: for a device whose gateways already have the pod's peer. */
  default void attach(Attachment attachment, String privateKey) {
    prepare(attachment, privateKey);
    connect(attachment);
  }

  /**
   * What {@link #resume} found of a tunnel made before an agent restart.
   *
   * @param privateKey  the key of the pod's wg0 when that is this tunnel's device and it is alive
   * @param sandboxGone the pod's namespace no longer exists (its DEL will come)
   */
  record Resumption(Optional<String> privateKey, boolean sandboxGone) {
    public static final Resumption GONE = new Resumption(Optional.empty(), true);
    public static final Resumption NO_DEVICE = new Resumption(Optional.empty(), false);

    /** Never shows the private key: only whether there is one. */
    @Override
    public String toString() {
      return "Resumption[privateKey=" + (privateKey.isPresent() ? "(redacted)" : "none") + ", sandboxGone=" + sandboxGone + "]";
    }
  }

  /**
   * Takes over a tunnel made before this agent started: when the pod's wg0 is the tunnel's device and
   * alive, reads its private key back and watches it again (as {@link #connect} does). Changes nothing.
   */
  Resumption resume(Attachment attachment);

  /**
   * Brings a running tunnel to a changed configuration without restarting it, make before break: first the
   * routes that are missing or different (the default last, replaced in place), then the gateway peer (a new
   * key is set before the old peer goes; an endpoint that moved from {@code previousEndpoint} starts a fresh
   * session), then the removal of routes no longer wanted. Level-triggered: compares with what the pod has, so
   * a repeated call changes nothing. The pod's wg0 must be the tunnel's device.
   *
   * @param previousEndpoint the endpoint the tunnel was given before, null when not known (after an agent
   *                         restart): then the endpoint is set without ending the session
   */
  void follow(Attachment attachment, List<Route> desired, String previousEndpoint);

  /** Brings the pod's routes (ours only) to {@code desired} and installs reply marking. */
  void applyRoutes(String podNetns, List<Route> desired);

  /** Removes the device and what we installed in the pod. Absent things are fine. */
  void detach(String podNetns, String deviceName);

  /**
   * For a pod that keeps running after its tunnel was removed (it no longer matches a policy): its default route via
   * eth0's gateway again, as the cluster's main CNI plugin made it (the tunnel had replaced it). Until this runs the
   * pod has no default route, so nothing of it leaves with the node's address while it still counts as selected.
   */
  void restoreDefault(String podNetns, String eth0Gateway);

  /**
   * Why {@code podNetns} (CNI_NETNS as the runtime passed it) is not a pod's network namespace here, empty when it
   * is one: checked before anything is done in it (see {@link PodNetns}).
   */
  Optional<String> netnsProblem(String podNetns);

  /** The creation name (alias) of the pod's wg0, empty when the pod has no wg0 or is gone. */
  Optional<String> tunnelDevice(String podNetns);

  /**
   * Registers a listener told the creation name of a device that died without being detached (a
   * wireguard-go process exiting). Called on a foreign thread: tell an actor, do nothing blocking.
   */
  void onTunnelLost(java.util.function.Consumer<String> listener);
}
