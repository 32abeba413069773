package io.egressgateway.pod.model;

import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.datapath.model.Ipv4Cidr;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a tunnelled pod's routing should look like, and the plan to get there. Pure.
 *
 * <p>{@code staticEgressGateway}: everything goes into wg0 ({@code 0.0.0.0/0 via inet6 fe80::1 dev wg0}),
 * except the node's exception CIDRs, the config's and the CNI configuration's exclude CIDRs and the ILB
 * address, which go via eth0's gateway. {@code azureNetworking}: the default goes via eth0's gateway (the
 * route the runtime made, taken over with our marker so that a configuration changed from {@code
 * staticEgressGateway} gets it back); only the config's exclude CIDRs go into wg0 (there they mean "send
 * through the gateway"), as upstream does. In both modes
 * the exception CIDRs (the instance metadata service, the node-local DNS cache: services of the node
 * itself) have routes via eth0 of their own, so that no exclude CIDR, however wide, takes them into the
 * tunnel; where a config excludes exactly an exception, the exception wins. Table {@value
 * Route#REPLY_TABLE} holds eth0's default, used by replies to connections that came in on eth0.
 */
public final class PodRoutes {
  public static final String STATIC_EGRESS_GATEWAY = "staticEgressGateway";
  public static final String AZURE_NETWORKING = "azureNetworking";

  private PodRoutes() {}

  /**
   * @param mode            the config's {@code defaultRoute}
   * @param eth0Gateway     the pod's original next hop on eth0
   * @param configExcludes  the config's {@code excludeCidrs}
   * @param confExcludes    the CNI configuration's {@code excludedCIDRs}
   * @param exceptions      the node agent's exception CIDRs ({@code egress.pod.exception-cidrs})
   * @param ilbIp           the tunnel endpoint's address (kept off the tunnel)
   */
  public static List<Route> desired(String mode, String eth0Gateway, List<String> configExcludes,
      List<String> confExcludes, List<Ipv4Cidr> exceptions, String ilbIp) {
    if (eth0Gateway == null || eth0Gateway.isBlank()) {
      throw new IllegalArgumentException("the pod has no gateway on eth0 to route excluded traffic to");
    }
    // every value is parsed here, right before it becomes a route, whatever checked it before: the
    // config's CIDRs come from the replicated view, and a route's words end up in an `ip -batch` line
    eth0Gateway = parsed("the pod's gateway on eth0", eth0Gateway, Ipv4Address::parse).toString();
    configExcludes = cidrs("the configuration's excludeCidrs", configExcludes);
    confExcludes = cidrs("the CNI configuration's excludedCIDRs", confExcludes);
    if (ilbIp != null && !ilbIp.isBlank()) {
      ilbIp = parsed("the configuration's ILB address", ilbIp, Ipv4Address::parse).toString();
    }
    Set<String> viaEth0 = new LinkedHashSet<>();
    exceptions.forEach(c -> viaEth0.add(c.toString()));
    List<Route> routes = new ArrayList<>();
    routes.add(Route.main(eth0Gateway + "/32", "", "eth0"));
    routes.add(new Route("0.0.0.0/0", eth0Gateway, "eth0", Route.REPLY_TABLE));
    if (AZURE_NETWORKING.equals(mode)) {
      for (String cidr : viaEth0) {
        routes.add(Route.main(cidr, eth0Gateway, "eth0"));
      }
      for (String cidr : configExcludes) {
        if (!viaEth0.contains(Route.normalize(cidr))) {
          routes.add(Route.main(cidr, Route.TUNNEL_VIA, "wg0"));
        }
      }
      routes.add(Route.main("0.0.0.0/0", eth0Gateway, "eth0"));
      return dedupe(routes);
    }
    if (!STATIC_EGRESS_GATEWAY.equals(mode)) {
      throw new IllegalArgumentException("unknown defaultRoute '" + mode + "'");
    }
    configExcludes.forEach(c -> viaEth0.add(Route.normalize(c)));
    confExcludes.forEach(c -> viaEth0.add(Route.normalize(c)));
    if (ilbIp != null && !ilbIp.isBlank()) {
      viaEth0.add(ilbIp + "/32");
    }
    for (String cidr : viaEth0) {
      routes.add(Route.main(cidr, eth0Gateway, "eth0"));
    }
    routes.add(Route.main("0.0.0.0/0", Route.TUNNEL_VIA, "wg0"));
    return dedupe(routes);
  }

  /**
   * Make before break: first every route that is missing or different (replaced in place, so a route whose
   * next hop changes is never absent), the default last of them, so that excluded traffic has its path before
   * everything else moves; then the deletion of what we created and no longer want. {@code observedOurs} are
   * the routes carrying our marker. A default that changes device ({@code defaultRoute} changed) is one
   * {@code replace}: the tunnel default stays until its replacement takes its place, never a moment without.
   */
  public static List<RouteAction> plan(List<Route> desired, List<Route> observedOurs) {
    List<RouteAction> actions = new ArrayList<>();
    Set<Route> observed = new LinkedHashSet<>(observedOurs);
    Route newDefault = null;
    for (Route r : desired) {
      if (observed.contains(r)) {
        continue;
      }
      if (r.dst().equals("0.0.0.0/0") && r.table() == Route.MAIN) {
        newDefault = r;
      } else {
        actions.add(new RouteAction.Replace(r));
      }
    }
    if (newDefault != null) {
      actions.add(new RouteAction.Replace(newDefault));
    }
    Set<Route> wanted = new LinkedHashSet<>(desired);
    for (Route r : observedOurs) {
      if (!wanted.contains(r) && wanted.stream().noneMatch(w -> sameKey(w, r))) {
        actions.add(new RouteAction.Delete(r));
      }
    }
    return actions;
  }

  private static List<String> cidrs(String what, List<String> raw) {
    return raw.stream().map(c -> parsed(what, c, Ipv4Cidr::parseNetworkOrHost).toString()).toList();
  }

  private static <T> T parsed(String what, String text, java.util.function.Function<String, T> parser) {
    try {
      return parser.apply(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  private static boolean sameKey(Route a, Route b) {
    return a.dst().equals(b.dst()) && a.table() == b.table();
  }

  private static List<Route> dedupe(List<Route> routes) {
    return List.copyOf(new LinkedHashSet<>(routes));
  }
}
