package io.egressgateway.core.gateway;

import akka.actor.typed.receptionist.ServiceKey;
import io.egressgateway.core.CborSerializable;
import java.util.List;

/**
 * A gateway that is about to stop hands its pods' sessions over: before its load balancer probe turns red, it
 * tells the worker of each node whose pods hold a session with it ({@link Leaving}), and those workers point
 * the pods' tunnels at another gateway of the pool at once (a fresh handshake with that gateway's own
 * address), instead of finding out from unanswered traffic after the load balancer has moved the flows to a
 * gateway that does not know the session.
 *
 * <p>Workers register under {@link #SERVICE}; gateways find them there. Members of a release without it do
 * neither: a gateway finds no worker of that release to tell, and such a worker is never told (its pods
 * fail over as before, through the watchdog).
 */
public final class Handover {
  /** The receptionist key a worker member's handover receiver registers under. */
  public static final ServiceKey<Leaving> SERVICE = ServiceKey.create(Leaving.class, "egress-pod-handover");

  private Handover() {}

  /**
   * Gateway node {@code gatewayNode} is stopping; {@code podPublicKeys}: the pod tunnels of the receiving
   * worker's node that hold a session with it (a handshake in the last three minutes). Only gateways may send
   * it ({@code egress.security.allowed-roles}); what it can make a worker do is a fresh handshake with another
   * gateway of the same pool, as the view lists them.
   */
  public record Leaving(String gatewayNode, List<String> podPublicKeys) implements CborSerializable {
    public Leaving {
      gatewayNode = gatewayNode == null ? "" : gatewayNode;
      podPublicKeys = podPublicKeys == null ? List.of() : List.copyOf(podPublicKeys);
    }
  }
}
