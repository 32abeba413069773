package io.egressgateway.core.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Delegated seals are written only while every member reads them: a member of an older release turns them off. */
class DelegatedSealsGateTest {
  @Test
  void aMemberOfAReleaseBeforeDelegatedSealsTurnsThemOffUntilItLeaves() {
    try (TestMembers members = new TestMembers()) {
      EgressMember current = members.startUp("n1", List.of(Roles.CONTROLLER), null);
      TestMembers.await(Duration.ofSeconds(10), () -> DelegatedSealsGate.everyMemberReadsThem(current.system()),
          "a cluster of this release writes delegated seals");

      // an older release: no app version (Akka's default)
      EgressMember older = members.start("n2", List.of(Roles.CONTROLLER), current,
          ConfigFactory.parseString("akka.cluster.app-version = \"0.0.0\""));
      older.join();
      TestMembers.awaitUp(current, 2);
      assertFalse(DelegatedSealsGate.everyMemberReadsThem(current.system()), "an older member is in the cluster");
      assertFalse(DelegatedSealsGate.everyMemberReadsThem(older.system()));

      members.stop(older);
      TestMembers.await(Duration.ofSeconds(30), () -> DelegatedSealsGate.everyMemberReadsThem(current.system()),
          "once the older member has left, delegated seals again");
    }
  }

  @Test
  void theGateLooksAtTheMembershipAtMostOnceASecond() {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicInteger looks = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicBoolean all = new java.util.concurrent.atomic.AtomicBoolean(true);
    DelegatedSealsGate gate = new DelegatedSealsGate(() -> {
      looks.incrementAndGet();
      return all.get();
    }, now::get);
    assertTrue(gate.getAsBoolean());
    all.set(false); // an older member joined
    now.addAndGet(Duration.ofMillis(999).toNanos());
    assertTrue(gate.getAsBoolean(), "answered from the last look");
    assertEquals(1, looks.get());
    now.addAndGet(Duration.ofMillis(1).toNanos());
    assertFalse(gate.getAsBoolean(), "a second later the membership is read again");
    assertEquals(2, looks.get());
  }

  /** Prints {@link DelegatedSealsGate#c1Only} of its own JVM (for the test below). */
  public static final class PrintC1Only {
    public static void main(String[] args) {
      System.out.print(DelegatedSealsGate.c1Only());
    }
  }

  @Test
  void automaticallyOnlyAMemberWhoseJvmCompilesWithC1OnlyDelegates() throws Exception {
    for (var c : java.util.Map.of("-XX:TieredStopAtLevel=1", "true", "-XX:TieredStopAtLevel=4", "false").entrySet()) {
      Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), c.getKey(),
          "-cp", System.getProperty("java.class.path"), PrintC1Only.class.getName()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      assertEquals(0, p.waitFor());
      assertEquals(c.getValue(), out, c.getKey());
    }
  }

  @Test
  void theAppVersionIsTheChartsAppVersion() throws Exception {
    String chart = Files.readString(Path.of("..", "charts", "kube-egress-gateway", "Chart.yaml"));
    String appVersion = chart.lines().filter(l -> l.startsWith("appVersion:")).findFirst().orElseThrow()
        .substring("appVersion:".length()).replace("\"", "").strip();
    assertEquals(appVersion, ConfigFactory.load().getString("akka.cluster.app-version"));
  }
}
