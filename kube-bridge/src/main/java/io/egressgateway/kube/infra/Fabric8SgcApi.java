package io.egressgateway.kube.infra;

import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.model.SgcStatus;
import io.egressgateway.kube.model.WireGuardKeys;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SgcApi} on the fabric8 client. Owns: the SGC finalizer and status, the key Secrets
 * {@code sgw-<uid>} in the key namespace (labelled with the owning config; the namespace holds nothing else), Events
 * on SGCs. Moves the key Secrets earlier releases kept in the release namespace into the key namespace.
 * Persists nothing; reads the object before each write so a write happens only on a difference. Reads (never
 * writes) the Go original's GatewayLBConfiguration/GatewayVMConfiguration of an SGC, for their uids.
 */
public final class Fabric8SgcApi implements SgcApi {
  public static final String LABEL_OWNER_NAMESPACE = "egressgateway.kubernetes.azure.com/owning-gateway-config-namespace";
  public static final String LABEL_OWNER_NAME = "egressgateway.kubernetes.azure.com/owning-gateway-config-name";
  public static final String PRIVATE_KEY = "PrivateKey";
  public static final String PUBLIC_KEY = "PublicKey";
  private static final Logger log = LoggerFactory.getLogger(Fabric8SgcApi.class);
  /** The Go original's internal kinds (same name and namespace as their SGC). */
  public static final ResourceDefinitionContext LEGACY_LB = legacyKind("GatewayLBConfiguration", "gatewaylbconfigurations");
  public static final ResourceDefinitionContext LEGACY_VM = legacyKind("GatewayVMConfiguration", "gatewayvmconfigurations");

  private static ResourceDefinitionContext legacyKind(String kind, String plural) {
    return new ResourceDefinitionContext.Builder().withGroup(StaticGatewayConfiguration.GROUP)
        .withVersion(StaticGatewayConfiguration.VERSION).withKind(kind).withPlural(plural).withNamespaced(true).build();
  }

  private final KubernetesClient client;
  private final String secretNamespace;
  private final String legacySecretNamespace;
  private final String component;
  private final AtomicBoolean legacyForbiddenLogged = new AtomicBoolean();
  private final AtomicBoolean legacySecretsForbiddenLogged = new AtomicBoolean();

  /** Key Secrets in {@code secretNamespace}, none anywhere else to move. */
  public Fabric8SgcApi(KubernetesClient client, String secretNamespace) {
    this(client, secretNamespace, secretNamespace);
  }

  /** Key Secrets in {@code secretNamespace}; those still in {@code legacySecretNamespace} (the release namespace) are moved. */
  public Fabric8SgcApi(KubernetesClient client, String secretNamespace, String legacySecretNamespace) {
    this.client = client;
    this.secretNamespace = secretNamespace;
    this.legacySecretNamespace = legacySecretNamespace;
    this.component = "kube-egress-gateway-controller";
  }

  @Override
  public String secretNamespace() {
    return secretNamespace;
  }

  @Override
  public String legacySecretNamespace() {
    return legacySecretNamespace;
  }

  @Override
  public boolean addFinalizer(String namespace, String name, String uid) {
    return onConflictRetry(() -> tryAddFinalizer(namespace, name, uid));
  }

  private boolean tryAddFinalizer(String namespace, String name, String uid) {
    GenericKubernetesResource sgc = current(namespace, name, uid);
    if (sgc == null) {
      return false;
    }
    List<String> f = new ArrayList<>(finalizers(sgc));
    if (!f.contains(StaticGatewayConfiguration.FINALIZER)) {
      f.add(StaticGatewayConfiguration.FINALIZER);
      sgc.getMetadata().setFinalizers(f);
      sgcs().resource(sgc).update();
      log.info("[{}/{}] finalizer added", namespace, name);
    }
    return true;
  }

  @Override
  public void removeFinalizer(String namespace, String name, String uid) {
    onConflictRetry(() -> {
      tryRemoveFinalizer(namespace, name, uid);
      return true;
    });
  }

  private void tryRemoveFinalizer(String namespace, String name, String uid) {
    GenericKubernetesResource sgc = current(namespace, name, uid);
    if (sgc != null && finalizers(sgc).contains(StaticGatewayConfiguration.FINALIZER)) {
      List<String> f = new ArrayList<>(finalizers(sgc));
      f.remove(StaticGatewayConfiguration.FINALIZER);
      sgc.getMetadata().setFinalizers(f);
      sgcs().resource(sgc).update();
      log.info("[{}/{}] finalizer removed", namespace, name);
    }
  }

  private static List<String> finalizers(GenericKubernetesResource sgc) {
    return sgc.getMetadata().getFinalizers() == null ? List.of() : sgc.getMetadata().getFinalizers();
  }

  @Override
  public Optional<String> keySecretPublicKey(String secretName, String ownerNamespace, String ownerName) {
    Secret s = client.secrets().inNamespace(secretNamespace).withName(secretName).get();
    return ownedBy(s, ownerNamespace, ownerName) ? publicKeyOf(s) : Optional.empty();
  }

  /** The public key of a key Secret when both keys are present and well-formed. */
  public static Optional<String> publicKeyOf(Secret s) {
    if (s == null || s.getData() == null || s.getMetadata().getDeletionTimestamp() != null) {
      return Optional.empty();
    }
    String priv = decode(s.getData().get(PRIVATE_KEY));
    String pub = decode(s.getData().get(PUBLIC_KEY));
    return WireGuardKeys.isKey(priv) && WireGuardKeys.isKey(pub) ? Optional.of(pub) : Optional.empty();
  }

  /**
   * Whether {@code s} is the key Secret of SGC {@code ownerNamespace/ownerName}: it carries the two owner labels
   * (ours and the Go original's) naming it. A Secret of that name without them is somebody else's: it is never
   * read as the gateway key, written or deleted.
   */
  public static boolean ownedBy(Secret s, String ownerNamespace, String ownerName) {
    Map<String, String> labels = s == null ? null : s.getMetadata().getLabels();
    return labels != null && ownerNamespace.equals(labels.get(LABEL_OWNER_NAMESPACE))
        && ownerName.equals(labels.get(LABEL_OWNER_NAME));
  }

  @Override
  public String createKeySecret(String secretName, String ownerNamespace, String ownerName, WireGuardKeys.Pair pair) {
    return writeKeySecret(secretName, ownerNamespace, ownerName,
        Map.of(PRIVATE_KEY, encode(pair.privateKey()), PUBLIC_KEY, encode(pair.publicKey())), pair.publicKey(), "created");
  }

  /**
   * Creates the key Secret with {@code data} (holding {@code publicKey}) in the key namespace, or keeps the one there:
   * see {@link #createKeySecret}. Returns the public key it holds.
   */
  private String writeKeySecret(String secretName, String ownerNamespace, String ownerName, Map<String, String> data,
      String publicKey, String what) {
    Secret wanted = new SecretBuilder()
        .withNewMetadata()
        .withName(secretName)
        .withNamespace(secretNamespace)
        .addToLabels(LABEL_OWNER_NAMESPACE, ownerNamespace)
        .addToLabels(LABEL_OWNER_NAME, ownerName)
        .addToLabels("app.kubernetes.io/managed-by", "kube-egress-gateway")
        .endMetadata()
        .withType("Opaque")
        .withData(data)
        .build();
    try {
      client.secrets().inNamespace(secretNamespace).resource(wanted).create();
      log.info("[{}/{}] key Secret {}/{} {}", ownerNamespace, ownerName, secretNamespace, secretName, what);
      return publicKey;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        throw new IllegalStateException("cannot create key Secret " + secretNamespace + "/" + secretName + ": namespace "
            + secretNamespace + " (egress.kube-bridge.key-namespace, chart value gatewayKeys.namespace) does not exist", e);
      }
      if (e.getCode() != 409) {
        throw e;
      }
    }
    Secret existing = client.secrets().inNamespace(secretNamespace).withName(secretName).get();
    if (existing != null && !ownedBy(existing, ownerNamespace, ownerName)) {
      throw new ForeignKeySecret("Secret " + secretNamespace + "/" + secretName + " exists but is not the key Secret of "
          + ownerNamespace + "/" + ownerName + " (its owner labels " + LABEL_OWNER_NAMESPACE + " and " + LABEL_OWNER_NAME
          + " do not name it); it is left alone: remove it, or label it if it is this configuration's");
    }
    Optional<String> kept = publicKeyOf(existing);
    if (kept.isPresent()) {
      return kept.get();
    }
    // present but without a usable key pair (edited by hand): the only case where we write new keys into it
    log.warn("[{}/{}] key Secret {} holds no usable key pair; writing {}", ownerNamespace, ownerName, secretName,
        what.equals("created") ? "a new one" : "the one moved here");
    wanted.getMetadata().setResourceVersion(existing == null ? null : existing.getMetadata().getResourceVersion());
    client.secrets().inNamespace(secretNamespace).resource(wanted).update();
    return publicKey;
  }

  @Override
  public Optional<String> moveLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    if (legacySecretNamespace.equals(secretNamespace)) {
      return Optional.empty();
    }
    Secret old = legacySecret(secretName);
    if (old == null || !ownedBy(old, ownerNamespace, ownerName)) {
      return Optional.empty(); // nothing there, or somebody else's Secret of that name: never touched
    }
    Optional<String> publicKey = publicKeyOf(old);
    if (publicKey.isEmpty()) {
      // ours but without a usable key pair: nothing to keep; a new pair is made in the key namespace
      log.warn("[{}/{}] key Secret {}/{} holds no usable key pair: deleted, not moved", ownerNamespace, ownerName,
          legacySecretNamespace, secretName);
      client.secrets().inNamespace(legacySecretNamespace).withName(secretName).delete();
      return Optional.empty();
    }
    Map<String, String> data = Map.of(PRIVATE_KEY, old.getData().get(PRIVATE_KEY), PUBLIC_KEY, old.getData().get(PUBLIC_KEY));
    String held = writeKeySecret(secretName, ownerNamespace, ownerName, data, publicKey.get(),
        "moved here from namespace " + legacySecretNamespace);
    if (!held.equals(publicKey.get())) {
      log.warn("[{}/{}] key Secret {} exists in both {} and {} with different keys: the one in {} is kept", ownerNamespace,
          ownerName, secretName, legacySecretNamespace, secretNamespace, secretNamespace);
    }
    return Optional.of(held);
  }

  @Override
  public boolean deleteLegacyKeySecret(String secretName, String ownerNamespace, String ownerName) {
    if (legacySecretNamespace.equals(secretNamespace)) {
      return true;
    }
    Secret old = legacySecret(secretName);
    if (old == null || !ownedBy(old, ownerNamespace, ownerName)) {
      return true;
    }
    client.secrets().inNamespace(legacySecretNamespace).withName(secretName).delete();
    log.info("[{}/{}] key Secret {}/{} removed (it lives in namespace {} now)", ownerNamespace, ownerName,
        legacySecretNamespace, secretName, secretNamespace);
    return client.secrets().inNamespace(legacySecretNamespace).withName(secretName).get() == null;
  }

  /** A key Secret in the old place; null when absent, or when the controllers may not read Secrets there (logged once). */
  private Secret legacySecret(String secretName) {
    try {
      return client.secrets().inNamespace(legacySecretNamespace).withName(secretName).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403) {
        if (legacySecretsForbiddenLogged.compareAndSet(false, true)) {
          log.warn("cannot read Secrets in namespace {} (RBAC: get, delete secrets there): key Secrets an earlier release"
              + " kept there are not moved into {}", legacySecretNamespace, secretNamespace);
        }
        return null;
      }
      throw e;
    }
  }

  @Override
  public boolean deleteKeySecret(String secretName, String ownerNamespace, String ownerName) {
    Secret existing = client.secrets().inNamespace(secretNamespace).withName(secretName).get();
    if (existing == null) {
      return true;
    }
    if (!ownedBy(existing, ownerNamespace, ownerName)) {
      log.warn("[{}/{}] Secret {} is not this configuration's (no owner labels naming it); left in place",
          ownerNamespace, ownerName, secretName);
      return true;
    }
    client.secrets().inNamespace(secretNamespace).withName(secretName).delete();
    return client.secrets().inNamespace(secretNamespace).withName(secretName).get() == null;
  }

  @Override
  public Optional<StatusChange> updateStatus(String namespace, String name, String uid, UnaryOperator<SgcStatus> plan) {
    return onConflictRetry(() -> tryUpdateStatus(namespace, name, uid, plan));
  }

  private Optional<StatusChange> tryUpdateStatus(String namespace, String name, String uid, UnaryOperator<SgcStatus> plan) {
    GenericKubernetesResource sgc = current(namespace, name, uid);
    if (sgc == null) {
      return Optional.empty();
    }
    SgcStatus before = SgcMapping.status(sgc, client.getKubernetesSerialization());
    SgcStatus after = plan.apply(before);
    if (before.equals(after)) {
      return Optional.empty();
    }
    sgc.setAdditionalProperty("status", client.getKubernetesSerialization().convertValue(SgcMapping.toCrd(after), Map.class));
    sgcs().resource(sgc).updateStatus();
    log.debug("[{}/{}] status written", namespace, name);
    return Optional.of(new StatusChange(before, after));
  }

  @Override
  public LegacyUids legacyUids(String namespace, String name, String uid) {
    GenericKubernetesResource lb = legacyObject(LEGACY_LB, namespace, name);
    if (lb == null || !ownedBy(lb, uid)) {
      return LegacyUids.NONE;
    }
    String lbUid = lb.getMetadata().getUid();
    GenericKubernetesResource vm = legacyObject(LEGACY_VM, namespace, name);
    LegacyUids found = new LegacyUids(lbUid, vm != null && ownedBy(vm, lbUid) ? vm.getMetadata().getUid() : "");
    log.info("[{}/{}] the Go controller's objects are here: its Azure names are kept ({})", namespace, name, found);
    return found;
  }

  private GenericKubernetesResource legacyObject(ResourceDefinitionContext kind, String namespace, String name) {
    try {
      return client.genericKubernetesResources(kind).inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return null; // the CRD was never installed
      }
      if (e.getCode() == 403) {
        if (legacyForbiddenLogged.compareAndSet(false, true)) {
          log.warn("cannot read {} (RBAC: get {}.{}); resources a Go install made for new configs are not adopted",
              kind.getKind(), kind.getPlural(), kind.getGroup());
        }
        return null;
      }
      throw e;
    }
  }

  private static boolean ownedBy(GenericKubernetesResource r, String ownerUid) {
    return r.getMetadata().getOwnerReferences() != null
        && r.getMetadata().getOwnerReferences().stream().anyMatch(o -> ownerUid.equals(o.getUid()));
  }

  @Override
  public void event(String namespace, String name, String uid, boolean warning, String reason, String message) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      client.v1().events().inNamespace(namespace).resource(new EventBuilder()
              .withNewMetadata()
              .withName(name + "." + UUID.randomUUID().toString().replace("-", "").substring(0, 16))
              .withNamespace(namespace)
              .endMetadata()
              .withInvolvedObject(new ObjectReferenceBuilder()
                  .withApiVersion(StaticGatewayConfiguration.GROUP + "/" + StaticGatewayConfiguration.VERSION)
                  .withKind("StaticGatewayConfiguration")
                  .withNamespace(namespace)
                  .withName(name)
                  .withUid(uid)
                  .build())
              .withType(warning ? "Warning" : "Normal")
              .withReason(reason)
              .withMessage(message)
              .withFirstTimestamp(now)
              .withLastTimestamp(now)
              .withCount(1)
              .withNewSource().withComponent(component).endSource()
              .build())
          .create();
    } catch (KubernetesClientException e) {
      // an Event is best effort: losing one must not fail the reconcile
      log.warn("[{}/{}] could not record Event {}: {}", namespace, name, reason, e.getMessage());
    }
  }

  /**
   * Runs a read-modify-write again after a 409 (someone else changed the object between our read and
   * write: routine, not an error); gives up after a few attempts and lets the caller's retry take over.
   */
  private static <T> T onConflictRetry(Supplier<T> readModifyWrite) {
    for (int attempt = 1; ; attempt++) {
      try {
        return readModifyWrite.get();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 3) {
          throw e;
        }
      }
    }
  }

  /**
   * The SGC as the API server holds it now, untyped: finalizers and status are written the same way whether or
   * not this version can map the object's spec.
   */
  private GenericKubernetesResource current(String namespace, String name, String uid) {
    GenericKubernetesResource sgc = sgcs().inNamespace(namespace).withName(name).get();
    return sgc != null && uid.equals(sgc.getMetadata().getUid()) ? sgc : null;
  }

  private io.fabric8.kubernetes.client.dsl.MixedOperation<GenericKubernetesResource, io.fabric8.kubernetes.api.model.GenericKubernetesResourceList,
      io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>> sgcs() {
    return client.genericKubernetesResources(ControllerBridge.SGC_KIND);
  }

  private static String encode(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String decode(String s) {
    if (s == null) {
      return "";
    }
    try {
      return new String(Base64.getDecoder().decode(s), StandardCharsets.UTF_8).trim();
    } catch (IllegalArgumentException e) {
      return "";
    }
  }
}
