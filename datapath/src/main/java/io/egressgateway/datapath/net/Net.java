package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import io.egressgateway.datapath.model.NetnsName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Namespace, link, address and route helpers over {@code ip}. Every call is addressed to one namespace
 * ({@code ip -n}); the empty namespace is the agent's own. Only the callers decide what to touch: these
 * helpers never act on objects they were not named.
 */
public final class Net {
  private static final Pattern LINK = Pattern.compile("^\\d+: ([^:@\\s]+)[@:].*?(?:\\\\\\s+alias (\\S+))?\\s*$");

  private Net() {}

  /**
   * {@code ip [-n netns] args...}. The namespace is parsed ({@link NetnsName}) and every argument must be one
   * word (no whitespace, no control character): values reach here as typed values turned into text
   * ({@link io.egressgateway.datapath.model.Ipv4Address}, {@link IfName}, ...), and this refuses what is not.
   */
  public static List<String> ip(String netns, String... args) {
    List<String> a = new ArrayList<>(args.length + 3);
    a.add("ip");
    if (netns != null && !netns.isEmpty()) {
      a.add("-n");
      a.add(NetnsName.parse(netns).value());
    }
    for (String arg : args) {
      if (arg != null && (arg.equals("-batch") || arg.equals("-b"))) {
        // batch text is a command per line: only IpBatch, which makes it from typed values, may feed one
        throw new IllegalArgumentException("ip -batch goes through IpBatch");
      }
      a.add(word(arg));
    }
    return a;
  }

  /** {@link #ip} without the batch guard, for {@link IpBatch} alone. */
  static List<String> ipBatch(String netns, List<String> options) {
    List<String> a = ip(netns, options.toArray(String[]::new));
    a.addAll(List.of("-batch", "-"));
    return a;
  }

  /** {@code arg} if it is one word: not null, no whitespace, no control character. */
  static String word(String arg) {
    if (arg == null || arg.chars().anyMatch(c -> c <= 0x20 || c == 0x7f || Character.isWhitespace(c) || Character.isSpaceChar(c))) {
      throw new IllegalArgumentException("not one word, refused as an ip argument: "
          + (arg == null ? "null" : "'" + arg.replaceAll("\\p{Cntrl}", "?") + "'"));
    }
    return arg;
  }

  /** A link as {@code ip -o link show} lists it. */
  public record Link(String name, String alias, boolean up) {}

  public static boolean netnsExists(String netns) {
    return java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/netns", NetnsName.parse(netns).value()));
  }

  /** Names of all named network namespaces. */
  public static List<String> listNetns(CommandRunner cmd) {
    List<String> out = new ArrayList<>();
    for (String line : cmd.run(List.of("ip", "netns", "list")).stdout().split("\n")) {
      String n = line.strip();
      if (!n.isEmpty()) {
        out.add(n.split("\\s+")[0]);
      }
    }
    return out;
  }

  /** Creates {@code netns} with loopback up; an existing one is kept. */
  public static void ensureNetns(CommandRunner cmd, String netns) {
    if (!netnsExists(netns)) {
      cmd.run(List.of("ip", "netns", "add", NetnsName.parse(netns).value()));
    }
    cmd.run(ip(netns, "link", "set", "lo", "up"));
  }

  /** Deletes {@code netns} (and with it every link inside); absent is fine. */
  public static void deleteNetns(CommandRunner cmd, String netns) {
    if (netnsExists(netns)) {
      cmd.run(List.of("ip", "netns", "del", NetnsName.parse(netns).value()));
    }
  }

  public static List<Link> links(CommandRunner cmd, String netns) {
    List<Link> out = new ArrayList<>();
    for (String line : cmd.run(ip(netns, "-o", "link", "show")).stdout().split("\n")) {
      Optional.ofNullable(parseLink(line)).ifPresent(out::add);
    }
    return out;
  }

  /**
   * The link {@code name} in {@code netns}, empty when it or the namespace does not exist. Read over rtnetlink
   * ({@link Links}, no process) unless the runner's commands act elsewhere ({@link CommandRunner#runsElsewhere});
   * where netlink fails, {@code ip -o link show} answers (the first such failure is logged).
   */
  public static Optional<Link> link(CommandRunner cmd, String netns, String name) {
    String dev = IfName.parse(name).value();
    if (nativeCalls && !cmd.runsElsewhere()) {
      try {
        return Links.get(NETNS_DIR, netns, dev);
      } catch (java.io.IOException | RuntimeException | LinkageError e) {
        fallback(Fallback.LINKS, dev, e);
      }
    }
    CommandRunner.Result r = cmd.attempt(ip(netns, "-o", "link", "show", "dev", dev));
    return r.ok() ? Optional.ofNullable(parseLink(r.stdout().strip())) : Optional.empty();
  }

  /**
   * Brings the link {@code name} in {@code netns} up; false when that failed (no such link yet, say). Over
   * rtnetlink ({@link Links#up}) unless the runner's commands act elsewhere; where netlink itself fails, with
   * {@code ip link set <name> up}.
   */
  public static boolean linkUp(CommandRunner cmd, String netns, String name) {
    String dev = IfName.parse(name).value();
    Kernel k = inProcess(cmd, Fallback.LINKS, dev, () -> Links.up(NETNS_DIR, netns, dev));
    return k.answered() ? k.refused() == null : cmd.attempt(ip(netns, "link", "set", dev, "up")).ok();
  }

  /**
   * Deletes the link {@code name} in {@code netns}; false when that failed (no such link, say). Over rtnetlink
   * ({@link Links#delete}) unless the runner's commands act elsewhere; where netlink itself fails, with
   * {@code ip link del <name>}.
   */
  public static boolean deleteLink(CommandRunner cmd, String netns, String name) {
    String dev = IfName.parse(name).value();
    Kernel k = inProcess(cmd, Fallback.LINKS, dev, () -> Links.delete(NETNS_DIR, netns, dev));
    return k.answered() ? k.refused() == null : cmd.attempt(ip(netns, "link", "del", dev)).ok();
  }

  /**
   * Moves the link {@code name} from {@code from} into {@code to}, named {@code newName} there, with
   * {@code alias}, and up, in one step. Over rtnetlink ({@link Links#move}) unless the runner's commands act
   * elsewhere; where netlink itself fails, with one {@code ip link set} command. Throws when the kernel refused
   * (the name taken there, no such link or namespace), with its errno or ip's message.
   */
  public static void moveLink(CommandRunner cmd, String from, String name, String to, String newName, String alias) {
    String dev = IfName.parse(name).value();
    String target = IfName.parse(newName).value();
    Kernel k = inProcess(cmd, Fallback.LINKS, dev, () -> Links.move(NETNS_DIR, from, dev, NetnsName.parse(to).value(), target, alias));
    if (k.answered()) {
      if (k.refused() != null) {
        throw new IllegalStateException("moving link " + dev + " into " + to + " as " + target + ": " + k.refused().getMessage());
      }
      return;
    }
    List<String> move = new ArrayList<>(List.of("link", "set", "dev", dev, "netns", to));
    if (!dev.equals(target)) {
      move.addAll(List.of("name", target));
    }
    move.addAll(List.of("alias", alias, "up"));
    cmd.run(ip(from, move.toArray(String[]::new)));
  }

  /**
   * What {@code netns} holds of ours ({@link Routes#read}: the rule at {@code pref}, not asked when negative, and
   * the IPv4 routes of protocol {@code proto} in every table), read over rtnetlink; empty where it must be read
   * with {@code ip} instead: the runner's commands act elsewhere, or netlink failed for another reason than the
   * kernel's answer (logged once). A namespace that does not exist is thrown, as {@code ip -n} fails for it.
   */
  public static Optional<Routes.Owned> ownedRoutes(CommandRunner cmd, NetnsName netns, int pref, int proto) {
    return netlinkRead(cmd, Fallback.ROUTES, netns.value(), () -> Routes.read(NETNS_DIR, netns.value(), pref, proto));
  }

  /**
   * The IPv4 rules, routes and addresses of {@code netns} ({@link Routes#snapshot}) over rtnetlink; empty where they
   * must be read with {@code ip} instead: the runner's commands act elsewhere, or netlink failed for another reason
   * than the kernel's answer (logged once). A namespace that does not exist is thrown, as {@code ip -n} fails.
   */
  public static Optional<Routes.Snapshot> snapshot(CommandRunner cmd, String netns) {
    return netlinkRead(cmd, Fallback.ROUTES, netns, () -> Routes.snapshot(NETNS_DIR, netns));
  }

  /**
   * The address of the first {@code snat to A} in table {@code ip table} of {@code netns} ({@link NfTables#firstSnat},
   * "" when none) over nfnetlink; empty where it must be read with {@code nft list table} instead, as for
   * {@link #snapshot}.
   */
  public static Optional<String> firstSnat(CommandRunner cmd, String netns, String table) {
    return netlinkRead(cmd, Fallback.NFT, netns, () -> NfTables.firstSnat(NETNS_DIR, netns, table));
  }

  private interface Read<T> {
    T read() throws java.io.IOException;
  }

  /** A read made in this process ({@link #inProcess}): its value, empty where the command must answer; a refusal is thrown. */
  private static <T> Optional<T> netlinkRead(CommandRunner cmd, Fallback kind, String netns, Read<T> read) {
    List<T> got = new ArrayList<>(1);
    Kernel k = inProcess(cmd, kind, netns, () -> got.add(read.read()));
    if (!k.answered()) {
      return Optional.empty();
    }
    if (k.refused() != null) {
      throw new IllegalStateException("reading " + (netns == null || netns.isEmpty() ? "this namespace" : netns)
          + " over netlink: " + Routes.strerror(k.refused().errno()));
    }
    return Optional.of(got.get(0));
  }

  /**
   * Makes the changes of {@code batch} in {@code netns} in order, over rtnetlink ({@link Routes#apply}) unless
   * the runner's commands act elsewhere. Without {@code force} the first change the kernel refuses stops the
   * batch and is thrown, naming its line and the kernel's answer, as {@code ip -batch} stops; with it, refusals
   * are passed over, as {@code ip -force -batch} does (a namespace that is gone then leaves nothing to do).
   * Where netlink fails for another reason (logged once), one {@code ip -batch} makes the changes not made yet.
   */
  public static void changeRoutes(CommandRunner cmd, NetnsName netns, IpBatch batch, boolean force) {
    if (batch.isEmpty()) {
      return;
    }
    List<IpBatch.Op> ops = batch.ops();
    int[] made = {0};
    String refused = null;
    if (nativeCalls && !cmd.runsElsewhere()) {
      try {
        List<Routes.Outcome> out = Routes.apply(NETNS_DIR, netns.value(), ops, force, n -> made[0] = n);
        Routes.Outcome last = out.get(out.size() - 1);
        if (force || last.done()) {
          return;
        }
        refused = "`" + batch.line(out.size() - 1) + "`: RTNETLINK answers: " + Routes.strerror(last.errno());
      } catch (NetlinkSocket.NetlinkException e) {
        if (kernelAnswered(e) && made[0] == 0) {
          if (force) {
            return; // the namespace is gone: nothing of it is left to change
          }
          refused = Routes.strerror(e.errno());
        } else {
          fallback(Fallback.ROUTES, netns.value(), e);
        }
      } catch (java.io.IOException | RuntimeException | LinkageError e) {
        fallback(Fallback.ROUTES, netns.value(), e);
      }
    }
    if (refused != null) {
      throw new IllegalStateException("ip -n " + netns.value() + " -4 -batch: " + refused);
    }
    IpBatch rest = made[0] == 0 ? batch : IpBatch.of(ops.subList(made[0], ops.size()));
    if (force) {
      rest.attempt(cmd, netns, "-force");
    } else {
      rest.run(cmd, netns);
    }
  }

  /**
   * Puts the pod's reply-marking table {@code ip name} in place in {@code netns} ({@link Nft#replyMarkingBody}),
   * replacing whatever table of that name is there, in one transaction: over nfnetlink ({@link NfTables}) unless
   * the runner's commands act elsewhere; where that fails for another reason than the kernel's refusal (logged
   * once), with {@code nft -f}. A refusal is thrown.
   */
  public static void replaceReplyMarking(CommandRunner cmd, String netns, String name, IfName ingress, int mark) {
    Kernel k = inProcess(cmd, Fallback.NFT, name, () -> NfTables.replaceReplyMarking(NETNS_DIR, netns, name, ingress, mark));
    if (k.answered()) {
      if (k.refused() != null) {
        throw new IllegalStateException("nftables table ip " + name + " in " + netns + ": " + k.refused().getMessage());
      }
      return;
    }
    Nft.replaceTable(cmd, netns, "ip", name, Nft.replyMarkingBody(ingress, mark));
  }

  /**
   * Deletes the table {@code ip name} in {@code netns} if it is there, over nfnetlink unless the runner's commands
   * act elsewhere or that fails (then {@code nft delete table}); false when it could not be deleted (absent, or the
   * namespace gone).
   */
  public static boolean deleteNftTable(CommandRunner cmd, String netns, String name) {
    Nft.requireTable("ip", name);
    boolean[] deleted = {false};
    Kernel k = inProcess(cmd, Fallback.NFT, name, () -> deleted[0] = NfTables.deleteTable(NETNS_DIR, netns, name));
    if (k.answered()) {
      return k.refused() == null && deleted[0];
    }
    return cmd.attempt(CommandRunner.inNetns(netns, List.of("nft", "delete", "table", "ip", name))).ok();
  }

  /**
   * Adds {@code add} to and takes {@code remove} out of the port set {@code set} of table {@code ip table} in
   * {@code netns}, in one transaction over nfnetlink ({@link NfTables#changePorts}). False when that was not done:
   * the runner's commands act elsewhere, netlink failed (logged once), or the kernel refused (the table or set is
   * not there, a port to remove is not in it); the caller then writes the whole table.
   */
  public static boolean changePorts(CommandRunner cmd, String netns, String table, String set,
      java.util.Collection<Integer> add, java.util.Collection<Integer> remove) {
    Kernel k = inProcess(cmd, Fallback.NFT, table, () -> NfTables.changePorts(NETNS_DIR, netns, table, set, add, remove));
    return k.answered() && k.refused() == null;
  }

  /** A call made in this process (netlink, sysctl files): whether the kernel answered, and its refusal if it refused. */
  private record Kernel(boolean answered, NetlinkSocket.NetlinkException refused) {
    static final Kernel NOT_ASKED = new Kernel(false, null);
  }

  private interface Call {
    void run() throws java.io.IOException;
  }

  /** What a kind of call made in this process falls back to; the first fallback of each kind is logged. */
  private enum Fallback {
    LINKS("link {} over netlink failed ({}); links are read and set with ip where netlink fails"),
    SYSCTLS("sysctls {} without a process failed ({}); sysctl commands set them where that fails"),
    ROUTES("routes and rules in {} over netlink failed ({}); ip -batch reads and changes them where netlink fails"),
    NFT("nftables table {} over netlink failed ({}); nft sets it where netlink fails");

    final String message;
    final java.util.concurrent.atomic.AtomicBoolean logged = new java.util.concurrent.atomic.AtomicBoolean();

    Fallback(String message) {
      this.message = message;
    }
  }

  /**
   * Makes a call in this process unless the runner's commands act elsewhere or the C library cannot be bound
   * here. A refusal is the kernel's answer, which a command would get too; a timeout or any other failure is
   * not (logged once per kind), and the caller runs the command.
   */
  private static Kernel inProcess(CommandRunner cmd, Fallback kind, String what, Call call) {
    if (!nativeCalls || cmd.runsElsewhere()) {
      return Kernel.NOT_ASKED;
    }
    try {
      call.run();
      return new Kernel(true, null);
    } catch (NetlinkSocket.NetlinkException e) {
      if (kernelAnswered(e)) {
        return new Kernel(true, e);
      }
      fallback(kind, what, e);
    } catch (java.io.IOException | RuntimeException | LinkageError e) {
      fallback(kind, what, e);
    }
    return Kernel.NOT_ASKED;
  }

  /**
   * Whether a failure is the kernel's answer (an errno it sent), which a command would get too; not a timeout
   * (EAGAIN) or our own socket closed under the call (errno 0).
   */
  private static boolean kernelAnswered(NetlinkSocket.NetlinkException e) {
    return e.errno() != Libc.EAGAIN && e.errno() != 0;
  }

  private static void fallback(Fallback kind, String what, Throwable e) {
    if (kind.logged.compareAndSet(false, true)) {
      org.slf4j.LoggerFactory.getLogger(Net.class).warn(kind.message, what, e.toString());
    }
    if (e instanceof LinkageError) {
      nativeCalls = false; // the C library cannot be bound here: commands from now on
    }
  }

  private static final java.nio.file.Path NETNS_DIR = java.nio.file.Path.of("/var/run/netns");
  /** False once the C library could not be bound: links, routes and sysctls go to commands from then on. */
  private static volatile boolean nativeCalls = true;

  static Link parseLink(String line) {
    Matcher m = LINK.matcher(line);
    if (!m.find()) {
      return null;
    }
    int flagsAt = line.indexOf('<');
    String flags = flagsAt < 0 ? "" : line.substring(flagsAt, line.indexOf('>', flagsAt) + 1);
    return new Link(m.group(1), m.group(2) == null ? "" : m.group(2), flags.matches(".*[<,]UP[,>].*"));
  }

  /** {@link #sysctls} for one key, e.g. {@code net.ipv4.ip_forward=1}. */
  public static void sysctl(CommandRunner cmd, String netns, String key, String value) {
    Sysctls.check(key, value);
    sysctls(cmd, netns, Map.of(key, value));
  }

  /**
   * Gives sysctls inside {@code netns} (empty: this process's own) their values, in the map's order, writing
   * only those that differ. Done without a process ({@link Sysctls}: a thread enters the namespace) unless the
   * runner's commands act elsewhere ({@link CommandRunner#runsElsewhere}); where that fails for another reason
   * than a refused write, with {@code sysctl} commands (the first such failure is logged).
   *
   * <p>A container that is not privileged has a read-only {@code /proc/sys}: the write runs in a mount
   * namespace of its own (the thread's; for the commands, the one {@code ip netns exec} or {@code unshare -m}
   * makes) where {@code /proc/sys} is remounted writable, so the container's stays read-only. Needs
   * {@code SYS_ADMIN} there, as {@code ip netns exec} does anyway.
   */
  public static void sysctls(CommandRunner cmd, String netns, Map<String, String> values) {
    values.forEach(Sysctls::check);
    java.nio.file.Path ns = NsThread.named(NETNS_DIR, netns);
    Kernel k = inProcess(cmd, Fallback.SYSCTLS, String.join(" ", values.keySet()),
        () -> Sysctls.ensure(ns, values, SYSCTL_TIMEOUT));
    if (k.answered()) {
      if (k.refused() != null) {
        // the namespace or the key is missing, or the write was refused: a command would fail alike
        throw new IllegalStateException("sysctl in " + (ns == null ? "this namespace" : netns) + ": " + k.refused().getMessage());
      }
      return;
    }
    values.forEach((key, value) -> sysctlCommand(cmd, netns, key, value));
  }

  private static final java.time.Duration SYSCTL_TIMEOUT = java.time.Duration.ofSeconds(5);

  private static void sysctlCommand(CommandRunner cmd, String netns, String key, String value) {
    CommandRunner.Result now = cmd.attempt(CommandRunner.inNetns(netns, List.of("sysctl", "-n", key)));
    if (now.ok() && now.stdout().strip().equals(value)) {
      return;
    }
    List<String> write = List.of("sh", "-c", "mount -o remount,bind,rw /proc/sys 2>/dev/null; exec sysctl -q -w \"$1\"",
        "sysctl", key + "=" + value);
    if (netns == null || netns.isEmpty()) {
      List<String> own = new ArrayList<>(List.of("unshare", "-m", "--propagation", "slave"));
      own.addAll(write);
      cmd.run(own);
    } else {
      cmd.run(CommandRunner.inNetns(netns, write));
    }
  }
}
