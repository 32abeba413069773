package io.egressgateway.datapath.net;

import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.NetnsName;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a member's named network namespaces come from, and how long they live.
 *
 * <ul>
 *   <li>{@link #local}: {@code ip netns add}, a bind mount under {@code /var/run/netns}. To outlive the member's
 *       container that directory must propagate to the host, which Kubernetes grants only to a privileged
 *       container ({@code mountPropagation: Bidirectional}).</li>
 *   <li>{@link #held}: the chart's namespace holder ({@code files/netns-holder.sh}, a DaemonSet an upgrade does
 *       not restart) makes each namespace with {@code unshare --net} and keeps it with one sleeping process; this
 *       member names it in its own mount namespace ({@code ip netns attach <name> <pid>}), which needs
 *       {@code SYS_ADMIN} and the host's PID namespace but no privilege and no propagation. A restarted member
 *       attaches the namespaces the holder still keeps ({@link #list}, {@link #ensure}).</li>
 * </ul>
 * Names are parsed ({@link NetnsName}) right before each use.
 */
public interface NetnsStore {

  /** Whether {@code name} is a namespace this member can enter now. */
  boolean exists(String name);

  /** Names of the namespaces this member can enter (for the holder: after attaching every one it keeps). */
  List<String> list();

  /** Makes {@code name} (or takes the existing one) with loopback up. */
  void ensure(String name);

  /** Ends {@code name} and every link inside it; absent is fine. */
  void delete(String name);

  /** {@code ip netns add}, in the node's {@code /var/run/netns}. */
  static NetnsStore local(CommandRunner cmd) {
    return new NetnsStore() {
      @Override
      public boolean exists(String name) {
        return Net.netnsExists(name);
      }

      @Override
      public List<String> list() {
        return Net.listNetns(cmd);
      }

      @Override
      public void ensure(String name) {
        Net.ensureNetns(cmd, name);
      }

      @Override
      public void delete(String name) {
        Net.deleteNetns(cmd, name);
      }
    };
  }

  /**
   * Namespaces kept by the holder listening on {@code socket}, attached under {@code netnsDir} as this member
   * sees it ({@code /var/run/netns} in production; a test that runs the commands in another mount namespace
   * passes that namespace's view, {@code /proc/<pid>/root/var/run/netns}).
   */
  static NetnsStore held(CommandRunner cmd, Path socket, Path netnsDir) {
    return new Held(cmd, socket, netnsDir);
  }

  /** The holder's client. Each request is one connection, one line, one answer ({@code files/netns-holder.sh}). */
  final class Held implements NetnsStore {
    private static final long ANSWER_WAIT_MS = 10_000;

    private final CommandRunner cmd;
    private final Path socket;
    private final Path netnsDir;

    Held(CommandRunner cmd, Path socket, Path netnsDir) {
      this.cmd = cmd;
      this.socket = socket;
      this.netnsDir = netnsDir;
    }

    @Override
    public boolean exists(String name) {
      return Files.exists(netnsDir.resolve(NetnsName.parse(name).value()));
    }

    @Override
    public List<String> list() {
      held().forEach((name, pid) -> {
        if (!exists(name)) {
          attach(name, pid);
        }
      });
      return Net.listNetns(cmd);
    }

    @Override
    public void ensure(String name) {
      String ns = NetnsName.parse(name).value();
      if (!exists(ns)) {
        String answer = request("add " + ns);
        if (!answer.matches("ok [0-9]{1,10}")) {
          throw new CommandException(List.of("netns-holder", "add", ns), -1, "the namespace holder " + socket + " refused: "
              + (answer.isEmpty() ? "no answer" : answer));
        }
        attach(ns, answer.substring(3));
      }
      cmd.run(Net.ip(ns, "link", "set", "lo", "up"));
    }

    @Override
    public void delete(String name) {
      String ns = NetnsName.parse(name).value();
      if (exists(ns)) {
        cmd.run(List.of("ip", "netns", "del", ns));
      }
      String answer = request("del " + ns);
      if (!answer.equals("ok")) {
        throw new CommandException(List.of("netns-holder", "del", ns), -1, "the namespace holder " + socket + " refused: "
            + (answer.isEmpty() ? "no answer" : answer));
      }
    }

    /** What the holder keeps: name to pid, in its order. */
    Map<String, String> held() {
      String answer = request("list");
      List<String> lines = List.of(answer.split("\n"));
      if (lines.isEmpty() || !lines.get(lines.size() - 1).equals("ok")) {
        throw new CommandException(List.of("netns-holder", "list"), -1, "the namespace holder " + socket + " answered: "
            + (answer.isEmpty() ? "nothing" : answer));
      }
      Map<String, String> out = new LinkedHashMap<>();
      for (String line : lines.subList(0, lines.size() - 1)) {
        String[] f = line.split(" ");
        if (f.length == 2 && f[1].matches("[0-9]{1,10}")) {
          out.put(NetnsName.parse(f[0]).value(), f[1]);
        }
      }
      return out;
    }

    private void attach(String name, String pid) {
      // the holder and this member share the host's PID namespace; a pid that ended in between fails here and
      // the next reconcile asks again
      cmd.run(List.of("ip", "netns", "attach", NetnsName.parse(name).value(), pid));
    }

    private String request(String line) {
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
        ch.shutdownOutput();
        ch.configureBlocking(false);
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        long deadline = System.currentTimeMillis() + ANSWER_WAIT_MS;
        while (in.hasRemaining() && ch.read(in) >= 0) {
          if (System.currentTimeMillis() > deadline) {
            throw new CommandException(List.of("netns-holder", line), -1,
                "the namespace holder " + socket + " did not answer within " + ANSWER_WAIT_MS + " ms");
          }
          Thread.sleep(2);
        }
        return new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII).strip();
      } catch (IOException e) {
        throw new CommandException(List.of("netns-holder", line), -1, "cannot reach the namespace holder " + socket + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CommandException(List.of("netns-holder", line), -1, "interrupted");
      }
    }
  }
}
