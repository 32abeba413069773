package io.egressgateway.gateway.infra;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.Ipv4Address;
import io.egressgateway.gateway.model.GatewayNames;
import java.util.ArrayList;
import java.util.List;

/**
 * The one thing we put into the host's own NAT table: an ACCEPT at the top of {@code nat POSTROUTING} for
 * packets whose source is a config's secondary IP, so kube-proxy's or the CNI's masquerade does not rewrite
 * what our namespace already SNATed. Written with whichever iptables flavour (nft or legacy) the host's
 * kube-proxy uses, detected by which one holds NAT rules. Each rule carries the comment
 * {@code egress-gateway:<uid>} (our ownership marker); removal deletes only rules carrying it.
 */
public final class HostNat {
  private final CommandRunner cmd;
  private final String netns;
  private volatile String flavour;

  /** @param netns the host namespace; empty = the agent's own */
  public HostNat(CommandRunner cmd, String netns) {
    this.cmd = cmd;
    this.netns = netns == null ? "" : netns;
  }

  /** {@code iptables-nft}, {@code iptables-legacy}, or {@code iptables} when neither holds rules. */
  public String flavour() {
    String f = flavour;
    if (f == null) {
      int nft = ruleCount("iptables-nft-save");
      int legacy = ruleCount("iptables-legacy-save");
      f = legacy > nft ? "iptables-legacy" : nft > 0 ? "iptables-nft" : "iptables";
      flavour = f;
    }
    return f;
  }

  public boolean exempted(String uid, String sourceIp) {
    return cmd.attempt(in(spec("-C", uid, sourceIp))).ok();
  }

  public void exempt(String uid, String sourceIp) {
    if (!exempted(uid, sourceIp)) {
      List<String> argv = spec("-I", uid, sourceIp);
      argv.add(7, "1");
      cmd.run(in(argv));
    }
  }

  /** Deletes every rule carrying {@code uid}'s marker. */
  public void remove(String uid) {
    GatewayNames.requireUid(uid);
    String marker = comment(uid);
    CommandRunner.Result save = cmd.attempt(in(List.of(flavour() + "-save", "-t", "nat")));
    for (String line : save.stdout().split("\n")) {
      if (line.startsWith("-A POSTROUTING ") && ours(tokens(line), marker)) {
        List<String> argv = new ArrayList<>(List.of(flavour(), "-w", "5", "-t", "nat", "-D", "POSTROUTING"));
        argv.addAll(tokens(line.substring("-A POSTROUTING ".length())));
        cmd.run(in(argv));
      }
    }
  }

  /**
   * True when a saved rule carries exactly {@code marker} as its comment: not merely contains it (the
   * marker of uid {@code ab} is inside that of {@code abc}), and not a rule whose other words hold it.
   */
  static boolean ours(List<String> ruleTokens, String marker) {
    for (int i = 0; i + 1 < ruleTokens.size(); i++) {
      if (ruleTokens.get(i).equals("--comment") && ruleTokens.get(i + 1).equals(marker)) {
        return true;
      }
    }
    return false;
  }

  /** The rule for {@code uid}; the uid and the address are parsed here, right before they become arguments. */
  private List<String> spec(String op, String uid, String sourceIp) {
    GatewayNames.requireUid(uid);
    String source = Ipv4Address.parse(sourceIp).host().toString();
    return new ArrayList<>(List.of(flavour(), "-w", "5", "-t", "nat", op, "POSTROUTING", "-s", source, "-m",
        "comment", "--comment", comment(uid), "-j", "ACCEPT"));
  }

  private int ruleCount(String save) {
    CommandRunner.Result r = cmd.attempt(in(List.of(save, "-t", "nat")));
    if (!r.ok()) {
      return -1;
    }
    int n = 0;
    for (String line : r.stdout().split("\n")) {
      if (line.startsWith("-A ")) {
        n++;
      }
    }
    return n;
  }

  private List<String> in(List<String> argv) {
    return CommandRunner.inNetns(netns, argv);
  }

  private static String comment(String uid) {
    return "egress-gateway:" + uid;
  }

  /** Splits an iptables-save rule into arguments, honouring double quotes. */
  static List<String> tokens(String rule) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    boolean any = false;
    for (char c : rule.toCharArray()) {
      if (c == '"') {
        quoted = !quoted;
        any = true;
      } else if (c == ' ' && !quoted) {
        if (any) {
          out.add(cur.toString());
          cur.setLength(0);
          any = false;
        }
      } else {
        cur.append(c);
        any = true;
      }
    }
    if (any) {
      out.add(cur.toString());
    }
    return out;
  }
}
