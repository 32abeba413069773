package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import akka.persistence.testkit.PersistenceTestKitPlugin;
import akka.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.infra.SimPool;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the pool tests against the ARM simulator share: a fresh kit (and in-memory journal) per test, because
 * the tests reuse the same pool ids; the simulated pool {@link #env}, which a test sets up and this closes; and
 * spawn, ensure and remove, which wait for the entity's reply.
 */
abstract class GatewayPoolSimBase {
  static final AzureSettings SETTINGS = new AzureSettings(Duration.ofMillis(150), Duration.ofHours(1), Duration.ofMillis(300),
      Duration.ofSeconds(3), Duration.ofSeconds(30), Duration.ofMinutes(1), 6, 8082, 6000, 6999, 31);
  static final Duration WAIT = Duration.ofSeconds(40);

  ActorTestKit kit;
  SimPool env;
  private int incarnation;

  @BeforeEach
  void startKit() {
    kit = ActorTestKit.create(PersistenceTestKitPlugin.getInstance().config()
        .withFallback(PersistenceTestKitSnapshotPlugin.config()).withFallback(ConfigFactory.load()));
  }

  @AfterEach
  void stopKitAndPool() {
    kit.shutdownTestKit();
    if (env != null) {
      env.close();
    }
  }

  /** The pool entity under a new actor name: spawning an id again recovers it from the journal. */
  ActorRef<GatewayPool.Command> spawn(String poolId) {
    return spawn(poolId, SETTINGS);
  }

  ActorRef<GatewayPool.Command> spawn(String poolId, AzureSettings settings) {
    return kit.spawn(GatewayPool.create(poolId, env.port, settings, env.cloud.prefixIdBase()), "pool-" + (++incarnation) + "-" + System.nanoTime());
  }

  StatusReply<ConfigResult> ask(ActorRef<GatewayPool.Command> pool, ConfigSpec spec) {
    TestProbe<StatusReply<ConfigResult>> probe = kit.createTestProbe();
    pool.tell(new GatewayPool.EnsureConfig(spec, probe.getRef()));
    return probe.expectMessageClass(StatusReply.class, WAIT);
  }

  ConfigResult ensure(ActorRef<GatewayPool.Command> pool, ConfigSpec spec) {
    StatusReply<ConfigResult> r = ask(pool, spec);
    assertTrue(r.isSuccess(), () -> "ensure failed: " + r.getError());
    return r.getValue();
  }

  void remove(ActorRef<GatewayPool.Command> pool, String uid) {
    TestProbe<StatusReply<Done>> probe = kit.createTestProbe();
    pool.tell(new GatewayPool.RemoveConfig(uid, probe.getRef()));
    StatusReply<Done> r = probe.expectMessageClass(StatusReply.class, WAIT);
    assertTrue(r.isSuccess(), () -> "remove failed: " + r.getError());
  }

  /** The simulator's writes so far, counted by method and resource kind, for the benchmark lines. */
  String writeSummary() {
    Map<String, Long> byKind = new TreeMap<>();
    env.sim.calls().stream().filter(ArmSimulator.Call::isWrite).forEach(c -> {
      String[] segs = c.path().split("/");
      String kind = c.method() + " " + (c.path().endsWith("/manualupgrade") ? "manualupgrade" : segs[segs.length - 2]);
      byKind.merge(kind, 1L, Long::sum);
    });
    return byKind.toString();
  }
}
