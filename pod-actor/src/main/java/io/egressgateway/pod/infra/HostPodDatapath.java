package io.egressgateway.pod.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.IpBatch;
import io.egressgateway.datapath.net.Routes;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.Nft;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.pod.model.Route;
import io.egressgateway.pod.model.RouteAction;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real pod datapath: {@code ip}, {@code wg}, {@code nft} (through the gateway module's WireGuard
 * backend, kernel or wireguard-go). The device is created in the node's host namespace (where its UDP
 * socket stays), moved into the pod as {@code wg0} with its creation name as alias.
 *
 * <p>Owns: per pod, the device {@code wg<container id>}, routes with protocol {@value Route#PROTO}, the
 * rule at preference {@value #RULE_PREF} and nft table {@value #NFT_TABLE}. Persists: nothing. Observes:
 * links, our routes (by protocol), the rule.
 */
public final class HostPodDatapath implements PodDatapath {
  private static final Logger log = LoggerFactory.getLogger(HostPodDatapath.class);
  static final String NFT_TABLE = "kube_egress_pod";
  /** The table in the node's host namespace that keeps gateways from starting handshakes ({@link #guardPorts}). */
  static final String GUARD_TABLE = "kube_egress_pod_guard";
  static final int RULE_PREF = 8738;
  static final int REPLY_MARK = 0x2222;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CommandRunner cmd;
  private final WireGuardBackend wg;
  private final String hostNetns;

  /** {@code hostNetns}: the node's host namespace by name; empty for the agent's own (production). */
  public HostPodDatapath(CommandRunner cmd, WireGuardBackend wg, String hostNetns) {
    this.cmd = cmd;
    this.wg = wg;
    this.hostNetns = hostNetns == null ? "" : hostNetns;
  }

  private volatile FailoverWatchdog watchdog;

  /** Lets {@code w} watch every tunnel this datapath attaches (fast failover). */
  public HostPodDatapath watchedBy(FailoverWatchdog w) {
    this.watchdog = w;
    w.guardedBy(this::guardPorts);
    return this;
  }

  /**
   * In the node's host namespace, where the pod devices' UDP sockets are: drops WireGuard handshake
   * initiations (message type 1, 148 bytes) sent to {@code ports}, so that a pod's tunnel only ever has
   * sessions it started itself, through the endpoint the failover watchdog chose (why: {@link
   * FailoverWatchdog#guardedBy}). Responses, cookies and data pass. One table of ours, written whole with
   * {@code nft -f} the first time and whenever its state is not known; after that a change of ports is one
   * nfnetlink transaction on its set. With no ports it is removed. Throws when nft fails.
   */
  public synchronized void guardPorts(java.util.SortedSet<Integer> ports) {
    java.util.SortedSet<Integer> before = guarded;
    guarded = null;
    if (ports.isEmpty()) {
      Net.deleteNftTable(cmd, hostNetns, GUARD_TABLE);
      return;
    }
    java.util.SortedSet<Integer> now = new java.util.TreeSet<>(ports);
    // a pod more or less: its port into or out of the set over netlink, not a whole table through nft
    if (before != null) {
      java.util.Set<Integer> add = new java.util.TreeSet<>(now);
      add.removeAll(before);
      java.util.Set<Integer> remove = new java.util.TreeSet<>(before);
      remove.removeAll(now);
      if (Net.changePorts(cmd, hostNetns, GUARD_TABLE, GUARD_SET, add, remove)) {
        guarded = now;
        return;
      }
    }
    Nft.replaceTable(cmd, hostNetns, "ip", GUARD_TABLE, guardBody(ports));
    guarded = now;
  }

  /** The ports the guard table is known to hold since this datapath last wrote it; null: to be written whole. */
  private java.util.SortedSet<Integer> guarded;
  static final String GUARD_SET = "tunnel_ports";

  /** The guard table's body for {@code ports} (numbers only: the text goes into {@code nft -f -}). */
  public static String guardBody(java.util.SortedSet<Integer> ports) {
    StringBuilder elements = new StringBuilder();
    for (int p : ports) {
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("not a UDP port: " + p);
      }
      elements.append(elements.length() == 0 ? "" : ", ").append(p);
    }
    return "  set " + GUARD_SET + " {\n"
        + "    type inet_service\n"
        + "    elements = { " + elements + " }\n"
        + "  }\n"
        + "  chain input {\n"
        + "    type filter hook input priority filter; policy accept;\n"
        // UDP header (8) + initiation (148); the payload's first 4 bytes: type 1, little-endian
        + "    udp dport @" + GUARD_SET + " udp length 156 @th,64,32 0x01000000 counter drop\n"
        + "  }";
  }

  public WireGuardBackend backend() {
    return wg;
  }

  private void watch(Attachment a, WgDevice moved) {
    FailoverWatchdog w = watchdog;
    if (w != null) {
      w.watch(a.deviceName(), new FailoverWatchdog.Tunnel(moved, a.gatewayPublicKey(), a.gatewayEndpoint()));
    }
  }

  /** Our device names ({@code DeviceNames}): {@code wg} and 12 hex characters, kept in wg0's alias. */
  private static final java.util.regex.Pattern OUR_DEVICE = java.util.regex.Pattern.compile("wg[0-9a-f]{12}");

  /**
   * Puts every live pod tunnel found in the namespaces under {@code netnsDir} under the failover watchdog at
   * once, with the gateway peer and endpoint its device holds, before this agent has joined the cluster and
   * taken its tunnels back ({@link #resume}, which then watches each with the values of its entity). A
   * restarting worker (an upgrade, a crash) otherwise leaves its node's tunnels unwatched until its entities
   * are back, tens of seconds: a gateway that goes away meanwhile (the gateways roll in the same upgrade)
   * cost the pods WireGuard's own 15 s and more instead of the watchdog's second or two. Only wg0 links whose
   * alias is one of our device names and whose device answers count; one that cannot be read is skipped.
   * Returns how many tunnels are watched.
   */
  public int watchRunning(java.nio.file.Path netnsDir) {
    FailoverWatchdog w = watchdog;
    if (w == null || !java.nio.file.Files.isDirectory(netnsDir)) {
      return 0;
    }
    List<String> names;
    try (var entries = java.nio.file.Files.list(netnsDir)) {
      names = entries.map(f -> f.getFileName().toString()).sorted().toList();
    } catch (IOException e) {
      log.warn("pod tunnels on this node not looked for in {}: {}", netnsDir, e.toString());
      return 0;
    }
    int watched = 0;
    for (String ns : names) {
      try {
        NetnsName.parse(ns);
        Optional<Net.Link> wg0 = Net.link(cmd, ns, "wg0");
        if (wg0.isEmpty() || !OUR_DEVICE.matcher(wg0.get().alias()).matches()) {
          continue;
        }
        WgDevice moved = WgDevice.created(wg0.get().alias(), hostNetns).movedTo(ns, "wg0");
        if (!wg.alive(moved)) { // for wireguard-go this also takes its process under supervision again
          continue;
        }
        Map<String, WgDump.Peer> peers = wg.dump(moved).peers();
        if (peers.size() != 1) {
          continue; // no gateway peer yet (being made) or not a tunnel as we make them
        }
        WgDump.Peer gateway = peers.values().iterator().next();
        if (gateway.endpoint() == null || gateway.endpoint().isBlank() || gateway.endpoint().equals("(none)")) {
          continue;
        }
        w.watch(wg0.get().alias(), new FailoverWatchdog.Tunnel(moved, gateway.publicKey(), gateway.endpoint()));
        watched++;
      } catch (RuntimeException e) {
        log.debug("pod tunnel in {} not watched at start: {}", ns, e.getMessage());
      }
    }
    return watched;
  }

  @Override
  public void prepare(Attachment a, String privateKey) {
    String ns = NetnsNames.resolve(cmd, a.podNetns());
    WgConfig config = new WgConfig(privateKey, 0, List.of());
    Optional<Net.Link> present = Net.link(cmd, ns, "wg0");
    if (present.isPresent()) {
      if (!present.get().alias().equals(a.deviceName())) {
        throw new IllegalStateException("pod " + a.podNetns() + " already has a wg0 that is not ours (alias '"
            + present.get().alias() + "', expected '" + a.deviceName() + "')");
      }
      WgDevice moved = WgDevice.created(a.deviceName(), hostNetns).movedTo(ns, "wg0");
      if (wg.alive(moved)) {
        wg.configure(moved, config);
        return;
      }
      // the device is there but its process is gone: start over below
      Net.deleteLink(cmd, ns, "wg0");
    }
    long start = System.nanoTime();
    WgDevice created = wg.create(hostNetns, a.deviceName());
    long createdAt = System.nanoTime();
    try {
      wg.configure(created, config);
      WgDevice moved = wg.moveInto(created, ns, "wg0");
      log.info("pod {}: tunnel device {} in place as wg0 ({}; created in {} ms, configured and moved in {} ms)",
          a.podNetns(), a.deviceName(), wg.kind(), (createdAt - start) / 1_000_000,
          (System.nanoTime() - createdAt) / 1_000_000);
      if (!wg.alive(moved)) {
        throw new IllegalStateException("device " + a.deviceName() + " died right after the move into " + a.podNetns());
      }
    } catch (RuntimeException e) {
      wg.delete(created);
      throw e;
    }
  }

  @Override
  public void connect(Attachment a) {
    WgDevice moved = WgDevice.created(a.deviceName(), hostNetns).movedTo(NetnsNames.resolve(cmd, a.podNetns()), "wg0");
    wg.setPeer(moved, gatewayPeer(a.gatewayPublicKey(), a.gatewayEndpoint(), 0));
    watch(a, moved);
  }

  @Override
  public Resumption resume(Attachment a) {
    String ns;
    try {
      ns = NetnsNames.resolve(cmd, a.podNetns());
    } catch (IllegalStateException gone) {
      return Resumption.GONE;
    }
    Optional<Net.Link> wg0 = Net.link(cmd, ns, "wg0");
    if (wg0.isEmpty() || !wg0.get().alias().equals(a.deviceName())) {
      return Resumption.NO_DEVICE;
    }
    WgDevice moved = WgDevice.created(a.deviceName(), hostNetns).movedTo(ns, "wg0");
    if (!wg.alive(moved)) { // for wireguard-go this also takes its process under supervision again
      return Resumption.NO_DEVICE;
    }
    String key = wg.privateKey(moved);
    watch(a, moved);
    return new Resumption(Optional.of(key), false);
  }

  /**
   * The pod device's gateway peer. It allows IPv4 only: the egress is IPv4, and the gateway accepts only the
   * pod's IPv4 address from it. With {@code ::/0} as well, the kernel's own IPv6 chatter on wg0 (router
   * solicitations, MLD reports) went to the gateway as data that no one answers, which looked to the failover
   * watchdog like a dead flow and cost a needless handshake now and then.
   */
  /**
   * Per ILB endpoint ({@code ilbIp:port}) of the configurations in {@code views}: the own endpoints
   * ({@code primaryIp:port}) of their gateways whose addresses are complete; where a forced handshake may go.
   */
  static Map<String, List<String>> gatewayEndpoints(Map<String, io.egressgateway.core.view.ConfigView> views) {
    Map<String, List<String>> out = new java.util.HashMap<>();
    for (io.egressgateway.core.view.ConfigView v : views.values()) {
      if (v.ilbIp().isEmpty() || v.port() <= 0) {
        continue;
      }
      List<String> own = v.gateways().values().stream().filter(io.egressgateway.core.view.ConfigView.GatewayAddresses::complete)
          .map(g -> g.primaryIp() + ":" + v.port()).sorted().toList();
      out.put(v.ilbIp() + ":" + v.port(), own);
    }
    return Map.copyOf(out);
  }

  static WgPeer gatewayPeer(String gatewayPublicKey, String gatewayEndpoint, int keepaliveSeconds) {
    return new WgPeer(gatewayPublicKey, List.of("0.0.0.0/0"), gatewayEndpoint, keepaliveSeconds);
  }

  /**
   * Loose reverse-path filtering in the pod's namespace (the larger of "all" and the device's value applies):
   * replies that come back in on eth0 for addresses routed through wg0 are not dropped. Set without a process
   * ({@link Net#sysctls}); where the worker's {@code /proc/sys} is read-only (a container that is not
   * privileged) the write happens in a mount namespace of its own and the container's stays read-only.
   */
  public static final Map<String, String> RP_FILTER = rpFilter();

  private static Map<String, String> rpFilter() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("net.ipv4.conf.all.rp_filter", "2");
    m.put("net.ipv4.conf.eth0.rp_filter", "2");
    return Collections.unmodifiableMap(m);
  }

  @Override
  public void applyRoutes(String podNetns, List<Route> desired) {
    NetnsName ns = NetnsName.parse(NetnsNames.resolve(cmd, podNetns));
    Net.sysctls(cmd, ns.value(), RP_FILTER);
    Net.replaceReplyMarking(cmd, ns.value(), NFT_TABLE, IfName.parse("eth0"), REPLY_MARK);
    // what is there (the rule and our routes) read in one go, and every change in one go: over rtnetlink, or one
    // `ip -batch` each where that fails (each exec costs milliseconds on a busy node)
    Routes.Owned present = owned(ns, true);
    IpBatch batch = new IpBatch();
    if (!present.rule()) {
      batch.ruleAddFwmark(RULE_PREF, REPLY_MARK, Route.REPLY_TABLE);
    }
    for (RouteAction action : PodRoutes.plan(desired, routes(present.routes()))) {
      route(batch, action instanceof RouteAction.Replace ? IpBatch.RouteVerb.REPLACE : IpBatch.RouteVerb.DEL, action.route());
    }
    Net.changeRoutes(cmd, ns, batch, false);
  }

  @Override
  public void follow(Attachment a, List<Route> desired, String previousEndpoint) {
    String name = NetnsNames.resolve(cmd, a.podNetns());
    NetnsName ns = NetnsName.parse(name);
    Optional<Net.Link> wg0 = Net.link(cmd, name, "wg0");
    if (wg0.isEmpty() || !wg0.get().alias().equals(a.deviceName())) {
      throw new IllegalStateException("pod " + a.podNetns() + " has no wg0 of tunnel " + a.deviceName());
    }
    IpBatch make = new IpBatch();
    IpBatch breakOff = new IpBatch();
    for (RouteAction action : PodRoutes.plan(desired, ourRoutes(ns))) {
      if (action instanceof RouteAction.Replace) {
        route(make, IpBatch.RouteVerb.REPLACE, action.route());
      } else {
        route(breakOff, IpBatch.RouteVerb.DEL, action.route());
      }
    }
    Net.changeRoutes(cmd, ns, make, false);
    WgDevice device = WgDevice.created(a.deviceName(), hostNetns).movedTo(name, "wg0");
    Map<String, WgDump.Peer> peers = wg.dump(device).peers();
    WgDump.Peer current = peers.get(a.gatewayPublicKey());
    WgPeer wanted = gatewayPeer(a.gatewayPublicKey(), a.gatewayEndpoint(), 0);
    boolean endpointMoved = previousEndpoint != null && !previousEndpoint.equals(a.gatewayEndpoint());
    if (current != null && endpointMoved) {
      // same key, new endpoint: a session with the old endpoint's gateway would not be known behind the new
      // one; without the peer for this instant, packets routed into wg0 fail (ENOKEY), they never leave by eth0
      wg.removePeer(device, a.gatewayPublicKey());
      current = null;
    }
    // the endpoint the device shows may be where the gateway last answered from (WireGuard roams): set it
    // again when not known to be the same, which keeps the session
    if (current == null || previousEndpoint == null) {
      // a new key: set before the old peer goes; WireGuard moves the allowed IPs (0.0.0.0/0) to it
      wg.setPeer(device, wanted);
    }
    for (String other : peers.keySet()) {
      if (!other.equals(a.gatewayPublicKey())) {
        wg.removePeer(device, other);
      }
    }
    Net.changeRoutes(cmd, ns, breakOff, false);
    watch(a, device);
  }

  /** One route line, from the route's typed values (each parsed again here, right before use). */
  static IpBatch route(IpBatch batch, IpBatch.RouteVerb verb, Route r) {
    return batch.route(verb, r.cidr(), r.nextHop().orElse(null), r.device(), r.table(), Route.PROTO);
  }

  @Override
  public void detach(String podNetns, String deviceName) {
    FailoverWatchdog w = watchdog;
    if (w != null) {
      w.forget(deviceName);
    }
    Optional<String> ns = NetnsNames.find(podNetns);
    WgDevice device = WgDevice.created(deviceName, hostNetns);
    if (ns.isEmpty()) {
      wg.delete(device);
      return;
    }
    Optional<Net.Link> present = Net.link(cmd, ns.get(), "wg0");
    if (present.isPresent() && present.get().alias().equals(deviceName)) {
      wg.delete(device.movedTo(ns.get(), "wg0"));
    } else {
      wg.delete(device);
    }
    Net.deleteNftTable(cmd, ns.get(), NFT_TABLE);
    NetnsName name = NetnsName.parse(ns.get());
    IpBatch batch = new IpBatch().ruleDel(RULE_PREF);
    for (Route r : ourRoutes(name)) {
      route(batch, IpBatch.RouteVerb.DEL, r);
    }
    // forced: go on past what is already gone (the rule may be absent)
    Net.changeRoutes(cmd, name, batch, true);
    NetnsNames.release(cmd, podNetns);
  }

  /** The protocol the main CNI plugins give the default route they make ({@code boot}), not our marker. */
  private static final int PROTO_BOOT = 3;

  @Override
  public void restoreDefault(String podNetns, String eth0Gateway) {
    NetnsName ns = NetnsName.parse(NetnsNames.resolve(cmd, podNetns));
    io.egressgateway.datapath.model.Ipv4Address gw = io.egressgateway.datapath.model.Ipv4Address.parse(eth0Gateway);
    io.egressgateway.datapath.model.IfName eth0 = io.egressgateway.datapath.model.IfName.parse("eth0");
    // the on-link route to the gateway first: ours replaced the main plugin's (ptp makes one) and went with detach
    Net.changeRoutes(cmd, ns, new IpBatch()
        .route(IpBatch.RouteVerb.REPLACE, io.egressgateway.datapath.model.Ipv4Cidr.parse(gw + "/32"), null, eth0, Route.MAIN, PROTO_BOOT)
        .route(IpBatch.RouteVerb.REPLACE, io.egressgateway.datapath.model.Ipv4Cidr.ANY,
            io.egressgateway.datapath.model.NextHop.of(gw), eth0, Route.MAIN, PROTO_BOOT), false);
  }

  private final PodNetns netns = new PodNetns();

  @Override
  public Optional<String> netnsProblem(String podNetns) {
    return netns.problem(podNetns);
  }

  @Override
  public Optional<String> tunnelDevice(String podNetns) {
    Optional<String> ns = NetnsNames.find(podNetns);
    if (ns.isEmpty()) {
      return Optional.empty();
    }
    return Net.link(cmd, ns.get(), "wg0").map(Net.Link::alias).filter(alias -> {
      WgDevice d = WgDevice.created(alias.isEmpty() ? "wg0" : alias, hostNetns).movedTo(ns.get(), "wg0");
      return wg.alive(d);
    });
  }

  @Override
  public void onTunnelLost(java.util.function.Consumer<String> listener) {
    wg.onDeviceLost(listener);
  }

  /**
   * The pod's rule and the routes with our marker, as the agent reads them before a change: over rtnetlink where it
   * can ({@code withIp} false), else with {@code ip}. For tests that hold the two against each other.
   */
  public Routes.Owned ownedRoutes(String podNetns, boolean withIp) {
    NetnsName ns = NetnsName.parse(NetnsNames.resolve(cmd, podNetns));
    return withIp ? ownedWithIp(ns, true) : owned(ns, true);
  }

  /** Routes carrying our protocol marker, in every table. */
  List<Route> ourRoutes(NetnsName ns) {
    return routes(owned(ns, false).routes());
  }

  /**
   * The pod's rule (when {@code rule}; else reported absent) and the routes with our protocol marker in every table:
   * over rtnetlink ({@link Net#ownedRoutes}), or with one {@code ip -4 -j -batch} where that cannot be used.
   */
  Routes.Owned owned(NetnsName ns, boolean rule) {
    return Net.ownedRoutes(cmd, ns, rule ? RULE_PREF : -1, Route.PROTO).orElseGet(() -> ownedWithIp(ns, rule));
  }

  /** {@link #owned} read with {@code ip -4 -j -batch} (where netlink cannot be used; tests compare the two). */
  Routes.Owned ownedWithIp(NetnsName ns, boolean rule) {
    IpBatch shows = new IpBatch();
    if (rule) {
      shows.ruleShow(RULE_PREF);
    }
    List<JsonNode> docs = ipJson(ns, shows.routesOfProto(Route.PROTO));
    return new Routes.Owned(rule && !docs.get(0).isEmpty(), entries(docs.get(docs.size() - 1)));
  }

  /**
   * Runs {@code show} commands through one {@code ip -4 -j -batch}: one JSON array per command, in order
   * (an empty array where {@code ip} printed nothing).
   */
  List<JsonNode> ipJson(NetnsName ns, IpBatch shows) {
    String out = shows.run(cmd, ns, "-j").stdout();
    long expected = shows.size();
    List<JsonNode> docs = new ArrayList<>();
    // a parser, not readValues: that would unwrap a top-level array into its elements
    try (var parser = JSON.getFactory().createParser(out)) {
      while (parser.nextToken() != null) {
        docs.add(JSON.readTree(parser));
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot parse `ip -j -batch` output: " + e.getMessage(), e);
    }
    if (docs.size() != expected) {
      throw new IllegalStateException("`ip -j -batch` printed " + docs.size() + " JSON documents for " + expected
          + " commands: " + out.strip());
    }
    return docs;
  }

  /**
   * Routes from the JSON array of {@code ip -j route show}. A route that does not parse into our typed values
   * (nothing we made looks like that) is left out, with a warning: it is neither kept nor deleted by us.
   */
  static List<Route> parseRoutes(JsonNode arr) {
    return routes(entries(arr));
  }

  /** The routes of {@code ip -j route show}'s JSON array, each part named as {@link Routes.Entry} names it. */
  static List<Routes.Entry> entries(JsonNode arr) {
    List<Routes.Entry> out = new ArrayList<>();
    for (JsonNode r : arr) {
      String via = "";
      if (r.has("gateway")) {
        via = r.get("gateway").asText();
      } else if (r.has("via")) {
        via = r.path("via").path("family").asText() + " " + r.path("via").path("host").asText();
      }
      String table = r.path("table").asText("main");
      int t = switch (table) {
        case "main" -> Route.MAIN;
        case "local" -> 255;
        case "default" -> 253;
        default -> Integer.parseInt(table);
      };
      out.add(new Routes.Entry(r.path("dst").asText(), via, r.path("dev").asText(), t));
    }
    return out;
  }

  /**
   * Our typed routes from what was read. A route that does not parse into our typed values (nothing we made looks
   * like that) is left out, with a warning: it is neither kept nor deleted by us.
   */
  public static List<Route> routes(List<Routes.Entry> entries) {
    List<Route> routes = new ArrayList<>();
    for (Routes.Entry e : entries) {
      try {
        routes.add(new Route(e.dst(), e.via(), e.dev(), e.table()));
      } catch (IllegalArgumentException ex) {
        log.warn("a route with our protocol marker is not one we could have made, left alone: {}", ex.getMessage());
      }
    }
    return routes;
  }


  /** A failure message that names the command, for CNI errors. */
  public static String describe(Throwable e) {
    if (e instanceof CommandException ce) {
      return String.join(" ", ce.command()) + " failed (exit " + ce.exitCode() + "): " + ce.stderr().strip();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
