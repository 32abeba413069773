package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The plugin's class data sharing archive (AppCDS, a JDK "dynamic archive"): the classes an ADD loads, parsed
 * and laid out once, which the launcher maps with {@code -XX:SharedArchiveFile}. It makes each JVM start
 * cheaper; the plugin works without it.
 *
 * <p>An archive is only valid for
 * <ul>
 *   <li>the jar it was made from, named <em>relative to the jar's directory</em>: it is made with the jar's
 *       directory as working directory and {@code -jar kube-egress-cni.jar}, and both launchers {@code cd}
 *       there and run the same relative name. So the directory may be reached under another path (a symlink,
 *       a host directory mounted elsewhere in a container), but the jar must keep its name, size and
 *       modification time: replacing the jar needs a new archive;</li>
 *   <li>the Java runtime that made it (exactly that build, with its default CDS archive, which the dynamic
 *       archive builds on; a runtime without one, like a plain jlink image, cannot make an archive until
 *       {@code java -Xshare:dump} gave it one);</li>
 *   <li>the launcher's heap and GC flags, {@link #RUNTIME_FLAGS}.</li>
 * </ul>
 * A JVM given a stale or mismatched archive under {@code -Xshare:auto} ignores it and logs a warning; the
 * launchers send JVM warnings to stderr ({@code -Xlog:all=off -Xlog:all=warning:stderr}), because by default
 * they go to stdout, which is the CNI result. A <em>truncated</em> archive, however, can crash the JVM (JDK
 * 17.0.15: SIGBUS while mapping it, the crash report on stdout), which is why an archive only ever appears by
 * a rename, after a JVM has started with it under {@code -Xshare:on}.
 */
final class CdsArchive {
  /** The JVM flags of the launchers (kube-egress-cni and the chart's): the archive is made with these. */
  static final List<String> RUNTIME_FLAGS = List.of("-XX:+UseSerialGC", "-Xint", "-XX:-UsePerfData", "-Xshare:auto",
      "-Xmx32m", "-Xss512k", "-Xlog:all=off", "-Xlog:all=warning:stderr");
  /** The archive's file name next to the jar, where the launchers look for it. */
  static final String FILE_NAME = "kube-egress-cni.jsa";
  static final long STEP_TIMEOUT_SECONDS = 60;
  private static final String NO_BASE_ARCHIVE =
      "a Java runtime without a default CDS archive cannot make one; 'java -Xshare:dump' gives it one";

  private static final String TRAIN_PREV = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\","
      + "\"sandbox\":\"/var/run/netns/train\"}],\"ips\":[{\"address\":\"10.244.1.5/24\",\"gateway\":\"10.244.1.1\","
      + "\"interface\":0}]}";

  private CdsArchive() {}

  /** Why no archive was made. */
  static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }
  }

  /**
   * {@code train [dir]}: one ADD through {@link CniPlugin#run} and a real {@link AgentClient} against an in-JVM
   * agent on a temporary unix socket (in a fresh directory under {@code dir}, else under java.io.tmpdir),
   * answering like the real agent does for a pod without a gateway annotation. Prints nothing on stdout;
   * removes what it created. Returns the exit code.
   */
  static int train(Path base, PrintStream err) {
    List<Path> bases = new ArrayList<>();
    if (base != null) {
      bases.add(base);
    }
    bases.add(Path.of(System.getProperty("java.io.tmpdir")));
    IOException last = null;
    for (Path b : bases) {
      Path dir = null;
      try {
        // short names: a unix socket's path has at most 107 bytes
        dir = Files.createTempDirectory(b, ".kcni-");
        Path socket = dir.resolve("a.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
          // a base directory too deep for a socket path (or not writable): then the next base
          server.bind(UnixDomainSocketAddress.of(socket));
          return trainAgainst(server, socket, err);
        }
      } catch (IOException e) {
        last = e;
      } finally {
        deleteTree(dir);
      }
    }
    err.println("kube-egress-cni train: cannot open a unix socket for the training agent: " + last);
    return 1;
  }

  private static int trainAgainst(ServerSocketChannel server, Path socket, PrintStream err) {
    Thread agent = new Thread(() -> answerOnce(server), "train-agent");
    agent.setDaemon(true);
    agent.start();
    String conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"kube-egress-cni\",\"socketPath\":"
        + Json.write(socket.toString()) + ",\"timeoutSeconds\":10,\"prevResult\":" + TRAIN_PREV + "}";
    Map<String, String> env = Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "kube-egress-cni-train",
        "CNI_NETNS", "/var/run/netns/train", "CNI_IFNAME", "eth0",
        "CNI_ARGS", "K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=kube-egress-cni-train", "CNI_PATH", "/opt/cni/bin");
    System.getenv().size(); // what the real ADD reads its environment with
    CniPlugin.Outcome o = CniPlugin.run(env, conf, CniPlugin.AGENT);
    // the real ADD's printing, into nothing
    PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    CniPlugin.print(o, nowhere, nowhere);
    if (o.exitCode() != 0 || !Json.parse(o.stdout()).equals(Json.parse(TRAIN_PREV))) {
      err.println("kube-egress-cni train: the training ADD failed: " + o.stdout() + o.stderr());
      return 1;
    }
    return 0;
  }

  /** The real agent's answer for a pod without a gateway annotation: the prevResult, unchanged. */
  private static void answerOnce(ServerSocketChannel server) {
    try (SocketChannel ch = server.accept()) {
      var got = new java.io.ByteArrayOutputStream();
      ByteBuffer b = ByteBuffer.allocate(16 * 1024);
      while (ch.read(b) >= 0) {
        b.flip();
        got.write(b.array(), 0, b.limit());
        b.clear();
      }
      CniWire.Request req = CniWire.Request.decode(got.toByteArray());
      Object prev = Json.obj(Json.parseObject(req.config()), "prevResult");
      ByteBuffer out = ByteBuffer.wrap(CniWire.Answer.ok(Json.write(prev)).encode());
      while (out.hasRemaining()) {
        ch.write(out);
      }
    } catch (IOException | RuntimeException e) {
      // the ADD then fails and train says so
    }
  }

  /**
   * Makes the archive for {@code jar} with this JVM's runtime ({@code <java.home>/bin/java}) and moves it to
   * {@code target} only once a JVM started with it under {@code -Xshare:on}. Each child JVM gets
   * {@value #STEP_TIMEOUT_SECONDS} s. Leaves no temporary files.
   */
  static void create(Path jar, Path target) throws Failure {
    Path jarDir = jar.toAbsolutePath().getParent();
    String jarName = jar.getFileName().toString();
    Path dir = target.toAbsolutePath().getParent();
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    if (!Files.isRegularFile(jar)) {
      throw new Failure("no jar at " + jar);
    }
    if (!Files.isExecutable(java)) {
      throw new Failure("no java executable at " + java);
    }
    Path work;
    try {
      work = Files.createTempDirectory(dir, "." + FILE_NAME + ".");
    } catch (IOException e) {
      throw new Failure("cannot create a temporary directory in " + dir + ": " + e);
    }
    try {
      Path made = work.resolve(FILE_NAME);
      List<String> dump = command(java, work);
      dump.add("-XX:ArchiveClassesAtExit=" + made);
      // train's socket goes under the target's directory: writable (install-cni's /tmp is not) and short
      dump.addAll(List.of("-jar", jarName, "train", dir.toString()));
      runChild("archiving JVM", dump, jarDir, work);
      try {
        if (!Files.isRegularFile(made) || Files.size(made) == 0) {
          throw new Failure("the archiving JVM exited 0 but wrote no archive (" + NO_BASE_ARCHIVE + ")" + output(work));
        }
      } catch (IOException e) {
        throw new Failure("cannot read " + made + ": " + e);
      }
      List<String> check = command(java, work);
      check.addAll(List.of("-Xshare:on", "-XX:SharedArchiveFile=" + made, "-jar", jarName, "train", dir.toString()));
      runChild("JVM started with the new archive (-Xshare:on)", check, jarDir, work);
      try {
        Files.move(made, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new Failure("cannot move the archive to " + target + ": " + e);
      }
    } finally {
      deleteTree(work);
    }
  }

  private static List<String> command(Path java, Path work) {
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    cmd.addAll(RUNTIME_FLAGS);
    // a crashing child's report goes where it is cleaned up, not into the jar's directory
    cmd.add("-XX:ErrorFile=" + work.resolve("hs_err_pid%p.log"));
    return cmd;
  }

  private static void runChild(String what, List<String> cmd, Path cwd, Path work) throws Failure {
    Path log = work.resolve("java.log");
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
      p.getOutputStream().close();
    } catch (IOException e) {
      throw new Failure("cannot start " + cmd.get(0) + ": " + e);
    }
    try {
      if (!p.waitFor(STEP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
        throw new Failure("the " + what + " did not finish within " + STEP_TIMEOUT_SECONDS + " s" + output(work));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
    if (p.exitValue() != 0) {
      String out = output(work);
      throw new Failure("the " + what + " exited " + p.exitValue() + out
          + (out.contains("base CDS archive") ? " (" + NO_BASE_ARCHIVE + ")" : ""));
    }
  }

  /** The children's output, for the message. */
  private static String output(Path work) {
    try {
      String s = Files.readString(work.resolve("java.log"), StandardCharsets.UTF_8).strip();
      if (s.length() > 2000) {
        s = s.substring(0, 2000) + "...";
      }
      return s.isEmpty() ? "" : ": " + s;
    } catch (IOException e) {
      return "";
    }
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      // best effort: a temporary directory named as such
    }
  }
}
