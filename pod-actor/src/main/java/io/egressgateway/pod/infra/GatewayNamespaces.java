package io.egressgateway.pod.infra;

import io.egressgateway.core.view.ConfigView;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the node-local file that lets the CNI plugin add plain pods while this agent is down or restarting
 * (the plugin's {@code NodeHints.FILE}, next to the socket): the namespaces that hold at least one gateway
 * configuration in the replicated view, and those where a cluster-wide policy selects pods, one per line, sorted;
 * then each namespace a policy selects once more as {@code policy <namespace>}, which tells the plugin that there even
 * a pod without the annotation may need a gateway (a plugin of the previous release ignores such lines, and still
 * fails closed there, since the namespace has a line of its own). Written whole under a temporary name, readable by
 * root only, then renamed, and only when the content changed.
 *
 * <p>A starting agent's view is empty until it has been replicated to it, which looks the same as "no
 * configurations anywhere". So an empty set is written only once the agent has run for {@code emptyAfter}; a
 * file left by the previous agent stays until then (it is what that agent last knew).
 */
public final class GatewayNamespaces {
  /** The plugin's name for the file (cni-plugin {@code NodeHints.FILE}). */
  public static final String FILE = "gateway-namespaces";
  private static final Logger log = LoggerFactory.getLogger(GatewayNamespaces.class);
  /** A Kubernetes namespace name (RFC 1123 label). */
  private static final java.util.regex.Pattern NAMESPACE = java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private final Path file;
  private final Executor io;
  private final LongSupplier nanoTime;
  private final long startNanos;
  private final Duration emptyAfter;
  /** The plugin's prefix for a namespace where a policy selects pods (cni-plugin {@code NodeHints.POLICY}). */
  public static final String POLICY = "policy ";
  private Set<String> written; // guarded by this
  private Set<String> writtenPolicies;
  private volatile Set<String> configNamespaces = Set.of();
  private volatile Set<String> policyNamespaces;
  private final Set<String> policiesAtStart;

  public GatewayNamespaces(Path socketDir, Executor io, Duration emptyAfter, LongSupplier nanoTime) {
    this.file = socketDir.resolve(FILE);
    this.io = io;
    this.nanoTime = nanoTime;
    this.startNanos = nanoTime.getAsLong();
    this.emptyAfter = emptyAfter;
    this.policiesAtStart = readPolicyNamespaces();
    this.policyNamespaces = policiesAtStart;
  }

  /** A view listener: quick, never blocking; the write runs on {@code io}. */
  public void offerViews(Map<String, ConfigView> views) {
    Set<String> namespaces = new TreeSet<>();
    for (String key : views.keySet()) {
      int slash = key.indexOf('/');
      if (slash > 0) {
        String ns = key.substring(0, slash);
        // one line per namespace in a file the plugin reads: only a Kubernetes namespace name gets a line
        if (NAMESPACE.matcher(ns).matches()) {
          namespaces.add(ns);
        } else {
          log.warn("configuration key with a namespace that is no Kubernetes name left out of {}", FILE);
        }
      }
    }
    configNamespaces = Set.copyOf(namespaces);
    offer();
  }

  /** A policy view listener: quick, never blocking. */
  public void offerPolicies(Map<String, io.egressgateway.core.model.GatewayPolicy> policies) {
    if (policies.isEmpty() && nanoTime.getAsLong() - startNanos < emptyAfter.toNanos()) {
      return; // not replicated here yet, as far as anyone can tell: keep what the previous agent wrote
    }
    Set<String> namespaces = new TreeSet<>();
    policies.values().forEach(p -> p.namespaces().stream().filter(n -> NAMESPACE.matcher(n).matches()).forEach(namespaces::add));
    policyNamespaces = Set.copyOf(namespaces);
    offer();
  }

  private void offer() {
    Set<String> configs = configNamespaces;
    Set<String> policies = policyNamespaces;
    if (configs.isEmpty() && policies.isEmpty() && nanoTime.getAsLong() - startNanos < emptyAfter.toNanos()) {
      return;
    }
    io.execute(() -> write(configs, policies));
  }

  synchronized void write(Set<String> configs, Set<String> policies) {
    Set<String> namespaces = new TreeSet<>(configs);
    namespaces.addAll(policies);
    if (namespaces.equals(written) && policies.equals(writtenPolicies)) {
      return;
    }
    StringBuilder text = new StringBuilder(
        "# namespaces with gateway configurations or selected by a policy, kept by the kube-egress-gateway node agent"
            + " for its CNI plugin\n");
    namespaces.forEach(n -> text.append(n).append('\n'));
    new TreeSet<>(policies).forEach(n -> text.append(POLICY).append(n).append('\n'));
    Path tmp = file.resolveSibling("." + FILE + ".tmp");
    try {
      Files.deleteIfExists(tmp);
      Files.writeString(tmp, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      written = Set.copyOf(namespaces);
      writtenPolicies = Set.copyOf(policies);
      log.debug("{}: {} namespace(s) with gateway configurations", file, namespaces.size());
    } catch (IOException | RuntimeException e) {
      log.warn("cannot write {} (plain pods then need this agent to be up): {}", file, e.toString());
    }
  }

  /** The namespaces the file named as selected by policies when this agent started (what the previous one knew). */
  public Set<String> policyNamespacesAtStart() {
    return policiesAtStart;
  }

  private Set<String> readPolicyNamespaces() {
    try {
      Set<String> out = new TreeSet<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String l = line.trim();
        if (l.startsWith(POLICY)) {
          out.add(l.substring(POLICY.length()).trim());
        }
      }
      return out;
    } catch (IOException e) {
      return Set.of();
    }
  }

  public Path file() {
    return file;
  }
}
