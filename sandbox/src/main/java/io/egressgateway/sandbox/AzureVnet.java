package io.egressgateway.sandbox;

import io.egressgateway.datapath.command.CommandRunner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stand-in for an Azure VNet, built from namespaces the {@link NetLab} owns:
 *
 * <ul>
 *   <li>{@code vnet}: the VNet router. Every "VM" is a namespace whose {@code eth0} has a /32 address and a
 *       default route via {@code 10.224.0.1} on the router, so all traffic between VMs crosses the router, as
 *       in Azure's SDN. Secondary IPs are routed to their VM like NIC ipConfigs.
 *   <li>the internal load balancer in floating-IP mode: the frontend IP is routed with ECMP (L4 hash) to the
 *       healthy backends' primary IPs; the gateways hold the frontend IP themselves.
 *   <li>the edge: traffic to the internet is SNATed 1:1 from each secondary IP to its public IP (the public
 *       IP prefix) and everything else from the VNet to a default outbound address.
 *   <li>{@code inet}: the internet, with echo services that answer with the source address they see.
 * </ul>
 */
public final class AzureVnet {
  public static final String ROUTER_IP = "10.224.0.1";
  public static final String VNET_CIDR = "10.224.0.0/16";
  public static final String POD_CIDR = "10.244.0.0/16";
  public static final String DEFAULT_OUTBOUND_IP = "203.0.113.1";
  /** Public address space the internet routes back to the VNet's edge (public IP prefixes come from here). */
  public static final List<String> PUBLIC_SPACE = List.of("203.0.113.0/24", "198.51.100.0/24", "20.100.0.0/16");
  /** Echo service reached through the egress gateway. */
  public static final String ECHO_IP = "198.18.10.10";
  /** Echo service inside a CIDR the demo excludes from the gateway. */
  public static final String ECHO_EXCLUDED_IP = "198.18.20.20";
  public static final String EXCLUDED_CIDR = "198.18.20.0/24";
  public static final int ECHO_PORT = 8080;

  private final NetLab lab;
  private final String vnet;
  private final String inet;
  private final Map<String, String> vmIfByIp = new LinkedHashMap<>();
  private final java.nio.file.Path echoHandler;

  public AzureVnet(NetLab lab) {
    this.lab = lab;
    this.vnet = lab.addNamespace("vnet");
    this.inet = lab.addNamespace("inet");
    Sh.mustIn(vnet, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1");
    Sh.must("ip", "-n", vnet, "link", "add", "v-inet", "type", "veth", "peer", "name", "eth0", "netns", inet);
    Sh.must("ip", "-n", vnet, "addr", "add", "198.18.0.1/30", "dev", "v-inet");
    Sh.must("ip", "-n", vnet, "link", "set", "v-inet", "up");
    Sh.must("ip", "-n", inet, "addr", "add", "198.18.0.2/30", "dev", "eth0");
    Sh.must("ip", "-n", inet, "link", "set", "eth0", "up");
    Sh.must("ip", "-n", vnet, "route", "add", "default", "via", "198.18.0.2", "dev", "v-inet");
    for (String space : PUBLIC_SPACE) {
      Sh.must("ip", "-n", inet, "route", "add", space, "via", "198.18.0.1", "dev", "eth0");
    }
    Sh.must("ip", "-n", inet, "addr", "add", ECHO_IP + "/32", "dev", "lo");
    Sh.must("ip", "-n", inet, "addr", "add", ECHO_EXCLUDED_IP + "/32", "dev", "lo");
    setPublicIps(Map.of());
    echoHandler = lab.script("echo-handler.sh", """
        #!/bin/bash
        # one HTTP exchange: answer with the client address the connection came from
        while IFS= read -r -t 2 l; do [ -z "${l%$'\\r'}" ] && break; done
        printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s\\n' "$SOCAT_PEERADDR"
        """);
    startEcho(inet, ECHO_IP, ECHO_PORT);
    startEcho(inet, ECHO_EXCLUDED_IP, ECHO_PORT);
  }

  public String routerNs() {
    return vnet;
  }

  public String internetNs() {
    return inet;
  }

  /** Creates a VM namespace {@code name} whose eth0 holds {@code ip}/32; returns the namespace. */
  public String addVm(String name, String ip) {
    String ns = lab.addNamespace(name);
    String vif = vethName(name);
    Sh.must("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", vif, "netns", vnet);
    Sh.must("ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0");
    Sh.must("ip", "-n", ns, "link", "set", "eth0", "up");
    Sh.must("ip", "-n", ns, "route", "add", ROUTER_IP + "/32", "dev", "eth0", "scope", "link");
    Sh.must("ip", "-n", ns, "route", "add", "default", "via", ROUTER_IP, "dev", "eth0", "onlink");
    Sh.mustIn(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    Sh.must("ip", "-n", vnet, "addr", "add", ROUTER_IP + "/32", "dev", vif);
    Sh.must("ip", "-n", vnet, "link", "set", vif, "up");
    Sh.must("ip", "-n", vnet, "route", "add", ip + "/32", "dev", vif, "scope", "link");
    synchronized (vmIfByIp) {
      vmIfByIp.put(ip, vif);
    }
    return ns;
  }

  /**
   * Takes a VM's NIC down (as when the VM dies: nothing in or out) or brings it back with its routes (the
   * kernel drops a link's routes when it goes down).
   */
  public void setVmLink(String vmNs, boolean up) {
    Sh.must("ip", "-n", vmNs, "link", "set", "eth0", up ? "up" : "down");
    if (up) {
      Sh.must("ip", "-n", vmNs, "route", "replace", ROUTER_IP + "/32", "dev", "eth0", "scope", "link");
      Sh.must("ip", "-n", vmNs, "route", "replace", "default", "via", ROUTER_IP, "dev", "eth0", "onlink");
    }
  }

  /** Routes a NIC secondary IP to the VM that holds primary {@code primaryIp} (an Azure ipConfig). */
  public void routeSecondaryIp(String secondaryIp, String primaryIp) {
    Sh.must("ip", "-n", vnet, "route", "replace", secondaryIp + "/32", "via", primaryIp, "dev", ifOf(primaryIp), "onlink");
  }

  /** Routes a node's pod CIDR to the node (an Azure route table entry, as kubenet uses). */
  public void routePodCidr(String podCidr, String nodeIp) {
    Sh.must("ip", "-n", vnet, "route", "replace", podCidr, "via", nodeIp, "dev", ifOf(nodeIp), "onlink");
  }

  /** Points ILB frontend {@code frontendIp} at the healthy backends (primary IPs); none: blackhole. */
  public void setIlbBackends(String frontendIp, List<String> healthyPrimaryIps) {
    setIlbBackends(frontendIp, healthyPrimaryIps, 0);
  }

  /** Same, in routing table {@code table} (0: main), for per-rule tables selected by destination port. */
  public void setIlbBackends(String frontendIp, List<String> healthyPrimaryIps, int table) {
    List<String> cmd = new ArrayList<>(List.of("ip", "-n", vnet, "route", "replace"));
    cmd.addAll(healthyPrimaryIps.isEmpty() ? List.of("blackhole", frontendIp + "/32") : List.of(frontendIp + "/32"));
    if (table != 0) {
      cmd.addAll(List.of("table", Integer.toString(table)));
    }
    if (healthyPrimaryIps.size() == 1) {
      String ip = healthyPrimaryIps.get(0);
      cmd.addAll(List.of("via", ip, "dev", ifOf(ip), "onlink"));
    } else {
      for (String ip : healthyPrimaryIps) {
        cmd.addAll(List.of("nexthop", "via", ip, "dev", ifOf(ip), "onlink"));
      }
    }
    Sh.must(cmd.toArray(String[]::new));
  }

  /** A load-balancing rule as the router sees it: UDP to {@code frontendIp:port}. */
  public record IlbRule(String frontendIp, int port) implements Comparable<IlbRule> {
    @Override
    public int compareTo(IlbRule o) {
      return port != o.port ? Integer.compare(port, o.port) : frontendIp.compareTo(o.frontendIp);
    }
  }

  private final java.util.Set<Integer> flowMarks = new java.util.TreeSet<>();

  /**
   * Keeps each flow on its backend, as Azure's load balancer does ("stickiness within a transport session"; a
   * backend that turns healthy receives new flows): a flow (5-tuple) stays on the backend it was first sent to
   * while that backend is healthy for its rule; a new flow, or one whose backend left, is hashed over the rule's
   * healthy backends ({@code healthy}: per rule, its backends' primary IPs). Conntrack marks remember each flow's
   * backend (the rule's port and the backend's last octet), and a route per mark sends it there; a rule without
   * healthy backends falls through to its table of {@link #setIlbBackends} (a blackhole). Replaces the whole set.
   */
  public void setIlbFlows(Map<IlbRule, List<String>> healthy) {
    StringBuilder rules = new StringBuilder();
    List<String> live = new ArrayList<>();
    for (var e : new java.util.TreeMap<>(healthy).entrySet()) {
      IlbRule r = e.getKey();
      List<String> backends = e.getValue().stream().distinct().sorted().toList();
      if (backends.isEmpty()) {
        continue;
      }
      StringBuilder map = new StringBuilder();
      for (int i = 0; i < backends.size(); i++) {
        int mark = flowMark(r.port(), backends.get(i));
        if (flowMarks.add(mark)) {
          Sh.must("ip", "-n", vnet, "rule", "add", "fwmark", Integer.toString(mark), "lookup", Integer.toString(FLOW_TABLE_BASE + mark),
              "priority", "500");
        }
        Sh.must("ip", "-n", vnet, "route", "replace", r.frontendIp() + "/32", "via", backends.get(i), "dev", ifOf(backends.get(i)),
            "onlink", "table", Integer.toString(FLOW_TABLE_BASE + mark));
        live.add(Integer.toString(mark));
        map.append(i == 0 ? "" : ", ").append(i).append(" : ").append(mark);
      }
      String match = "    ip daddr " + r.frontendIp() + " udp dport " + r.port();
      rules.append(match).append(" ct mark != @live ct mark set jhash ip saddr . udp sport mod ").append(backends.size())
          .append(" map { ").append(map).append(" }\n");
      rules.append(match).append(" ct mark @live meta mark set ct mark\n");
    }
    String nft = "table ip azure_ilb\ndelete table ip azure_ilb\ntable ip azure_ilb {\n"
        + "  set live {\n    type mark\n" + (live.isEmpty() ? "" : "    elements = { " + String.join(", ", live) + " }\n") + "  }\n"
        + "  chain prerouting {\n    type filter hook prerouting priority mangle; policy accept;\n"
        + rules
        + "  }\n}\n";
    Sh.mustWithInput(vnet, nft, "nft", "-f", "-");
  }

  private static final int FLOW_TABLE_BASE = 1_000_000;

  /** The conntrack mark of flows of rule port {@code port} on backend {@code ip}: the port, then the address's last octet. */
  static int flowMark(int port, String ip) {
    return port << 8 | Integer.parseInt(ip.substring(ip.lastIndexOf('.') + 1));
  }

  /** Replaces the edge NAT: each secondary IP leaves as its public IP; the rest of the VNet as default outbound. */
  public void setPublicIps(Map<String, String> publicBySecondaryIp) {
    StringBuilder rules = new StringBuilder();
    publicBySecondaryIp.forEach((sec, pub) ->
        rules.append("    oifname \"v-inet\" ip saddr ").append(sec).append(" snat to ").append(pub).append('\n'));
    String nft = "table ip azure\ndelete table ip azure\ntable ip azure {\n"
        + "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        + rules
        + "    oifname \"v-inet\" ip saddr { " + VNET_CIDR + ", " + POD_CIDR + " } snat to " + DEFAULT_OUTBOUND_IP + "\n"
        + "  }\n}\n";
    Sh.mustWithInput(vnet, nft, "nft", "-f", "-");
  }

  /** Runs {@code cmd} in the router namespace (e.g. the LB health prober's HTTP GET). */
  public CommandRunner.Result inRouter(String... cmd) {
    return Sh.run(Sh.inNs(vnet, cmd), null, 10);
  }

  /**
   * Starts an HTTP echo (answers with the client address it sees) on {@code ip:port} in namespace {@code ns};
   * returns once it listens (a request made right after would otherwise be refused on a busy machine).
   */
  public void startEcho(String ns, String ip, int port) {
    // the measuring side runs ahead of the members in the CPU's queue (see Traffic)
    lab.spawn("echo-" + ip, ns, List.of("nice", "-n", "-10", "socat",
        "TCP-LISTEN:" + port + ",bind=" + ip + ",fork,reuseaddr", "EXEC:" + echoHandler));
    VnetServices.awaitListening(ns, ip, port);
  }

  private String ifOf(String primaryIp) {
    synchronized (vmIfByIp) {
      String vif = vmIfByIp.get(primaryIp);
      if (vif == null) {
        throw new IllegalArgumentException("no VM with primary IP " + primaryIp);
      }
      return vif;
    }
  }

  private static String vethName(String vm) {
    String n = "v-" + vm;
    return n.length() <= 15 ? n : n.substring(0, 15);
  }
}
