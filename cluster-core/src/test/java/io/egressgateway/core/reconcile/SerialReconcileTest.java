package io.egressgateway.core.reconcile;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SerialReconcileTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void triggersDuringAPassFoldIntoOneMorePass() {
    SerialReconcile<String> loop = SerialReconcile.immediate();
    assertTrue(loop.begin(), "idle: the first trigger starts a pass");
    assertFalse(loop.begin(), "running: a trigger waits");
    assertFalse(loop.begin(), "and a second one shares the wait");
    assertTrue(loop.end(), "one more pass is wanted");
    assertTrue(loop.beginIfWanted());
    assertFalse(loop.end(), "nothing came during the second pass");
    assertFalse(loop.beginIfWanted());
  }

  @Test
  void otherWorkKeepsAWantedPassWanted() {
    SerialReconcile<String> loop = SerialReconcile.immediate();
    loop.want();
    assertTrue(loop.occupy());
    assertFalse(loop.occupy(), "one thing at a time");
    assertFalse(loop.beginIfWanted());
    assertTrue(loop.end());
    assertTrue(loop.beginIfWanted());
    assertTrue(loop.running());
  }

  @Test
  void scheduledTriggersWithinTheWindowShareOneTick() {
    TestProbe<String> probe = kit.createTestProbe();
    Behavior<String> actor = Behaviors.withTimers(timers -> {
      SerialReconcile<String> loop = new SerialReconcile<>(timers, "tick", Duration.ofMillis(200));
      return Behaviors.receiveMessage(m -> {
        if (m.equals("tick")) {
          probe.ref().tell(m);
        } else {
          loop.schedule();
        }
        return Behaviors.same();
      });
    });
    var ref = kit.spawn(actor);
    ref.tell("change");
    ref.tell("change");
    ref.tell("change");
    probe.expectMessage("tick");
    probe.expectNoMessage(Duration.ofMillis(400));
  }
}
