package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.azure.entity.GatewayPool;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.core.security.Authorization;
import io.egressgateway.core.security.PodCidrs;
import io.egressgateway.core.security.Principal;
import io.egressgateway.core.security.Refused;
import io.egressgateway.core.security.SignedSerializer;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.kube.entity.GatewayConfig;
import io.egressgateway.pod.entity.PodTunnel;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * With every module on the class path, as a member runs: the commands only controllers may send are signed
 * and carry the controller-only rule; what a gateway or worker signs is refused for them.
 */
class RoleRulesTest {
  private static final Principal CONTROLLER = new Principal(Set.of("controller"), Optional.empty(), "c");
  private static final Principal GATEWAY = new Principal(Set.of("gateway"), Optional.empty(), "g");
  private static final Principal WORKER = new Principal(Set.of("worker"), Optional.of("w1"), "w");

  @Test
  void controllerEntitiesTakeCommandsFromControllersOnly() throws Refused {
    Authorization rules = Authorization.fromConfig(ConfigFactory.load(), new PodCidrs());
    List<Object> commands = List.of(new GatewayConfig.Sync(null, null), new GatewayPool.RemoveConfig("uid-1", null),
        new GatewayPool.Resync(), new PodTunnel.Remove("c-1", null));
    for (Object command : commands) {
      rules.check(CONTROLLER, command);
      assertThrows(Refused.class, () -> rules.check(WORKER, command), command.toString());
      assertThrows(Refused.class, () -> rules.check(GATEWAY, command), command.toString());
    }
  }

  @Test
  void theProtectedCommandsAreSignedAndTheViewAndEventsAreNot() throws Exception {
    ActorTestKit kit = ActorTestKit.create("egress",
        ConfigFactory.parseString("akka.remote.artery.canonical.port = 0").withFallback(ConfigFactory.load()));
    try {
      Serialization s = SerializationExtension.get(Adapter.toClassic(kit.system()));
      for (Class<?> c : List.of(GatewayConfig.Sync.class, GatewayPool.RemoveConfig.class, PodTunnel.Remove.class,
          GatewayNodeProtocol.AddPeer.class)) {
        assertEquals(SignedSerializer.IDENTIFIER, s.serializerFor(c).identifier(), c.getName());
      }
      assertEquals(33, s.serializerFor(ConfigView.class).identifier(), "view values are signed inside, not bound");
      assertTrue(s.serializerFor(GatewayConfig.State.class).identifier() != SignedSerializer.IDENTIFIER, "state is journaled as before");
    } finally {
      kit.shutdownTestKit();
    }
  }
}
