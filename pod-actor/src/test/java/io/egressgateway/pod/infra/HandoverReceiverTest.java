package io.egressgateway.pod.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.receptionist.Receptionist;
import io.egressgateway.core.gateway.Handover;
import io.egressgateway.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class HandoverReceiverTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void down() {
    testKit.shutdownTestKit();
  }

  @Test
  void aMessageThatFailsDoesNotEndTheReceiverAndItStaysListed() {
    List<String> passedOn = new CopyOnWriteArrayList<>();
    ActorRef<Handover.Leaving> receiver = testKit.spawn(HandoverReceiver.behavior((node, keys) -> {
      if (node.equals("gw-bad")) {
        throw new IllegalStateException("cannot pass it on");
      }
      passedOn.add(node + " " + keys);
    }));
    receiver.tell(new Handover.Leaving("", List.of("k0"))); // names no gateway: not passed on
    receiver.tell(new Handover.Leaving("gw-bad", List.of("k1")));
    receiver.tell(new Handover.Leaving("gw-1", List.of("k2")));
    Eventually.await(Duration.ofSeconds(5), () -> !passedOn.isEmpty(), "the message after the failing one passed on");
    assertEquals(List.of("gw-1 [k2]"), passedOn);

    TestProbe<Receptionist.Listing> listing = testKit.createTestProbe();
    Eventually.await(Duration.ofSeconds(5), () -> {
      testKit.system().receptionist().tell(Receptionist.find(Handover.SERVICE, listing.getRef()));
      return listing.receiveMessage().getServiceInstances(Handover.SERVICE).contains(receiver);
    }, "the restarted receiver registered for stopping gateways to find");
  }
}
