package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Address;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * nftables in our own namespaces. Each ruleset is one table whose name is our ownership marker; it is
 * replaced atomically (declare, delete, re-create in one {@code nft -f} transaction), so applying twice
 * changes nothing and never touches another table.
 */
public final class Nft {
  private static final Pattern DROP_COUNTER = Pattern.compile("counter packets (\\d+) bytes \\d+ drop");

  private Nft() {}

  /** Replaces table {@code family name} inside {@code netns} with {@code body} (the text inside the braces). */
  public static void replaceTable(CommandRunner cmd, String netns, String family, String name, String body) {
    requireTable(family, name);
    String script = "table " + family + " " + name + "\n"
        + "delete table " + family + " " + name + "\n"
        + "table " + family + " " + name + " {\n" + body + "\n}\n";
    cmd.run(CommandRunner.inNetns(netns, List.of("nft", "-f", "-")), script);
  }

  /** The table as {@code nft list table} prints it, or empty when absent. */
  public static String listTable(CommandRunner cmd, String netns, String family, String name) {
    requireTable(family, name);
    CommandRunner.Result r = cmd.attempt(CommandRunner.inNetns(netns, List.of("nft", "list", "table", family, name)));
    return r.ok() ? r.stdout() : "";
  }

  /** A family nft knows and a table name that is one identifier: both go into the script as words. */
  static void requireTable(String family, String name) {
    if (family == null || !family.matches("ip|ip6|inet|arp|bridge|netdev")) {
      throw new IllegalArgumentException("not an nft family: " + family);
    }
    if (name == null || !name.matches("[A-Za-z_][A-Za-z0-9_]{0,63}")) {
      throw new IllegalArgumentException("not an nft table name we use: " + name);
    }
  }

  /**
   * The SNAT rule body for a gateway namespace: traffic leaving by {@code oif} gets {@code ip}'s source.
   * Typed parameters only: this text goes into {@code nft -f -}, where a newline starts a new command.
   */
  public static String snatBody(IfName oif, Ipv4Address ip) {
    return "  chain postrouting {\n"
        + "    type nat hook postrouting priority srcnat; policy accept;\n"
        + "    oifname \"" + oif + "\" ip saddr != " + ip + " snat to " + ip + "\n"
        + "  }";
  }

  /**
   * A pod's reply marking: connections that arrive on {@code ingress} are marked {@code mark} (conntrack), and the
   * packets the pod sends on such a connection carry that mark, which the pod's rule sends to the reply table.
   * {@link NfTables#replyMarking} is the same table as nfnetlink messages.
   */
  public static String replyMarkingBody(IfName ingress, int mark) {
    String m = "0x" + Integer.toHexString(mark);
    return "  chain prerouting {\n"
        + "    type filter hook prerouting priority mangle; policy accept;\n"
        + "    iifname \"" + ingress + "\" ct state new ct mark set " + m + "\n"
        + "  }\n"
        + "  chain output {\n"
        + "    type route hook output priority mangle; policy accept;\n"
        + "    ct mark " + m + " meta mark set " + m + "\n"
        + "  }";
  }

  /**
   * A forward filter chain that counts and drops what conntrack cannot place ({@code ct state invalid}):
   * such a packet skips NAT, so it would leave with the address it came in with (a pod's) instead of the
   * SNAT address. Its counter is what {@link #droppedPackets} reads.
   */
  public static String dropInvalidBody() {
    return "  chain forward {\n"
        + "    type filter hook forward priority filter; policy accept;\n"
        + "    ct state invalid counter drop\n"
        + "  }";
  }

  /** The sum of the packet counters of the drop rules in a table as {@code nft list table} prints it. */
  public static long droppedPackets(String listing) {
    long sum = 0;
    Matcher m = DROP_COUNTER.matcher(listing);
    while (m.find()) {
      sum += Long.parseLong(m.group(1));
    }
    return sum;
  }
}
