package io.egressgateway.datapath.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Values an attacker (a compromised member writing the replicated view, a forged CNI call) could hand to a
 * path that ends in {@code ip}, {@code nft}, {@code wg} or a file name. None of them is valid for any typed
 * value of this package. Shared with the other modules' hostile-value tests through the test jar.
 */
public final class HostileValues {
  private HostileValues() {}

  /** The injection shapes, each wrapped around {@code valid} (a valid value of the type under test). */
  public static List<String> around(String valid) {
    List<String> out = new ArrayList<>(List.of(
        valid + "\nnetns exec egwt-root touch /tmp/pwned",
        valid + "\n",
        valid + "\r",
        "\n" + valid,
        valid + "\u0000",
        valid + " ",
        " " + valid,
        valid + "\t",
        valid + " dev eth0",
        valid + ";reboot",
        valid + "|id",
        valid + "&id",
        valid + "$(id)",
        valid + "`id`",
        valid + "'",
        valid + "\"",
        valid + "}",
        valid + "#",
        valid + "\u00a0",
        valid + "\u2028",
        "../" + valid,
        valid + "/..",
        "-" + valid,
        valid.repeat(64)));
    return out;
  }

  /** Values no type accepts whatever the valid value looks like. */
  public static final List<String> ALWAYS = List.of("", " ", "\n", "..", ".", "-force", "$(id)", "`id`", ";", "a b",
      "x".repeat(300), "\u0000");
}
