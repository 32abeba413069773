package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.Ipv4Cidr;
import io.egressgateway.datapath.model.NetnsName;
import io.egressgateway.datapath.model.NextHop;
import java.util.ArrayList;
import java.util.List;

/**
 * The text of one {@code ip -4 -batch -}: one command per line, and a line ends where a value holds a
 * newline. So lines are made only from typed values ({@link Ipv4Cidr}, {@link NextHop}, {@link IfName},
 * numbers) and a few fixed words; no method takes free text. A batch costs one exec however many lines it
 * has.
 */
public final class IpBatch {
  /** What to do with a route. */
  public enum RouteVerb {
    REPLACE("replace"), DEL("del");

    private final String word;

    RouteVerb(String word) {
      this.word = word;
    }
  }

  /** A change a batch line makes, as typed values: what {@link Routes#apply} sends over rtnetlink. */
  public sealed interface Op permits RouteOp, RuleAdd, RuleDel {}

  /** {@code route replace|del}; {@code via} null for an on-link route. */
  public record RouteOp(RouteVerb verb, Ipv4Cidr dst, NextHop via, IfName dev, int table, int proto) implements Op {}

  /** {@code rule add pref P fwmark M lookup T}. */
  public record RuleAdd(int pref, int fwmark, int table) implements Op {}

  /** {@code rule del pref P}. */
  public record RuleDel(int pref) implements Op {}

  private final List<String> lines = new ArrayList<>();
  /** The changes, one per line, or null once a line is a {@code show} (then the batch only runs as {@code ip}). */
  private List<Op> ops = new ArrayList<>();

  /** A batch of {@code ops} (those of another batch, from some point on). */
  public static IpBatch of(List<Op> ops) {
    IpBatch b = new IpBatch();
    for (Op op : ops) {
      if (op instanceof RouteOp r) {
        b.route(r.verb(), r.dst(), r.via(), r.dev(), r.table(), r.proto());
      } else if (op instanceof RuleAdd r) {
        b.ruleAddFwmark(r.pref(), r.fwmark(), r.table());
      } else {
        b.ruleDel(((RuleDel) op).pref());
      }
    }
    return b;
  }

  /**
   * {@code route <verb> <dst> [via <hop>] dev <dev> [scope link] table <table> proto <proto>}: without a next
   * hop the route is on-link.
   *
   * @param via null for an on-link route
   */
  public IpBatch route(RouteVerb verb, Ipv4Cidr dst, NextHop via, IfName dev, int table, int proto) {
    List<String> w = new ArrayList<>(List.of("route", verb.word));
    w.addAll(routeArgs(dst, via, dev, table, proto));
    return add(w, new RouteOp(verb, dst, via, dev, table, proto));
  }

  /** The words after {@code ip -4 route replace|del} for one route. */
  public static List<String> routeArgs(Ipv4Cidr dst, NextHop via, IfName dev, int table, int proto) {
    List<String> w = new ArrayList<>(List.of(dst.toString()));
    if (via != null) {
      w.add("via");
      w.addAll(via.args());
    }
    w.addAll(List.of("dev", dev.value()));
    if (via == null) {
      w.addAll(List.of("scope", "link"));
    }
    w.addAll(List.of("table", Integer.toString(table(table)), "proto", Integer.toString(proto(proto))));
    return w;
  }

  /** {@code rule add pref <pref> fwmark <mark> lookup <table>}. */
  public IpBatch ruleAddFwmark(int pref, int fwmark, int table) {
    return add(List.of("rule", "add", "pref", Integer.toString(pref(pref)), "fwmark", mark(fwmark), "lookup",
        Integer.toString(table(table))), new RuleAdd(pref, fwmark, table));
  }

  /** {@code rule del pref <pref>}. */
  public IpBatch ruleDel(int pref) {
    return add(List.of("rule", "del", "pref", Integer.toString(pref(pref))), new RuleDel(pref));
  }

  /** {@code rule show pref <pref>}. */
  public IpBatch ruleShow(int pref) {
    return add(List.of("rule", "show", "pref", Integer.toString(pref(pref))), null);
  }

  /** {@code route show table all proto <proto>}. */
  public IpBatch routesOfProto(int proto) {
    return add(List.of("route", "show", "table", "all", "proto", Integer.toString(proto(proto))), null);
  }

  public boolean isEmpty() {
    return lines.isEmpty();
  }

  /** The number of commands. */
  public int size() {
    return lines.size();
  }

  /** The batch text: one line per command, each ending with a newline. */
  public String text() {
    StringBuilder b = new StringBuilder();
    lines.forEach(l -> b.append(l).append('\n'));
    return b.toString();
  }

  /** {@code ip -n <netns> -4 [options] -batch -} (options such as {@code -j} or {@code -force}). */
  public static List<String> argv(NetnsName netns, String... options) {
    List<String> args = new ArrayList<>(List.of("-4"));
    args.addAll(List.of(options));
    return Net.ipBatch(netns.value(), args);
  }

  /** Runs the batch in {@code netns}; fails like {@link CommandRunner#run} (nothing is run when empty). */
  public CommandRunner.Result run(CommandRunner cmd, NetnsName netns, String... options) {
    return cmd.run(argv(netns, options), text());
  }

  /** Runs the batch in {@code netns}, whatever the exit code. */
  public CommandRunner.Result attempt(CommandRunner cmd, NetnsName netns, String... options) {
    return cmd.attempt(argv(netns, options), text());
  }

  /** The changes, one per line, in order; refused for a batch with a {@code show} line. */
  public List<Op> ops() {
    if (ops == null) {
      throw new IllegalStateException("a batch with show lines runs only as ip");
    }
    return List.copyOf(ops);
  }

  /** The batch's line {@code i}, as {@code ip} would be given it. */
  public String line(int i) {
    return lines.get(i);
  }

  private IpBatch add(List<String> words, Op op) {
    // every word comes from a typed value or a constant; checked once more, so no line can grow a second one
    words.forEach(Net::word);
    lines.add(String.join(" ", words));
    if (op == null) {
      ops = null;
    } else if (ops != null) {
      ops.add(op);
    }
    return this;
  }

  private static String mark(int m) {
    return "0x" + Integer.toHexString(m);
  }

  private static int pref(int p) {
    if (p < 0 || p > 32767) {
      throw new IllegalArgumentException("rule preference out of range: " + p);
    }
    return p;
  }

  private static int table(int t) {
    if (t < 1) {
      throw new IllegalArgumentException("routing table out of range: " + t);
    }
    return t;
  }

  private static int proto(int p) {
    if (p < 0 || p > 255) {
      throw new IllegalArgumentException("route protocol out of range: " + p);
    }
    return p;
  }
}
