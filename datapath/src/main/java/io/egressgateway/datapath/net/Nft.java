package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandRunner;
import java.util.List;

/**
 * nftables in our own namespaces. Each ruleset is one table whose name is our ownership marker; it is
 * replaced atomically (declare, delete, re-create in one {@code nft -f} transaction), so applying twice
 * changes nothing and never touches another table.
 */
public final class Nft {
  private Nft() {}

  /** Replaces table {@code family name} inside {@code netns} with {@code body} (the text inside the braces). */
  public static void replaceTable(CommandRunner cmd, String netns, String family, String name, String body) {
    String script = "table " + family + " " + name + "\n"
        + "delete table " + family + " " + name + "\n"
        + "table " + family + " " + name + " {\n" + body + "\n}\n";
    cmd.run(CommandRunner.inNetns(netns, List.of("nft", "-f", "-")), script);
  }

  /** The table as {@code nft list table} prints it, or empty when absent. */
  public static String listTable(CommandRunner cmd, String netns, String family, String name) {
    CommandRunner.Result r = cmd.attempt(CommandRunner.inNetns(netns, List.of("nft", "list", "table", family, name)));
    return r.ok() ? r.stdout() : "";
  }

  /** The SNAT rule body for a gateway namespace: traffic leaving by {@code oif} gets {@code ip}'s source. */
  public static String snatBody(String oif, String ip) {
    return "  chain postrouting {\n"
        + "    type nat hook postrouting priority srcnat; policy accept;\n"
        + "    oifname \"" + oif + "\" ip saddr != " + ip + " snat to " + ip + "\n"
        + "  }";
  }
}
