package io.egressgateway.azure.entity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorRef;
import akka.pattern.StatusReply;
import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.infra.SimPool;
import io.egressgateway.azure.model.ConfigResult;
import io.egressgateway.azure.model.ConfigSpec;
import io.egressgateway.azure.model.PoolRef;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A pool that cannot hold another configuration (no WireGuard port left, or no room for another secondary IP on its
 * NICs) refuses the next one with an error that says which limit and what to do, writes nothing for it, and keeps
 * serving the configurations it holds; once one goes, the refused one fits.
 */
class PoolCapacityTest extends GatewayPoolSimBase {
  static Stream<Arguments> fullPools() {
    return Stream.of(
        Arguments.of("two WireGuard ports", SETTINGS.withCapacity(6000, 6001, 256), "no free WireGuard port in 6000-6001"),
        Arguments.of("NICs with room for the primary and two secondaries", SETTINGS.withCapacity(6000, 6999, 3),
            "cannot hold another secondary IP: each gateway NIC already has 3 of its 3 IP configurations"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fullPools")
  void aFullPoolRefusesTheNextConfigClearlyAndKeepsTheOthers(String why, AzureSettings settings, String expected) {
    env = new SimPool(2);
    ActorRef<GatewayPool.Command> pool = spawn(PoolRef.nodepool(SimPool.NODEPOOL).entityId(), settings);
    ConfigResult a = ensure(pool, spec("uid-a"));
    ConfigResult b = ensure(pool, spec("uid-b"));
    long writes = env.sim.writes();

    StatusReply<ConfigResult> refused = ask(pool, spec("uid-c"));
    assertTrue(refused.isError(), why + ": a third config must be refused");
    String message = refused.getError().getMessage();
    assertTrue(message.contains(expected) && message.contains("remove a configuration or add a gateway pool"), message);
    assertEquals(writes, env.sim.writes(), "nothing is written for a refused config");
    assertEquals(a, ensure(pool, spec("uid-a")), "the configs the pool holds are unchanged");
    assertEquals(b, ensure(pool, spec("uid-b")));

    remove(pool, "uid-a");
    ConfigResult c = ensure(pool, spec("uid-c"));
    assertEquals(a.port(), c.port(), "the port a removed config freed is taken by the refused one");
  }

  private static ConfigSpec spec(String uid) {
    return new ConfigSpec("ns/" + uid, uid, true, 31, "");
  }
}
