package io.egressgateway.core.security;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Down;
import akka.cluster.typed.Subscribe;
import io.egressgateway.core.CborSerializable;
import io.egressgateway.core.Roles;
import io.egressgateway.core.metrics.Metrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership bound to certificates. The roles a member joins with ({@code controller}, {@code gateway},
 * {@code worker}, {@code node:<n>}) decide where sharding places entities and singletons, and a member names
 * them itself. So every controller asks each other member, as soon as it is up, to prove them ({@link Prove});
 * the member answers with its roles in a message signed with its own key ({@link Proof}), which the receiving
 * serializer admits only when the signer's certificate holds every functional role listed and, for a node role,
 * names that node or the member shows a valid node proof for it ({@link Authorization}). A member whose proof
 * lists other roles than it joined with, or that gives none within {@link #DEADLINE} (a refused proof never
 * arrives), is downed: logged, and counted in {@code egress_refused_members_total{role}}.
 *
 * <p>Runs on every member (each one answers); only controllers ask, and only while signatures are enforced
 * (without them a proof proves nothing).
 */
public final class RoleAttestation {
  private static final Logger log = LoggerFactory.getLogger(RoleAttestation.class);
  static final String NAME = "egress-role-attestation";
  /** How long a member has to prove its roles once it is up. */
  static final Duration DEADLINE = Duration.ofSeconds(15);
  /** A challenge is repeated this often until answered (the member's answering actor may start after it is up). */
  static final Duration REPEAT = Duration.ofSeconds(1);

  public sealed interface Command {}

  /** Asked of a member: prove the roles you joined with. Anyone may ask; the answer only says what the member holds. */
  public record Prove(String nonce, ActorRef<Proof> replyTo) implements Command, CborSerializable {}

  /** A member's answer, signed with its key: the roles it joined with, and its node proof if it has one. */
  public record Proof(String nonce, List<String> roles, NodeProof nodeProof) implements Command, CborSerializable {
    public Proof {
      roles = List.copyOf(roles);
    }
  }

  private record MemberChange(ClusterEvent.MemberEvent event) implements Command {}

  private record Repeat() implements Command {}

  private record Pending(Member member, String nonce, long deadline) {}

  private RoleAttestation() {}

  /** Starts this member's attestation (a system actor); call before the member joins. */
  public static void start(ActorSystem<?> system) {
    system.systemActorOf(behavior(), NAME, Props.empty());
  }

  /** The roles of ours among {@code roles} (Akka adds its own, e.g. the data centre's). */
  static Set<String> ours(Iterable<String> roles) {
    Set<String> out = new TreeSet<>();
    for (String r : roles) {
      if (Roles.FUNCTIONAL.contains(r) || Roles.nodeOf(Set.of(r)).isPresent()) {
        out.add(r);
      }
    }
    return out;
  }

  static Behavior<Command> behavior() {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Security security = Security.get(ctx.getSystem());
      Cluster cluster = Cluster.get(ctx.getSystem());
      boolean asks = security.seals().enforcing() && cluster.selfMember().hasRole(Roles.CONTROLLER);
      if (asks) {
        cluster.subscriptions().tell(Subscribe.create(
            ctx.messageAdapter(ClusterEvent.MemberEvent.class, MemberChange::new), ClusterEvent.MemberEvent.class));
        timers.startTimerWithFixedDelay(new Repeat(), REPEAT);
      }
      return new Asker(ctx, security, cluster).behavior();
    }));
  }

  private static final class Asker {
    private final ActorContext<Command> ctx;
    private final Security security;
    private final Cluster cluster;
    private final Metrics.Counter downed;
    private final Map<akka.actor.Address, Pending> pending = new HashMap<>();

    Asker(ActorContext<Command> ctx, Security security, Cluster cluster) {
      this.ctx = ctx;
      this.security = security;
      this.cluster = cluster;
      this.downed = Metrics.get(ctx.getSystem()).counter("egress_refused_members_total",
          "Members downed because their certificate does not hold the roles they joined with", "role");
    }

    Behavior<Command> behavior() {
      return Behaviors.receive(Command.class)
          .onMessage(Prove.class, this::answer)
          .onMessage(Proof.class, this::proven)
          .onMessage(MemberChange.class, this::memberChanged)
          .onMessage(Repeat.class, r -> repeat())
          .build();
    }

    private Behavior<Command> answer(Prove p) {
      p.replyTo().tell(new Proof(p.nonce(), List.copyOf(ours(cluster.selfMember().getRoles())),
          security.ownNodeProof().orElse(null)));
      return Behaviors.same();
    }

    private Behavior<Command> memberChanged(MemberChange c) {
      Member m = c.event().member();
      if (c.event() instanceof ClusterEvent.MemberUp || c.event() instanceof ClusterEvent.MemberWeaklyUp) {
        if (!m.address().equals(cluster.selfMember().address()) && !pending.containsKey(m.address())) {
          Pending p = new Pending(m, UUID.randomUUID().toString(), System.nanoTime() + DEADLINE.toNanos());
          pending.put(m.address(), p);
          ask(p);
        }
      } else if (c.event() instanceof ClusterEvent.MemberRemoved || c.event() instanceof ClusterEvent.MemberExited) {
        pending.remove(m.address());
      }
      return Behaviors.same();
    }

    private void ask(Pending p) {
      akka.actor.ActorSelection target = ctx.getSystem().classicSystem()
          .actorSelection(new akka.actor.RootActorPath(p.member().address(), "/").child("system").child(NAME));
      target.tell(new Prove(p.nonce(), ctx.getSelf().narrow()), akka.actor.ActorRef.noSender());
    }

    private Behavior<Command> repeat() {
      long now = System.nanoTime();
      for (Pending p : List.copyOf(pending.values())) {
        if (now - p.deadline() >= 0) {
          pending.remove(p.member().address());
          down(p.member(), "gave no valid proof of its roles within " + DEADLINE.toSeconds()
              + " s (a proof its certificate does not cover is refused)");
        } else {
          ask(p);
        }
      }
      return Behaviors.same();
    }

    private Behavior<Command> proven(Proof proof) {
      Pending p = pending.values().stream().filter(x -> x.nonce().equals(proof.nonce())).findFirst().orElse(null);
      if (p == null) {
        return Behaviors.same(); // answered twice, or for a member gone meanwhile
      }
      pending.remove(p.member().address());
      Set<String> joined = ours(p.member().getRoles());
      Set<String> shown = new TreeSet<>(proof.roles());
      if (!joined.equals(shown)) {
        down(p.member(), "joined with roles " + joined + " but its signed proof holds " + shown);
      } else {
        log.debug("member {} proved its roles {}", p.member().address(), joined);
      }
      return Behaviors.same();
    }

    private void down(Member m, String why) {
      Set<String> roles = ours(m.getRoles());
      String role = roles.stream().filter(Roles.FUNCTIONAL::contains).findFirst().orElse("none");
      downed.inc(role);
      log.warn("downing member {} ({}): {}", m.address(), roles, why);
      cluster.manager().tell(new Down(m.address()));
    }
  }
}
