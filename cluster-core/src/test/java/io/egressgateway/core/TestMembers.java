package io.egressgateway.core;

import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.journal.Journal;
import io.egressgateway.core.settings.CoreSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.StreamSupport;

/**
 * Several cluster members in one JVM on one embedded journal: the harness behind multi-member tests here
 * and in other modules (shipped in cluster-core's test jar). Close it to stop every member and the journal.
 */
public final class TestMembers implements AutoCloseable {
  private final Journal journal;
  private final List<EgressMember> members = new ArrayList<>();

  public TestMembers() {
    this(Journal.start(CoreSettings.fromConfig(ConfigFactory.load()).journal()));
  }

  public TestMembers(Journal journal) {
    this.journal = journal;
  }

  public Journal journal() {
    return journal;
  }

  /** Starts a member for {@code node} with {@code roles}; it joins {@code seed} (or itself when null). */
  public EgressMember start(String node, List<String> roles, EgressMember seed) {
    return start(node, roles, seed, ConfigFactory.empty());
  }

  public EgressMember start(String node, List<String> roles, EgressMember seed, Config overrides) {
    List<String> seeds = seed == null ? List.of() : List.of(Cluster.get(seed.system()).selfMember().address().toString());
    Config config = overrides.withFallback(EgressMember.localConfig(node, roles, freePort(), seeds));
    EgressMember m = EgressMember.startOn(config, journal);
    members.add(m);
    return m;
  }

  /** Starts and joins; waits until the member is Up. */
  public EgressMember startUp(String node, List<String> roles, EgressMember seed) {
    EgressMember m = start(node, roles, seed);
    m.join();
    awaitUp(m, members.stream().filter(x -> !x.system().whenTerminated().isCompleted()).count());
    return m;
  }

  /** The running member of {@code node}. */
  public EgressMember member(String node) {
    return members.stream()
        .filter(m -> m.settings().nodeName().equals(node))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no member on node " + node));
  }

  public void stop(EgressMember m) {
    m.close();
    members.remove(m);
  }

  /** Waits until {@code observer} sees {@code count} Up members. */
  public static void awaitUp(EgressMember observer, long count) {
    await(Duration.ofSeconds(30), () -> upCount(observer) == count, "expected " + count + " Up members");
  }

  public static long upCount(EgressMember observer) {
    return StreamSupport.stream(Cluster.get(observer.system()).state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .count();
  }

  public static void await(Duration timeout, BooleanSupplier condition, String what) {
    io.egressgateway.testing.Eventually.await(timeout, condition, what);
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    for (EgressMember m : List.copyOf(members)) {
      m.close();
    }
    members.clear();
    journal.close();
  }
}
