package io.egressgateway.kube.audit;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/** Where {@link AuditRoute} finds this member's {@link EgressAudit}: installed by the controller's wiring, empty elsewhere. */
public final class Audits implements Extension {
  private final AtomicReference<EgressAudit> audit = new AtomicReference<>();

  public static Audits get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  public void install(EgressAudit value) {
    audit.set(value);
  }

  public Optional<EgressAudit> current() {
    return Optional.ofNullable(audit.get());
  }

  static final class Id extends ExtensionId<Audits> {
    static final Id INSTANCE = new Id();

    @Override
    public Audits createExtension(ActorSystem<?> system) {
      return new Audits();
    }
  }
}
