package io.egressgateway.kube.infra;

import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.kube.model.WireGuardKeys;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The Kubernetes writes of the {@code GatewayConfig} entity. Every method blocks (callers run it on the
 * blocking dispatcher), is idempotent and writes only when the object differs from what is asked.
 */
public interface SgcApi {

  /** Namespace of the key Secrets: one of their own, holding nothing else (the gateways may read Secrets only there). */
  String secretNamespace();

  /**
   * Where releases before the key namespace kept the key Secrets (the release namespace); {@link #secretNamespace()}
   * when there is nothing to move.
   */
  default String legacySecretNamespace() {
    return secretNamespace();
  }

  /**
   * Moves the key Secret of SGC {@code ownerNamespace/ownerName} from {@link #legacySecretNamespace()} into
   * {@link #secretNamespace()}, keys unchanged (running tunnels keep their key), with our labels. Returns the public
   * key the Secret in {@link #secretNamespace()} now holds; empty when there was nothing to move: no Secret of that
   * name there, or one that is not this SGC's (its owner labels do not name it: never touched). The old Secret stays
   * until {@link #deleteLegacyKeySecret} once the status names the new place. An old Secret of this SGC without a
   * usable key pair is deleted at once (nothing worth keeping). A Secret of that name in the new place that is not
   * this SGC's: {@link ForeignKeySecret}.
   */
  default Optional<String> moveLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    return Optional.empty();
  }

  /**
   * Deletes the key Secret of SGC {@code ownerNamespace/ownerName} in {@link #legacySecretNamespace()}; true when none
   * of this SGC's is left there (a Secret of that name without its owner labels is never deleted).
   */
  default boolean deleteLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    return true;
  }

  /** Adds our finalizer unless present; false when the SGC (with that uid) no longer exists. */
  boolean addFinalizer(String namespace, String name, String uid);

  /** Removes our finalizer if present. */
  void removeFinalizer(String namespace, String name, String uid);

  /**
   * The public key held by Secret {@code secretName}, empty when the Secret is absent, unusable, or not the key
   * Secret of SGC {@code ownerNamespace/ownerName} (its owner labels, which the Go original sets too, say whose it is).
   */
  Optional<String> keySecretPublicKey(String secretName, String ownerNamespace, String ownerName);

  /**
   * Creates Secret {@code secretName} with {@code pair} and the owning labels. If it exists already with a
   * usable key and our owner labels naming this SGC, that key wins (never rotated by accident). Returns the
   * public key the Secret now holds. A Secret of that name without those labels is never adopted or
   * overwritten: {@link ForeignKeySecret}.
   */
  String createKeySecret(String secretName, String ownerNamespace, String ownerName, WireGuardKeys.Pair pair);

  /**
   * Deletes the key Secret of SGC {@code ownerNamespace/ownerName}; true when it is gone or is not that SGC's (a
   * Secret of that name without its owner labels is never deleted).
   */
  boolean deleteKeySecret(String secretName, String ownerNamespace, String ownerName);

  /** A status write that happened: what the API server held before and what it holds now. */
  record StatusChange(SgcStatus before, SgcStatus after) {}

  /**
   * Reads the stored status, computes the wanted one from it with {@code plan} and writes it if it
   * differs. Planning from the stored status (not from a possibly stale cache) keeps unchanged
   * conditions, transition times included, so an unchanged outcome never causes a write. Empty when
   * nothing was written or the SGC (with that uid) is gone.
   */
  Optional<StatusChange> updateStatus(String namespace, String name, String uid, UnaryOperator<SgcStatus> plan);

  /**
   * The uids of the Go original's GatewayLBConfiguration and GatewayVMConfiguration of this SGC ({@code ""}
   * each when there is none). Both are named like the SGC; only objects owned by this SGC (the LB config) and
   * by that LB config (the VM config) count. Missing CRDs or objects are normal: most clusters never ran it.
   */
  record LegacyUids(String lbConfigUid, String vmConfigUid) {
    public static final LegacyUids NONE = new LegacyUids("", "");

    public LegacyUids {
      lbConfigUid = lbConfigUid == null ? "" : lbConfigUid;
      vmConfigUid = vmConfigUid == null ? "" : vmConfigUid;
    }
  }

  LegacyUids legacyUids(String namespace, String name, String uid);

  /** Records a Kubernetes Event on the SGC. */
  void event(String namespace, String name, String uid, boolean warning, String reason, String message);

  /** A Secret with the key Secret's name exists but is not this SGC's (no owner labels naming it): left alone. */
  final class ForeignKeySecret extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public ForeignKeySecret(String message) {
      super(message);
    }
  }
}
