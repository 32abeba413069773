package io.egressgateway.datapath.wireguard;

import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import java.util.function.Consumer;

/**
 * The WireGuard seam: kernel WireGuard or wireguard-go behind one interface (see {@link WireGuardBackends}
 * for the choice). Every method blocks (it execs {@code ip}/{@code wg}); call it from a blocking dispatcher.
 * Devices are created in a "host" namespace (where their UDP socket stays) and may then be moved elsewhere
 * with {@link #moveInto}; the creation name, host-unique, stays in the link alias.
 */
public interface WireGuardBackend {
  /** {@code kernel} or {@code wireguard-go}. */
  String kind();

  /**
   * Creates device {@code name} in namespace {@code hostNetns} (empty: the agent's own) and brings it up.
   * An existing live device of that name is returned as is.
   */
  WgDevice create(String hostNetns, String name);

  /** Moves the device into {@code netns}, renames it {@code ifname}, records the creation name in the alias, sets it up. */
  WgDevice moveInto(WgDevice device, String netns, String ifname);

  /** Replaces the whole configuration (key, port, every peer) in one bulk operation. */
  void configure(WgDevice device, WgConfig config);

  /** Brings the peers to exactly {@code config}'s, changing only what differs ({@code wg syncconf}). */
  void sync(WgDevice device, WgConfig config);

  /** Adds or updates one peer: O(1), whatever the number of peers. */
  void setPeer(WgDevice device, WgPeer peer);

  /** Adds or updates several peers; one {@code wg set} where the backend allows. */
  default void setPeers(WgDevice device, java.util.List<WgPeer> peers) {
    peers.forEach(p -> setPeer(device, p));
  }

  /** Removes one peer; absent peers are fine. */
  void removePeer(WgDevice device, String publicKey);

  /** The device's state (no private key). Fails with {@link CommandException} if the device is gone. */
  WgDump dump(WgDevice device);

  /**
   * The device's private key (base64), read back from the device: how a restarted agent takes over a pod
   * device it made before, without the key ever being stored. Never log it. Fails with
   * {@link CommandException} if the device is gone, {@link IllegalStateException} if it has no key.
   */
  String privateKey(WgDevice device);

  /** True while the device exists and answers. */
  boolean alive(WgDevice device);

  /** Deletes the device (and stops its process, if any). Absent devices are fine. */
  void delete(WgDevice device);

  /**
   * Registers a listener told the creation name of every device that died without {@link #delete} (a
   * wireguard-go process exiting). Called on a process-reaper thread: tell an actor, do nothing blocking.
   */
  void onDeviceLost(Consumer<String> listener);
}
