package io.egressgateway.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.settings.CoreSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A persistent entity's state survives an ActorSystem restart on the embedded PostgreSQL journal. */
class JournalRecoveryTest {

  static final class Tally extends EventSourcedBehavior<Tally.Command, Tally.Added, Integer> {
    sealed interface Command extends CborSerializable {}

    record Add(int n, ActorRef<Integer> replyTo) implements Command {}

    record Get(ActorRef<Integer> replyTo) implements Command {}

    record Added(int n) implements CborSerializable {}

    Tally(String id) {
      super(PersistenceId.of("Tally", id));
    }

    @Override
    public Integer emptyState() {
      return 0;
    }

    @Override
    public CommandHandler<Command, Added, Integer> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(Add.class, (s, c) -> Effect().persist(new Added(c.n())).thenReply(c.replyTo(), n -> n))
          .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s))
          .build();
    }

    @Override
    public EventHandler<Integer, Added> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onEvent(Added.class, (s, e) -> s + e.n()).build();
    }
  }

  static Behavior<Tally.Command> tally(String id) {
    return new Tally(id);
  }

  @Test
  void stateSurvivesARestartOfTheActorSystem() throws Exception {
    Journal journal = Journal.start(CoreSettings.fromConfig(ConfigFactory.load()).journal());
    try (TestMembers members = new TestMembers(journal)) {
      EgressMember first = members.startUp("n1", List.of(Roles.CONTROLLER), null);
      ActorRef<Tally.Command> t = first.system().systemActorOf(tally("t-1"), "tally", Props.empty());
      TestProbe<Integer> p = TestProbe.create(first.system());
      for (int i = 1; i <= 5; i++) {
        t.tell(new Tally.Add(i, p.getRef()));
        p.expectMessageClass(Integer.class, Duration.ofSeconds(10));
      }
      members.stop(first);

      EgressMember second = members.startUp("n1", List.of(Roles.CONTROLLER), null);
      ActorRef<Tally.Command> again = second.system().systemActorOf(tally("t-1"), "tally", Props.empty());
      TestProbe<Integer> q = TestProbe.create(second.system());
      again.tell(new Tally.Get(q.getRef()));
      assertEquals(15, q.expectMessageClass(Integer.class, Duration.ofSeconds(10)));

      try (Connection c = DriverManager.getConnection(journal.settings().jdbcUrl(), "postgres", journal.settings().password());
          ResultSet rs = c.createStatement().executeQuery(
              "SELECT count(*), min(entity_type), min(event_ser_id) FROM event_journal WHERE persistence_id = 'Tally|t-1'")) {
        rs.next();
        assertEquals(5, rs.getInt(1));
        assertEquals("Tally", rs.getString(2));
        assertEquals(33, rs.getInt(3), "events are serialized with jackson-cbor");
      }
      // schema creation is idempotent: a second run changes nothing and does not fail
      journal.ensureSchema();
    }
  }
}
