package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The services a real Azure node offers its pods at link-local addresses, stood in for on every simulated
 * worker node: the instance metadata service at {@value #IMDS_IP} (HTTP) and AKS's node-local DNS cache at
 * {@value #DNS_IP} (UDP 53). Both addresses live on the loopback of the worker's own namespace, as the real
 * node-local DNS lives on a link of the node; nothing is added to the namespace the sandbox runs in. Each
 * answer names the node and the client address it saw, so a check can tell that a pod's request reached its
 * own node directly through eth0: through the tunnel it would reach a gateway, which has neither address.
 */
final class NodeStandIns {
  static final String IMDS_IP = "169.254.169.254";
  static final String DNS_IP = "169.254.10.11";
  /** What the chart sets by default (worker.exceptionCidrs), given to the sandbox's workers the same way. */
  static final String EXCEPTION_CIDRS = IMDS_IP + "/32," + DNS_IP + "/32";

  private final NetLab lab;
  private final Path imdsHandler;
  private final Path dnsHandler;

  NodeStandIns(NetLab lab) {
    this.lab = lab;
    this.imdsHandler = lab.script("imds-standin.sh", """
        #!/bin/bash
        # one HTTP exchange: name the node ($1) and the client address the connection came from
        while IFS= read -r -t 2 l; do [ -z "${l%$'\\r'}" ] && break; done
        printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nimds-standin node=%s client=%s\\n' "$1" "$SOCAT_PEERADDR"
        """);
    this.dnsHandler = lab.script("dns-standin.sh", """
        #!/bin/sh
        # one datagram in, one out: name the node ($1) and the client address the query came from. The query
        # is read first: a handler that exits with it unread resets its socket pair, and socat drops the answer.
        cat >/dev/null
        printf 'dns-standin node=%s client=%s\\n' "$1" "$SOCAT_PEERADDR"
        """);
  }

  /**
   * What kube-proxy (iptables mode, nft flavour) leaves in every node's NAT table before anything of ours
   * runs there: a {@code KUBE-POSTROUTING} chain that {@code POSTROUTING} jumps to. The gateway's own
   * exemption must go above it and leave with the release, while the table stays kube-proxy's.
   */
  static void kubeProxyNat(String ns) {
    Sh.mustIn(ns, "iptables-nft", "-w", "5", "-t", "nat", "-N", "KUBE-POSTROUTING");
    Sh.mustIn(ns, "iptables-nft", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment",
        "kubernetes postrouting rules", "-j", "KUBE-POSTROUTING");
  }

  /** Gives worker node {@code n} both stand-ins. */
  void addTo(Sandbox.SimNode n) {
    Sh.must("ip", "-n", n.ns(), "addr", "add", IMDS_IP + "/32", "dev", "lo");
    Sh.must("ip", "-n", n.ns(), "addr", "add", DNS_IP + "/32", "dev", "lo");
    lab.spawn("imds-" + n.name(), n.ns(), List.of("socat",
        "TCP-LISTEN:80,bind=" + IMDS_IP + ",fork,reuseaddr", "EXEC:" + imdsHandler + " " + n.name()));
    // -t 3: after the datagram (its end of input) socat waits that long for the handler's answer, not 0.5 s
    lab.spawn("dns-" + n.name(), n.ns(), List.of("socat", "-t", "3",
        "UDP-RECVFROM:53,bind=" + DNS_IP + ",fork", "EXEC:" + dnsHandler + " " + n.name()));
  }

  /**
   * From inside pod {@code podKey} (namespace {@code podNs}, address {@code podIp}, on {@code node}): the
   * route the pod's kernel picks for each stand-in, and whether the stand-in of the pod's own node answered
   * and saw the pod's own address. One report entry per target; true when both are reached via eth0.
   */
  static boolean check(String podKey, String podNs, String podIp, String node, ArrayNode out) {
    boolean ok = true;
    for (String target : List.of(IMDS_IP, DNS_IP)) {
      String route = Sh.quiet(podNs, "ip", "-4", "-o", "route", "get", target).stdout().trim();
      Matcher dev = Pattern.compile("\\bdev (\\S+)").matcher(route);
      String via = dev.find() ? dev.group(1) : "";
      String answer = target.equals(IMDS_IP)
          ? Sh.quiet(podNs, "curl", "-s", "-m", "3", "http://" + IMDS_IP + "/metadata/instance").stdout().trim()
          : askDns(podNs);
      String expected = (target.equals(IMDS_IP) ? "imds" : "dns") + "-standin node=" + node + " client=" + podIp;
      boolean reached = "eth0".equals(via) && answer.equals(expected);
      ok &= reached;
      ObjectNode e = out.addObject().put("pod", podKey).put("node", node).put("target", target).put("via", via)
          .put("answer", answer).put("ok", reached);
      if (!reached) {
        e.put("expected", "via eth0, answer '" + expected + "'").put("route", route);
      }
    }
    return ok;
  }

  /**
   * One datagram to the DNS stand-in and the first line of the answer, waiting up to 3 s for it (and
   * returning as soon as it is there); asked once more if nothing came, as a resolver would. ({@code head}
   * reads the whole datagram at once; bash's {@code read} takes one byte per datagram.)
   */
  private static String askDns(String podNs) {
    String script = "exec 3<>/dev/udp/" + DNS_IP + "/53 && printf 'query\\n' >&3 && timeout 3 head -n 1 <&3";
    String answer = "";
    for (int attempt = 0; attempt < 2 && answer.isEmpty(); attempt++) {
      answer = Sh.quiet(podNs, "bash", "-c", script).stdout().trim();
    }
    return answer;
  }
}
