package io.egressgateway.core.security;

import akka.actor.typed.ActorSystem;
import akka.cluster.Member;
import akka.util.Version;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Whether this member may write delegated seals ({@link Seals}): only while every member of the cluster reads
 * them. Members that do set their Akka app version ({@code akka.cluster.app-version}, cluster-core's
 * reference.conf); releases before them left it at 0.0.0, and refuse delegated seals. So during a rolling
 * upgrade from such a release every member goes on writing certificate-signed seals until the last old member
 * has left, and a member of such a release that joins later turns delegated seals off again (within a second).
 *
 * <p>Asked at every seal: it looks at the membership at most once a second and answers from that in between.
 * Before the cluster extension exists, and for a member not in a cluster yet, it answers false.
 */
final class DelegatedSealsGate implements BooleanSupplier {
  private static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final BooleanSupplier membership;
  private final LongSupplier nanoClock;
  private volatile boolean answer;
  private volatile long checkedAt;

  /** For {@code system}'s cluster. */
  DelegatedSealsGate(ActorSystem<?> system) {
    this(() -> everyMemberReadsThem(system), System::nanoTime);
  }

  /** @param membership whether every member reads delegated seals now (asked at most once a second) */
  DelegatedSealsGate(BooleanSupplier membership, LongSupplier nanoClock) {
    this.membership = membership;
    this.nanoClock = nanoClock;
    this.checkedAt = nanoClock.getAsLong() - RECHECK_NANOS; // the first call looks
  }

  @Override
  public boolean getAsBoolean() {
    long now = nanoClock.getAsLong();
    if (now - checkedAt >= RECHECK_NANOS) {
      answer = membership.getAsBoolean();
      checkedAt = now;
    }
    return answer;
  }

  /**
   * Whether this JVM compiles with C1 only ({@code -XX:TieredStopAtLevel} below 4): there RSA signatures lack
   * C2's big-integer intrinsics and cost several times an Ed25519 one ({@code egress.security.delegated-seals =
   * auto}). Under C2 an RSA signature costs about what an Ed25519 one does and verifies ten times faster, so
   * certificate-signed seals are cheaper for the cluster.
   */
  static boolean c1Only() {
    try {
      var hotspot = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
      boolean tiered = Boolean.parseBoolean(hotspot.getVMOption("TieredCompilation").getValue());
      return tiered && Integer.parseInt(hotspot.getVMOption("TieredStopAtLevel").getValue()) < 4;
    } catch (RuntimeException e) {
      return false; // not HotSpot: nothing known about its compilers
    }
  }

  /** True when the membership has at least one member and every member's app version is set. */
  static boolean everyMemberReadsThem(ActorSystem<?> system) {
    try {
      Iterable<Member> members = akka.cluster.typed.Cluster.get(system).state().getMembers();
      return readAll(members);
    } catch (RuntimeException e) {
      return false; // no cluster (yet)
    }
  }

  static boolean readAll(Iterable<Member> members) {
    boolean any = false;
    for (Member m : members) {
      if (m.appVersion().equals(Version.Zero())) {
        return false;
      }
      any = true;
    }
    return any;
  }
}
