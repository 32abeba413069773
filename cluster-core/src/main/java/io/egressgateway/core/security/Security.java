package io.egressgateway.core.security;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import com.typesafe.config.Config;
import io.egressgateway.core.metrics.Metrics;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's side of per-role identity (design section 13): its credentials, how it opens what others
 * signed ({@link Seals}), what each role may send ({@link Authorization}), and the refusals, each logged and
 * counted in {@code egress_refused_messages_total{role,kind}}. Read once from {@code egress.security}.
 */
public final class Security implements Extension {
  private static final Logger log = LoggerFactory.getLogger(Security.class);

  private final Seals seals;
  private final Authorization authorization;
  private final PodCidrs podCidrs = new PodCidrs();
  private final NodeProofs nodeProofs;
  private final Path ownProofFile;
  private volatile OwnProof ownProof = new OwnProof(-1, null);
  private final Duration maxMessageAge;
  private final Metrics.Counter refusals;
  private final io.egressgateway.core.metrics.LogThrottle refusalLog = new io.egressgateway.core.metrics.LogThrottle(Duration.ofSeconds(10));
  private final Metrics.Counter unchecked;

  private Security(ActorSystem<?> system) {
    Config c = system.settings().config().getConfig("egress.security");
    boolean enforce = c.getBoolean("enforce");
    String key = c.getString("key-file");
    Credentials own = key.isBlank() ? null
        : Credentials.load(Path.of(key), Path.of(c.getString("cert-file")), Path.of(c.getString("ca-file")));
    boolean delegate = switch (c.getString("delegated-seals").trim().toLowerCase(java.util.Locale.ROOT)) {
      case "on", "true" -> true;
      case "off", "false" -> false;
      case "auto" -> DelegatedSealsGate.c1Only();
      default -> throw new IllegalArgumentException("egress.security.delegated-seals must be auto, on or off, not '"
          + c.getString("delegated-seals") + "'");
    };
    this.seals = new Seals(own, enforce, Clock.systemUTC(), delegate ? new DelegatedSealsGate(system) : () -> false);
    this.maxMessageAge = c.getDuration("max-message-age");
    Config np = c.getConfig("node-proof");
    // a list, or (from an environment variable) one comma-separated string
    java.util.List<String> subjects = np.getValue("subjects").valueType() == com.typesafe.config.ConfigValueType.LIST
        ? np.getStringList("subjects")
        : java.util.Arrays.stream(np.getString("subjects").split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
    this.nodeProofs = new NodeProofs(enforce && np.getBoolean("required"), np.getString("audience"), subjects, Clock.systemUTC());
    this.ownProofFile = np.getString("token-file").isBlank() ? null : Path.of(np.getString("token-file"));
    this.authorization = Authorization.fromConfig(system.settings().config(), podCidrs, nodeProofs);
    this.refusals = Metrics.get(system).counter("egress_refused_messages_total",
        "Messages and view entries refused: unsigned, forged, too old, or not allowed for the signer's role",
        "role", "kind");
    this.unchecked = Metrics.get(system).counter("egress_unchecked_messages_total",
        "Messages dropped because this member cannot check them yet (its Node cache has not listed the nodes)", "kind");
    if (own != null) {
      // the sandbox's identity check reads this line: keep its form
      log.info("member signs as {} (enforce = {})", own.principal(), enforce);
      log.info("delegated seals (messages signed with a message key the certificate vouched for): {}",
          delegate ? "while every member reads them" : "off");
    } else if (!enforce) {
      log.warn("egress.security.enforce is off and the member has no key: messages are neither signed nor checked");
    }
  }

  public static Security get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  public Seals seals() {
    return seals;
  }

  public Authorization authorization() {
    return authorization;
  }

  /** The pod CIDRs of the nodes, for the peer rule: filled by the app's wiring on gateway members. */
  public PodCidrs podCidrs() {
    return podCidrs;
  }

  /** The check of workers' node proofs: the app's wiring gives it the API server's signing keys on gateway members. */
  public NodeProofs nodeProofs() {
    return nodeProofs;
  }

  /**
   * This member's node proof (a worker's projected ServiceAccount token, {@code egress.security.node-proof.token-file}),
   * read again whenever the kubelet has rotated the file; empty without one.
   */
  public java.util.Optional<NodeProof> ownNodeProof() {
    if (ownProofFile == null) {
      return java.util.Optional.empty();
    }
    try {
      long modified = java.nio.file.Files.getLastModifiedTime(ownProofFile).toMillis();
      OwnProof known = ownProof;
      if (known.modified() != modified) {
        String token = java.nio.file.Files.readString(ownProofFile).strip();
        known = new OwnProof(modified, token.isEmpty() ? null : new NodeProof(token));
        ownProof = known;
      }
      return java.util.Optional.ofNullable(known.proof());
    } catch (java.io.IOException e) {
      log.warn("cannot read the node proof {}: {}", ownProofFile, e.getMessage());
      return java.util.Optional.empty();
    }
  }

  private record OwnProof(long modified, NodeProof proof) {}

  public Duration maxMessageAge() {
    return maxMessageAge;
  }

  /**
   * Counts a refusal, and logs it unless the same role and kind were logged less than 10 s ago ({@link io.egressgateway.core.metrics.LogThrottle}); a
   * message that could not be checked yet is apart: {@link Refused.NotYet}.
   */
  public void refused(Refused r, String from) {
    if (r instanceof Refused.NotYet) {
      unchecked.inc(r.kind());
      log.info("dropped {} from {} ({}) unchecked: {}", r.kind(), from, r.principal().roles(), r.getMessage());
      return;
    }
    refusals.inc(r.principal().mainRole(), r.kind());
    refusalLog.admit(r.principal().mainRole() + " " + r.kind(), System.nanoTime()).ifPresent(unlogged ->
        log.warn("refused {} from {} ({}{}): {}{}", r.kind(), from, r.principal().roles(),
            r.principal().node().map(n -> ", node " + n).orElse(""), r.getMessage(),
            unlogged == 0 ? "" : " (" + unlogged + " more of this kind from this role refused since the last line, not logged)"));
  }

  private static final class Id extends ExtensionId<Security> {
    static final Id INSTANCE = new Id();

    @Override
    public Security createExtension(ActorSystem<?> system) {
      return new Security(system);
    }
  }
}
