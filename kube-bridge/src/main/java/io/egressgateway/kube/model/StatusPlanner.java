package io.egressgateway.kube.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Computes the status an SGC should have from what the controller decided, keeping everything that did
 * not change (including condition transition times) so that an unchanged outcome yields an equal status
 * and therefore no write.
 *
 * <p>{@code Ready} claims no more than is true: a provisioned configuration whose running pods do not all run
 * the current generation yet is not ready (reason {@code PodsUpdating}) until they do; {@code PodsUpToDate}
 * and {@code pods} say how many do.
 */
public final class StatusPlanner {
  /** The reason of {@code Ready} and {@code PodsUpToDate} while running pods still follow a new generation. */
  public static final String PODS_UPDATING = "PodsUpdating";

  private StatusPlanner() {}

  /**
   * The inputs of one status computation. {@code allocation} and {@code publicKey} may be absent; {@code grant} is
   * the spec's prefix-grant check, null when none applies (then there is no {@code PrefixGranted} condition).
   */
  public record Outcome(
      long generation,
      Optional<SpecValidation.Rejection> rejection,
      String publicKey,
      String secretName,
      String secretNamespace,
      Optional<Allocation> allocation,
      String provisioningError,
      PrefixGrants.Check grant,
      SgcStatus.Pods pods) {

    public Outcome(long generation, Optional<SpecValidation.Rejection> rejection, String publicKey, String secretName,
        String secretNamespace, Optional<Allocation> allocation, String provisioningError) {
      this(generation, rejection, publicKey, secretName, secretNamespace, allocation, provisioningError, null, null);
    }

    public Outcome withGrant(PrefixGrants.Check value) {
      return new Outcome(generation, rejection, publicKey, secretName, secretNamespace, allocation, provisioningError, value, pods);
    }

    /** With the count of the configuration's pods that run {@code generation}; null: not counted. */
    public Outcome withPods(SgcStatus.Pods value) {
      return new Outcome(generation, rejection, publicKey, secretName, secretNamespace, allocation, provisioningError, grant, value);
    }
  }

  public static SgcStatus desired(SgcStatus current, Outcome o, String now) {
    if (o.rejection().isPresent()) {
      // a rejected spec changes only the conditions: whatever was provisioned stays as it is
      SpecValidation.Rejection r = o.rejection().get();
      List<SgcStatus.Condition> conds = new ArrayList<>();
      conds.add(condition(current, SgcStatus.ACCEPTED, false, r.reason(), r.message(), o.generation(), now));
      conds.add(condition(current, SgcStatus.READY, current.isReady(), current.isReady() ? "Provisioned" : r.reason(),
          current.isReady() ? "still serving the last accepted spec" : "the spec was not accepted", o.generation(), now));
      grantCondition(current, o, now).ifPresent(conds::add);
      current.condition(SgcStatus.PODS_UP_TO_DATE).ifPresent(conds::add);
      return new SgcStatus(current.egressIpPrefix(), current.ilbIp(), current.port(), current.publicKey(),
          current.secretName(), current.secretNamespace(), o.generation(), conds, current.gatewayProfiles(), current.pods());
    }
    Allocation a = o.allocation().orElse(null);
    boolean keyed = !o.publicKey().isEmpty();
    boolean provisioned = keyed && a != null && a.complete();
    SgcStatus.Pods pods = o.pods() == null ? SgcStatus.Pods.NONE : o.pods();
    String podsMessage = pods.current() + " of " + pods.total() + " running pod(s) run generation " + o.generation();
    boolean ready = provisioned && pods.upToDate();
    String reason;
    String message;
    if (ready) {
      reason = "Provisioned";
      message = "egress through " + a.egressPrefix() + " on " + a.nodes().size() + " gateway node(s)";
    } else if (provisioned) {
      reason = PODS_UPDATING;
      message = "provisioned; " + podsMessage;
    } else if (!o.provisioningError().isEmpty()) {
      reason = "ProvisioningFailed";
      message = o.provisioningError();
    } else if (a != null && a.nodes().isEmpty()) {
      reason = "NoGatewayNodes";
      message = "no gateway node is provisioned for this configuration yet";
    } else {
      reason = "Provisioning";
      message = "waiting for the key pair and the Azure load balancer";
    }
    List<SgcStatus.Condition> conds = new ArrayList<>(List.of(
        condition(current, SgcStatus.ACCEPTED, true, "Valid", "the spec is valid", o.generation(), now),
        condition(current, SgcStatus.READY, ready, reason, message, o.generation(), now)));
    grantCondition(current, o, now).ifPresent(conds::add);
    if (o.pods() != null) {
      conds.add(condition(current, SgcStatus.PODS_UP_TO_DATE, pods.upToDate(), pods.upToDate() ? "UpToDate" : PODS_UPDATING,
          podsMessage, o.generation(), now));
    }
    List<SgcStatus.NodeProfile> profiles = a == null ? List.of()
        : a.nodes().entrySet().stream()
            .sorted(java.util.Map.Entry.comparingByKey())
            .map(e -> new SgcStatus.NodeProfile(e.getKey(), e.getValue().primaryIp(), e.getValue().secondaryIp()))
            .toList();
    return new SgcStatus(
        a == null ? "" : a.egressPrefix(),
        a == null ? "" : a.ilbIp(),
        a == null ? 0 : a.port(),
        o.publicKey(),
        keyed ? o.secretName() : "",
        keyed ? o.secretNamespace() : "",
        o.generation(),
        conds,
        profiles,
        o.pods());
  }

  private static Optional<SgcStatus.Condition> grantCondition(SgcStatus current, Outcome o, String now) {
    PrefixGrants.Check g = o.grant();
    if (g == null) {
      return Optional.empty();
    }
    return Optional.of(condition(current, SgcStatus.PREFIX_GRANTED, g.granted(),
        g.granted() ? "Granted" : SpecValidation.PREFIX_NOT_GRANTED, g.message(), o.generation(), now));
  }

  private static SgcStatus.Condition condition(
      SgcStatus current, String type, boolean value, String reason, String message, long generation, String now) {
    String status = value ? "True" : "False";
    Optional<SgcStatus.Condition> old = current.condition(type);
    String since = old.filter(c -> c.status().equals(status)).map(SgcStatus.Condition::lastTransitionTime).orElse(now);
    return new SgcStatus.Condition(type, status, reason, message, generation, since);
  }
}
