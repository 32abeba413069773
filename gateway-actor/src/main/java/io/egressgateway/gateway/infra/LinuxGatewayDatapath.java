package io.egressgateway.gateway.infra;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.Port;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.net.NetnsStore;
import io.egressgateway.datapath.net.Nft;
import io.egressgateway.datapath.net.Routes;
import io.egressgateway.datapath.wireguard.WgDevice;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.ConfigSample;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import io.egressgateway.gateway.model.ObservedConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real gateway executor. Per config it owns one namespace {@code <prefix><uid>} holding {@code wg0}
 * (created in the host namespace, so its UDP socket listens there, then moved in), {@code host0} (veth to
 * the host, carrying the secondary IP), a default route to the node's primary IP, a policy rule sending
 * everything that comes back from {@code host0} into {@code wg0} (WireGuard's allowed IPs pick the pod, so
 * adding a pod is one {@code wg set}, not one more route), and the nft table {@code egress_gateway} with the
 * SNAT rule. In the host namespace it owns the veth's host end and the secondary IP's route through it
 * (both vanish with the namespace), the pools' ILB frontend IPs on the host interface (label
 * {@code <if>:egw}), and one NAT exemption per config ({@link HostNat}). The namespaces come from a
 * {@link NetnsStore}: {@code ip netns add}, or the chart's namespace holder, which lets the member run
 * unprivileged.
 *
 * <p>Persists: nothing. Observes: namespaces with our prefix, links, addresses, routes, rules, the nft
 * table and {@code wg show dump}.
 */
public final class LinuxGatewayDatapath implements GatewayDatapath {
  private static final Pattern INET = Pattern.compile("inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/");
  private static final Pattern VIA = Pattern.compile("^default via (\\S+)");
  private static final Pattern SNAT = Pattern.compile("snat (?:ip )?to (\\d+\\.\\d+\\.\\d+\\.\\d+)");
  private static final String TUNNEL_TABLE = "100";
  private static final String RULE_PREF = "100";

  private final CommandRunner cmd;
  private final WireGuardBackend wg;
  private final GatewayNames names;
  private final String hostNetns;
  private final int keepaliveSeconds;
  private final String hostInterface;
  private final String frontendLabel;
  private final HostNat hostNat;
  private final NetnsStore namespaces;

  /**
   * @param hostNetns        namespace of the node's host network; empty = the agent's own (production)
   * @param keepaliveSeconds persistent keepalive set on every pod peer (fast failover), 0 = off
   * @param hostInterface    the host's interface towards the VNet (gets the ILB frontend IPs)
   */
  public LinuxGatewayDatapath(CommandRunner cmd, WireGuardBackend wg, GatewayNames names, String hostNetns,
      int keepaliveSeconds, String hostInterface) {
    this(cmd, wg, names, hostNetns, keepaliveSeconds, hostInterface, NetnsStore.local(cmd));
  }

  /** @param namespaces where the per-config namespaces come from ({@link NetnsStore#held} for the chart's holder) */
  public LinuxGatewayDatapath(CommandRunner cmd, WireGuardBackend wg, GatewayNames names, String hostNetns,
      int keepaliveSeconds, String hostInterface, NetnsStore namespaces) {
    this.namespaces = namespaces;
    if (hostInterface == null || !hostInterface.matches("[A-Za-z0-9_.-]{1,11}") || hostInterface.startsWith("-")) {
      throw new IllegalArgumentException("host interface must be 1-11 of [A-Za-z0-9_.-]: '" + hostInterface + "'");
    }
    this.hostInterface = hostInterface;
    this.frontendLabel = hostInterface + ":egw";
    this.hostNat = new HostNat(cmd, hostNetns);
    this.cmd = cmd;
    this.wg = wg;
    this.names = names;
    this.hostNetns = hostNetns == null ? "" : hostNetns;
    this.keepaliveSeconds = keepaliveSeconds;
  }

  @Override
  public Map<String, ObservedConfig> observe() {
    Map<String, ObservedConfig> out = new HashMap<>();
    for (String ns : namespaces.list()) {
      String uid = names.uidOf(ns);
      if (uid != null) {
        out.put(uid, observeNs(uid));
      }
    }
    return out;
  }

  @Override
  public Optional<ObservedConfig> observe(String uid) {
    return namespaces.exists(names.netns(uid)) ? Optional.of(observeNs(uid)) : Optional.empty();
  }

  private ObservedConfig observeNs(String uid) {
    String ns = names.netns(uid);
    // read over netlink where it can be (a load balancer's probes ask several times a minute for every config),
    // else with one ip or nft process per question
    Optional<Routes.Snapshot> seen = read(() -> Net.snapshot(cmd, ns), Optional.of(NOTHING));
    String hostIp;
    String via;
    boolean tunnel;
    if (seen.isPresent()) {
      Routes.Snapshot s = seen.get();
      hostIp = s.firstAddress(GatewayNames.HOST_IF);
      // what `ip -4 route show default` starts with "default via": the main table's unicast default with a next hop
      via = s.routes().stream()
          .filter(r -> r.type() == 1 && r.route().table() == 254 && r.route().dst().equals("0.0.0.0/0") && !r.route().via().isEmpty())
          .map(r -> r.route().via().split(" ")[0]).findFirst().orElse("");
      int table = Integer.parseInt(TUNNEL_TABLE);
      tunnel = s.rules().stream().anyMatch(r -> r.pref() == Integer.parseInt(RULE_PREF) && r.table() == table)
          && s.routes().stream().anyMatch(r -> r.route().table() == table && r.route().dev().equals(GatewayNames.TUNNEL_IF));
    } else {
      hostIp = first(INET, cmd.attempt(Net.ip(ns, "-4", "-o", "addr", "show", "dev", GatewayNames.HOST_IF)).stdout());
      via = first(VIA, cmd.attempt(Net.ip(ns, "-4", "route", "show", "default")).stdout());
      tunnel = cmd.attempt(Net.ip(ns, "rule", "show", "pref", RULE_PREF)).stdout().contains("lookup " + TUNNEL_TABLE)
          && cmd.attempt(Net.ip(ns, "route", "show", "table", TUNNEL_TABLE)).stdout().contains("dev " + GatewayNames.TUNNEL_IF);
    }
    String snat = read(() -> Net.firstSnat(cmd, ns, GatewayNames.NFT_TABLE), Optional.of(""))
        .orElseGet(() -> first(SNAT, Nft.listTable(cmd, ns, "ip", GatewayNames.NFT_TABLE)));
    boolean hostRouted = Ipv4Address.isValid(hostIp) && hostRoutes()
        .map(s -> s.routes().stream().anyMatch(r -> r.route().table() == 254
            && r.route().dst().equals(Ipv4Address.parse(hostIp).host().toString()) && r.route().dev().equals(names.hostVeth(uid))))
        .orElseGet(() -> cmd.attempt(Net.ip(hostNetns, "-4", "route", "show", Ipv4Address.parse(hostIp).host().toString())).stdout()
            .contains("dev " + names.hostVeth(uid)));
    boolean exempt = Ipv4Address.isValid(hostIp) && hostNat.exempted(uid, hostIp);
    WgDevice dev = device(uid);
    boolean inPlace = Net.link(cmd, ns, GatewayNames.TUNNEL_IF).map(l -> l.alias().equals(dev.name())).orElse(false);
    if (!inPlace || !wg.alive(dev)) {
      return new ObservedConfig(uid, hostIp, via, snat, tunnel, hostRouted, exempt, false, 0, "", Map.of());
    }
    WgDump dump = wg.dump(dev);
    Map<String, String> peers = new HashMap<>();
    dump.peers().values().forEach(p -> peers.put(p.publicKey(), String.join(",", p.allowedIps())));
    return new ObservedConfig(uid, hostIp, via, snat, tunnel, hostRouted, exempt, true, dump.listenPort(), dump.publicKey(), peers);
  }

  @Override
  public void program(ConfigDatapath c, String privateKey) {
    // every value is parsed right before it reaches a command, whatever checked it before
    String ns = NetnsName.parse(names.netns(c.uid())).value();
    String hv = IfName.parse(names.hostVeth(c.uid())).value();
    Ipv4Address sip = Ipv4Address.parse(c.secondaryIp());
    Ipv4Address primary = Ipv4Address.parse(c.primaryIp());
    WgConfig conf = new WgConfig(privateKey, new Port(c.port()).value(), peers(c));
    if (!hostNetns.isEmpty() && !Net.netnsExists(hostNetns)) {
      throw new IllegalStateException("host namespace " + hostNetns + " does not exist");
    }
    namespaces.ensure(ns);
    Net.sysctl(cmd, ns, "net.ipv4.ip_forward", "1");
    Net.sysctl(cmd, hostNetns, "net.ipv4.ip_forward", "1");
    if (Net.link(cmd, hostNetns, hv).isEmpty()) {
      if (Net.link(cmd, ns, GatewayNames.HOST_IF).isPresent()) {
        cmd.run(Net.ip(ns, "link", "del", GatewayNames.HOST_IF));
      }
      cmd.run(Net.ip(hostNetns, "link", "add", hv, "type", "veth", "peer", "name", GatewayNames.HOST_IF, "netns", ns));
      cmd.run(Net.ip(hostNetns, "link", "set", hv, "alias", "egress-gateway:" + c.uid()));
    }
    cmd.run(Net.ip(hostNetns, "link", "set", hv, "up"));
    cmd.run(Net.ip(ns, "link", "set", GatewayNames.HOST_IF, "up"));
    cmd.run(Net.ip(ns, "addr", "replace", sip.host().toString(), "dev", GatewayNames.HOST_IF));
    cmd.run(Net.ip(ns, "route", "replace", primary.host().toString(), "dev", GatewayNames.HOST_IF, "scope", "link"));
    cmd.run(Net.ip(ns, "route", "replace", "default", "via", primary.toString(), "dev", GatewayNames.HOST_IF, "onlink"));
    cmd.run(Net.ip(hostNetns, "route", "replace", sip.host().toString(), "dev", hv));
    hostNat.exempt(c.uid(), sip.toString());

    WgDevice target = device(c.uid());
    boolean inPlace = Net.link(cmd, ns, GatewayNames.TUNNEL_IF).map(l -> l.alias().equals(target.name())).orElse(false);
    if (inPlace && wg.alive(target)) {
      // only what differs changes: the peers keep their sessions' endpoints, so after a new private key (the
      // configuration's key Secret replaced) the device itself starts each pod's new session with its next
      // keepalive, instead of every pod waiting for its own handshake retry
      wg.sync(target, conf);
    } else {
      wg.delete(target);
      wg.delete(WgDevice.created(target.name(), hostNetns));
      WgDevice created = wg.create(hostNetns, target.name());
      wg.configure(created, conf);
      wg.moveInto(created, ns, GatewayNames.TUNNEL_IF);
    }
    cmd.run(Net.ip(ns, "addr", "replace", "fe80::1/64", "dev", GatewayNames.TUNNEL_IF));
    cmd.run(Net.ip(ns, "route", "replace", "default", "dev", GatewayNames.TUNNEL_IF, "table", TUNNEL_TABLE));
    if (!cmd.run(Net.ip(ns, "rule", "show", "pref", RULE_PREF)).stdout().contains("lookup " + TUNNEL_TABLE)) {
      cmd.run(Net.ip(ns, "rule", "add", "pref", RULE_PREF, "iif", GatewayNames.HOST_IF, "lookup", TUNNEL_TABLE));
    }
    Nft.replaceTable(cmd, ns, "ip", GatewayNames.NFT_TABLE,
        Nft.snatBody(new IfName(GatewayNames.HOST_IF), sip) + "\n" + Nft.dropInvalidBody());
  }

  /**
   * The device's peers and counters ({@code wg show dump} or UAPI), the drop counters of our nft table and
   * the namespace's conntrack entry count. The count is read from {@code net.netfilter.nf_conntrack_count}
   * (one number the kernel keeps per namespace) rather than by listing the table ({@code conntrack -L}
   * prints every entry, megabytes at tens of thousands of connections, on every sample); the namespace
   * holds only this config's SNATed connections, so the count is the SNAT mappings of its secondary IP.
   */
  @Override
  public Optional<ConfigSample> sample(String uid) {
    String ns = names.netns(uid);
    WgDevice dev = device(uid);
    if (!namespaces.exists(ns) || !wg.alive(dev)) {
      return Optional.empty();
    }
    List<ConfigSample.Peer> peers = new ArrayList<>();
    wg.dump(dev).peers().values().forEach(p -> peers.add(
        new ConfigSample.Peer(p.publicKey(), p.latestHandshake(), p.rxBytes(), p.txBytes())));
    String table = Nft.listTable(cmd, ns, "ip", GatewayNames.NFT_TABLE);
    long dropped = table.isEmpty() ? -1 : Nft.droppedPackets(table);
    CommandRunner.Result ct = cmd.attempt(CommandRunner.inNetns(ns, List.of("sysctl", "-n", "net.netfilter.nf_conntrack_count")));
    long entries = ct.ok() && ct.stdout().strip().matches("\\d{1,18}") ? Long.parseLong(ct.stdout().strip()) : -1;
    return Optional.of(new ConfigSample(uid, peers, dropped, entries));
  }

  @Override
  public void syncPeers(ConfigDatapath c, String privateKey) {
    wg.sync(device(c.uid()), new WgConfig(privateKey, c.port(), peers(c)));
  }

  @Override
  public void addPeer(String uid, String publicKey, String allowedIp) {
    wg.setPeer(device(uid), new WgPeer(publicKey, List.of(allowedIp), "", keepaliveSeconds));
  }

  @Override
  public void addPeers(String uid, java.util.LinkedHashMap<String, String> allowedIpByKey) {
    List<WgPeer> peers = new java.util.ArrayList<>();
    allowedIpByKey.forEach((key, ip) -> peers.add(new WgPeer(key, List.of(ip), "", keepaliveSeconds)));
    wg.setPeers(device(uid), peers);
  }

  @Override
  public void removePeer(String uid, String publicKey) {
    wg.removePeer(device(uid), publicKey);
  }

  @Override
  public void remove(String uid) {
    wg.delete(device(uid));
    hostNat.remove(uid);
    String hv = names.hostVeth(uid);
    if (Net.link(cmd, hostNetns, hv).isPresent()) {
      cmd.run(Net.ip(hostNetns, "link", "del", hv));
    }
    namespaces.delete(names.netns(uid));
  }

  @Override
  public java.util.Set<String> frontends() {
    java.util.Set<String> out = new java.util.TreeSet<>();
    String text = cmd.run(Net.ip(hostNetns, "-4", "-o", "addr", "show", "dev", hostInterface, "label", frontendLabel)).stdout();
    Matcher m = INET.matcher(text);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  @Override
  public void addFrontend(String ip) {
    cmd.run(Net.ip(hostNetns, "addr", "replace", Ipv4Address.parse(ip).host().toString(), "dev", hostInterface,
        "label", frontendLabel));
  }

  @Override
  public void removeFrontend(String ip) {
    cmd.run(Net.ip(hostNetns, "addr", "del", Ipv4Address.parse(ip).host().toString(), "dev", hostInterface));
  }

  /** The host NAT adapter (exposes the detected iptables flavour). */
  public HostNat hostNat() {
    return hostNat;
  }

  /** The device of a config, where it lives once programmed. */
  public WgDevice device(String uid) {
    return new WgDevice(names.device(uid), names.netns(uid), GatewayNames.TUNNEL_IF);
  }

  public GatewayNames names() {
    return names;
  }

  private List<WgPeer> peers(ConfigDatapath c) {
    List<WgPeer> out = new ArrayList<>(c.peers().size());
    c.peers().entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> out.add(new WgPeer(e.getKey(), List.of(e.getValue()), "", keepaliveSeconds)));
    return out;
  }

  private static final Routes.Snapshot NOTHING = new Routes.Snapshot(List.of(), List.of(), Map.of());

  /**
   * A read of a config's namespace; {@code gone} when the kernel refused it (the namespace went meanwhile), which
   * the commands answered with nothing as well.
   */
  private static <T> T read(java.util.function.Supplier<T> read, T gone) {
    try {
      return read.get();
    } catch (IllegalStateException e) {
      return gone;
    }
  }

  /** The host namespace's rules, routes and addresses over netlink; empty where {@code ip} must answer instead. */
  private Optional<Routes.Snapshot> hostRoutes() {
    return Net.snapshot(cmd, hostNetns);
  }

  private static String first(Pattern p, String text) {
    for (String line : text.split("\n")) {
      Matcher m = p.matcher(line.strip());
      if (m.find()) {
        return m.group(1);
      }
    }
    return "";
  }
}
