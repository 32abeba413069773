package io.egressgateway.pod.model;

/** A change to a pod's routes. */
public sealed interface RouteAction {
  Route route();

  /** {@code ip -4 route replace}: adds the route or takes over the one with the same key. */
  record Replace(Route route) implements RouteAction {}

  /** {@code ip -4 route del}: only ever for a route carrying our protocol marker. */
  record Delete(Route route) implements RouteAction {}
}
